"""`safecity serve`: API, web UI and camera workers in one process, under uvicorn."""

from __future__ import annotations

import logging

from safecity.config import Settings

log = logging.getLogger(__name__)
GRACEFUL_SHUTDOWN_S = 5


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
    try:
        uvicorn.run(
            api,
            host=host,
            port=port,
            log_level="debug" if verbose else "info",
            proxy_headers=True,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            ws_ping_interval=20,
        )
    finally:
        if not api.state.closed:  # the server never started (e.g. the port was taken)
            node.close()
