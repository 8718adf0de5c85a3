#!/usr/bin/env bash
# Sourced by .ci/run: the real services the service and OMOP tests use (issue 12).
# - Debian's chromium + chromium-driver (the web page test) and postgresql, installed when missing;
# - a throwaway PostgreSQL cluster (temp data directory, a Unix socket in it, no TCP), stopped and
#   removed at exit; its URL goes to the tests in CLINICALNER_TEST_POSTGRES_URL.
# Anything that cannot be set up here is reported and the matching tests skip.

ci_missing=""
command -v chromium >/dev/null 2>&1 || ci_missing="$ci_missing chromium"
command -v chromedriver >/dev/null 2>&1 || ci_missing="$ci_missing chromium-driver"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ci_missing="$ci_missing postgresql"
if [ -n "$ci_missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "ci: installing$ci_missing" >&2
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $ci_missing >/dev/null \
            || echo "ci: could not install$ci_missing; those tests will skip" >&2
    else
        echo "ci: not root, cannot install$ci_missing; those tests will skip" >&2
    fi
fi

ci_pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -n "$ci_pg_bin" ]; then
    ci_pg_dir=$(mktemp -d /tmp/clinicalner-pg.XXXXXX)
    ci_as_pg() {  # postgres refuses to run as root
        if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
    }
    [ "$(id -u)" = 0 ] && chown postgres "$ci_pg_dir"
    ci_pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    ci_pg_stop() {
        ci_as_pg "$ci_pg_bin/pg_ctl" -D "$ci_pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$ci_pg_dir"
    }
    if ci_as_pg "$ci_pg_bin/initdb" -D "$ci_pg_dir/data" -A trust -U postgres >/dev/null \
        && ci_as_pg "$ci_pg_bin/pg_ctl" -D "$ci_pg_dir/data" -w -l "$ci_pg_dir/log" \
            -o "-p $ci_pg_port -k $ci_pg_dir -c listen_addresses=''" start >/dev/null; then
        trap ci_pg_stop EXIT
        export CLINICALNER_TEST_POSTGRES_URL="postgresql+psycopg://postgres@/postgres?host=$ci_pg_dir&port=$ci_pg_port"
        echo "ci: PostgreSQL test cluster on $ci_pg_dir port $ci_pg_port" >&2
    else
        echo "ci: could not start a PostgreSQL cluster; the PostgreSQL tests will skip" >&2
        cat "$ci_pg_dir/log" >&2 2>/dev/null || true
        rm -rf "$ci_pg_dir"
    fi
fi
