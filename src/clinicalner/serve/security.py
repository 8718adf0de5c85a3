"""Who may call the service: loopback without a key, anything else only with one.

A hospital network is not a trusted network: binding to an interface other people can reach
requires a bearer token, compared in constant time so its length and prefix do not leak
through response times.
"""

from __future__ import annotations

import hmac
import ipaddress
import os


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_key_from_env(name: str | None, host: str) -> str | None:
    """The API key from the environment variable ``name``; a non-loopback ``host`` requires one.

    The key is read from the environment, never from a command-line option, so it does not
    show in ``ps`` or a shell history.
    """
    if name is None:
        if not is_loopback(host):
            raise ValueError(
                f"binding to {host} (not loopback) needs an API key: put it in an environment "
                "variable and pass --api-key-env NAME"
            )
        return None
    key = os.environ.get(name, "")
    if not key:
        raise ValueError(f"--api-key-env {name}: that environment variable is unset or empty")
    return key


def bearer_matches(header: str | None, key: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <key>`` (constant-time compare)."""
    if not header:
        return False
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode("utf-8"), key.encode("utf-8"))
