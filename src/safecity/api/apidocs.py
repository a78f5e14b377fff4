"""`/api/docs`: Swagger UI served by this server from the built UI (`<ui_dir>/apidocs`, copied from the
pinned npm package swagger-ui-dist by `npm run build`), never from a CDN: it works offline, loads nothing
from a third-party origin, and its start-up code is a file, so the Content-Security-Policy needs no inline
script (safecity.api.headers).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.requests import Request

DOCS = "/api/docs"
FILES = {"swagger-ui-bundle.js", "swagger-ui.css"}
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>safecity API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body></html>"""
INIT_JS = """window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""
NOT_BUILT = "Swagger UI is not built: run `npm run build` in src/safecity/web (scripts/install.sh does)"


def add_api_docs(api: FastAPI, ui_dir: Path) -> None:
    """Mount the docs page, its start-up script and the Swagger UI files (public, like the UI)."""
    folder = ui_dir / "apidocs"

    async def page(request: Request) -> Response:
        if not (folder / "swagger-ui-bundle.js").is_file():
            return JSONResponse({"detail": NOT_BUILT}, status_code=503)
        return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache"})

    async def init(request: Request) -> Response:
        return Response(INIT_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        path = folder / name
        if name not in FILES or not path.is_file():
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})

    api.add_route(DOCS, page, methods=["GET"], include_in_schema=False)
    api.add_route(f"{DOCS}/init.js", init, methods=["GET"], include_in_schema=False)
    api.add_route(DOCS + "/{name}", asset, methods=["GET"], include_in_schema=False)
