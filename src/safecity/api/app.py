"""`create_api(node)`: the FastAPI application of `safecity serve` (API, live push, web UI, workers).

Lifespan: attach the LiveHub to the server's loop, forward bus events to it, seed the cameras table from
the settings file and start the enabled cameras (the database is the source of truth from then on), run
the camera status monitor and the router modules' `on_start` hooks; on shutdown the reverse, then close
the node (workers, bus, store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from prometheus_client.registry import CollectorRegistry

from safecity.accounts.passwords import warm_up
from safecity.api import routers
from safecity.api.apidocs import add_api_docs
from safecity.api.authcache import AuthCache
from safecity.api.camera_service import start_cameras
from safecity.api.degraded import install_degraded_handlers
from safecity.api.errors import install_error_handlers
from safecity.api.headers import tile_origins, wrap_outermost
from safecity.api.health import CameraStatusMonitor, NodeCollector
from safecity.api.live import LiveHub
from safecity.api.security import LoginGuard
from safecity.app import App
from safecity.bus.codec import event_to_dict
from safecity.types import Event

log = logging.getLogger(__name__)
DEFAULT_UI_DIR = Path(__file__).resolve().parents[1] / "web" / "dist"
NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>safecity</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>safecity: the web UI is not built</h1>
<p>The API is running (<a href="/api/docs">/api/docs</a>), but <code>{ui_dir}</code> has no
<code>index.html</code>. Build the UI with <code>bash scripts/install.sh</code> (it runs npm in
<code>src/safecity/web</code>) and reload this page.</p></body></html>"""
NON_UI_PREFIXES = ("/api/", "/ws", "/metrics", "/healthz")


def _forward_events(hub: LiveHub) -> Callable[[Event], None]:
    def forward(event: Event) -> None:
        hub.broadcast("event", event_to_dict(event), event.camera_id)

    return forward


def _hooks(api: FastAPI, name: str) -> list[Callable[[App], Any]]:
    modules: list[ModuleType] = api.state.router_modules
    return [hook for m in modules if callable(hook := getattr(m, name, None))]


@contextlib.asynccontextmanager
async def lifespan(api: FastAPI) -> AsyncIterator[None]:
    node: App = api.state.node
    node.live.attach(asyncio.get_running_loop())
    unsubscribe = node.bus.subscribe(_forward_events(node.live))
    monitor: asyncio.Task[None] | None = None
    try:
        await asyncio.to_thread(start_cameras, node)
        for hook in _hooks(api, "on_start"):
            await asyncio.to_thread(hook, node)
        monitor = asyncio.create_task(CameraStatusMonitor(node).run())
        yield
    finally:
        if monitor is not None:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor
        for hook in _hooks(api, "on_stop"):
            try:
                await asyncio.to_thread(hook, node)
            except Exception:
                log.exception("on_stop hook %r failed", hook)
        unsubscribe()
        node.live.detach()
        cache = api.state.auth_cache
        log.info("credential cache: %d hits, %d misses", cache.hits, cache.misses)
        await asyncio.to_thread(node.close)
        api.state.closed = True


def _ui_response(ui_dir: Path, path: str) -> Response:
    index = ui_dir / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT.format(ui_dir=ui_dir), status_code=503)
    root = ui_dir.resolve()
    try:  # a NUL, a name too long for the file system ...: no such file (found by fuzzing)
        candidate = (root / path).resolve()
        found = bool(path) and candidate.is_relative_to(root) and candidate.is_file()
    except (OSError, ValueError):
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    if found:
        immutable = candidate.parent.name == "assets"  # Vite's content-hashed bundles
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return FileResponse(candidate, headers={"Cache-Control": cache})
    if "." in path.rsplit("/", 1)[-1]:  # a missing file, not a client-side route
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    return FileResponse(index, headers={"Cache-Control": "no-cache"})


def _add_ui(api: FastAPI, ui_dir: Path) -> None:
    async def web_ui(path: str, request: Request) -> Response:
        if request.url.path.startswith(NON_UI_PREFIXES):
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return _ui_response(ui_dir, path)

    api.add_api_route("/{path:path}", web_ui, methods=["GET", "HEAD"], include_in_schema=False, name="web_ui")


def create_api(node: App) -> FastAPI:
    """The service for `node`: every router module in `safecity.api.routers`, the live socket, the UI."""
    cfg = node.settings.api
    api = FastAPI(
        title="safecity",
        version="0.1.0",
        description="Open, accountable Safe City platform: command center API.",
        lifespan=lifespan,
        docs_url=None,  # served from the built UI, not a CDN (safecity.api.apidocs)
        redoc_url=None,
        openapi_url="/api/openapi.json",
        swagger_ui_oauth2_redirect_url=None,
    )
    api.state.node = node
    api.state.closed = False
    api.state.stopping = threading.Event()  # set when shutdown begins (serve.py): streams end themselves
    api.state.login_guard = LoginGuard(cfg, node.engine)  # failures counted in the DB: shared by API nodes
    api.state.auth_cache = AuthCache(cfg.auth_cache_s)  # emptied by any revocation through node.engine
    api.state.auth_cache.watch(node.engine)
    warm_up()
    registry = CollectorRegistry(auto_describe=True)
    registry.register(NodeCollector(node))
    api.state.metrics_registry = registry
    install_error_handlers(api)
    install_degraded_handlers(api)  # database down: 503 with a reason, never a 500
    modules = routers.discover()
    for module in modules:
        api.include_router(module.router, prefix=getattr(module, "PREFIX", "/api"))
    api.state.router_modules = modules
    ui_dir = Path(cfg.ui_dir).resolve() if cfg.ui_dir else DEFAULT_UI_DIR
    add_api_docs(api, ui_dir)
    _add_ui(api, ui_dir)
    wrap_outermost(api, cfg.hsts_max_age_s, tile_origins(node.settings.map.tile_url))
    return api
