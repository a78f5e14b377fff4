"""Security headers on every HTTP response: UI, API, static files and errors (404, 422, 500) alike.

- `Content-Security-Policy`: scripts only from this origin, never inline (the Vite build has no inline
  script, and /api/docs loads Swagger UI and its start-up script as files); no plugins; no framing
  (`frame-ancestors 'none'`, with `X-Frame-Options: DENY` for old browsers). Styles may be inline: Leaflet,
  Preact and Swagger UI set style attributes.
- `X-Content-Type-Options: nosniff`, `Referrer-Policy`, `Cross-Origin-Opener-Policy`.
- `Strict-Transport-Security` when the request came over HTTPS (directly, or through a reverse proxy whose
  `X-Forwarded-Proto` uvicorn trusts): a browser that once reached the site securely never falls back to
  plain http. Never on plain http, where it would be ignored anyway and would break the loopback demo.
- `Cache-Control: no-store` on API responses that set no caching of their own.

`wrap_outermost(app)` puts the middleware outside Starlette's ServerErrorMiddleware, so the 500 answer of an
unhandled exception carries the headers too (a plain `add_middleware` sits inside it).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def tile_origins(tile_url: str | None) -> tuple[str, ...]:
    """The origin of an http(s) map tile source (`map.tile_url`), which the map loads images from."""
    if not tile_url or not tile_url.startswith(("http://", "https://")):
        return ()
    parts = urlsplit(tile_url.replace("{s}", "*"))
    return (f"{parts.scheme}://{parts.netloc}",)


def csp(img_origins: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy; `img_origins`: other origins images may come from (map tiles)."""
    return CSP.replace("img-src 'self' data: blob:", " ".join(("img-src 'self' data: blob:", *img_origins)))


CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """ASGI middleware adding the headers above to every `http` response."""

    def __init__(
        self, app: ASGIApp, *, hsts: bytes = b"max-age=31536000; includeSubDomains", policy: str = CSP
    ) -> None:
        self.app = app
        self.hsts = hsts
        self.headers = ((b"content-security-policy", policy.encode()), *HEADERS[1:])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # `GET /%00`: no file, route or database takes a NUL, so it is answered here (400, with headers)
        app: ASGIApp = _bad_path if "\x00" in str(scope.get("path", "")) else self.app
        api = str(scope.get("path", "")).startswith("/api/")
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.headers if k not in present]
                if https and self.hsts:
                    headers.append((b"strict-transport-security", self.hsts))
                if api and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_with_headers)


async def _bad_path(scope: Scope, receive: Receive, send: Send) -> None:
    await JSONResponse({"detail": "the path contains a NUL character"}, status_code=400)(scope, receive, send)


def wrap_outermost(api: FastAPI, hsts_max_age_s: int = 31_536_000, img_origins: tuple[str, ...] = ()) -> None:
    """Make SecurityHeaders the outermost layer of `api` (around the server-error handler)."""
    hsts = f"max-age={hsts_max_age_s}; includeSubDomains".encode() if hsts_max_age_s > 0 else b""
    build: Callable[[], ASGIApp] = api.build_middleware_stack
    policy = csp(img_origins)

    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(build(), hsts=hsts, policy=policy)

    setattr(api, "build_middleware_stack", build_with_headers)  # noqa: B010 (a method, by design)
