"""`safecity serve`: API, web UI and camera workers in one process, under uvicorn."""

from __future__ import annotations

import copy
import logging
import re
from types import FrameType
from typing import Any

from safecity.config import Settings

log = logging.getLogger(__name__)
GRACEFUL_SHUTDOWN_S = 5
_SECRET_PARAM = re.compile(r"((?:^|[?&])token=)[^&\s\"]+")


class RedactTokens(logging.Filter):
    """Hide `?token=` secrets (WebSocket clients may send their API token that way) in server logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_PARAM.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_PARAM.sub(r"\1***", record.msg)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with API tokens in URLs redacted from every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": RedactTokens}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    return config


def _stopping_server() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """Tells the app when shutdown starts (`app.state.stopping`), so endless responses such as MJPEG
        streams end by themselves instead of being cancelled mid-write (a CancelledError traceback)."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            stopping = getattr(getattr(self.config.app, "state", None), "stopping", None)
            if stopping is not None:
                stopping.set()
            super().handle_exit(sig, frame)

    return Server


def server_options(verbose: bool = False) -> dict[str, Any]:
    """uvicorn's settings for `serve` (also what the live fan-out tests run with)."""
    return {
        "log_level": "debug" if verbose else "info",
        "log_config": log_config(),
        "proxy_headers": True,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
        "ws_ping_interval": 20,
        # no permessage-deflate: it compressed every live message once per client, each with its own zlib
        # context (about 60% of the event loop's busy time with 300 clients, and ~256 KB per socket), for
        # little gain on small JSON messages (docs/performance.md)
        "ws_per_message_deflate": False,
        # longer than a UI's polling pause: with uvicorn's 5 s, a client reusing its connection just as a
        # loaded server closed it got "connection closed without response" (bench/load.py)
        "timeout_keep_alive": 30,
    }


def serve(
    settings: Settings, host: str | None = None, port: int | None = None, verbose: bool = False
) -> None:
    import uvicorn

    from safecity.api.app import create_api
    from safecity.app import build_app

    node = build_app(settings)
    api = create_api(node)
    host = host or settings.api.host
    port = port or settings.api.port
    log.info(
        "safecity serving on http://%s:%d (cameras: database, seeded from the settings file)", host, port
    )
    config = uvicorn.Config(api, host=host, port=port, **server_options(verbose))
    try:
        _stopping_server()(config).run()
    finally:
        if not api.state.closed:  # the server never started (e.g. the port was taken)
            node.close()
