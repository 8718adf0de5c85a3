"""Start the service: load the tagger, check the security rules, run uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from clinicalner.serve.settings import ServeSettings


def build_app(model: str | Path, settings: ServeSettings, **load_options: Any) -> Any:
    """The app for ``model`` (anything :func:`~clinicalner.predict.loading.load_tagger` loads)."""
    from clinicalner import __version__
    from clinicalner.predict.loading import load_tagger
    from clinicalner.serve.app import create_app
    from clinicalner.serve.info import model_info
    from clinicalner.serve.service import TaggingService

    tagger = load_tagger(model, **load_options)
    info = {**model_info(tagger, model), "version": __version__}
    return create_app(TaggingService(tagger, settings), info)


def run_server(
    model: str | Path,
    settings: ServeSettings,
    host: str = "127.0.0.1",
    port: int = 8080,
    **load_options: Any,
) -> None:
    """Serve until interrupted; SIGINT/SIGTERM finish the requests in flight (30 s at most).

    The start-up line on stderr says where and with which limits (the defaults included).
    """
    import uvicorn

    app = build_app(model, settings, **load_options)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,  # ours logs sizes and durations, and never a query string
        timeout_graceful_shutdown=30,
        log_config=_log_config(),  # configured here: the line below goes through it
    )
    logging.getLogger("clinicalner.serve").info(
        f"serving {Path(model).name} on http://{host}:{port} (page at /, API docs at /docs); "
        f"limits: max_chars={settings.max_chars} max_batch={settings.max_batch} "
        f"max_queue={settings.max_queue} batch wait={settings.max_wait_ms} ms"
        f"{'' if settings.batching else ' (batching off)'}; "
        f"API key {'required' if settings.api_key else 'off (loopback only)'}; "
        f"CORS {'for ' + ', '.join(settings.cors_origins) if settings.cors_origins else 'off'}"
    )
    uvicorn.Server(config).run()


def _log_config() -> dict[str, Any]:
    """uvicorn's own loggers plus ours, on stderr, one line each."""
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "clinicalner.serve": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }
