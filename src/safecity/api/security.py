"""Cookie flags and login throttling.

Secure cookies (`api.secure_cookies`, default true): session cookies carry `Secure`, so a browser sends them
over HTTPS only, except when the request itself is plain http from a loopback client to a loopback host
name (127.0.0.1, ::1, localhost). That is the README demo (`http://127.0.0.1:8080` on the same machine),
where no network carries the cookie; everywhere else, serve the UI over HTTPS (a reverse proxy in front of
`safecity serve`, with `--proxy-headers`) or the login does not stick. `secure_cookies: false` drops the
flag everywhere (a closed test network only).
"""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime

from fastapi import HTTPException, Request, Response, status
from sqlalchemy import Engine

from safecity.api.deps import CSRF_COOKIE, SESSION_COOKIE
from safecity.config.api import ApiConfig
from safecity.store.ratelimit import DbRateLimiter, SlidingWindowLimiter

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def cookie_secure(request: Request, cfg: ApiConfig) -> bool:
    if not cfg.secure_cookies:
        return False
    if request.url.scheme in ("https", "wss"):
        return True
    host = (request.url.hostname or "").lower()
    client = request.client.host if request.client else None
    return not (host in LOOPBACK_NAMES and _is_loopback(client))


def set_session_cookies(
    response: Response, request: Request, cfg: ApiConfig, token: str, csrf: str, expires: datetime
) -> None:
    secure = cookie_secure(request, cfg)
    response.set_cookie(
        SESSION_COOKIE, token, expires=expires, path="/", secure=secure, httponly=True, samesite="strict"
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, expires=expires, path="/", secure=secure, httponly=False, samesite="strict"
    )


def clear_session_cookies(response: Response, request: Request, cfg: ApiConfig) -> None:
    secure = cookie_secure(request, cfg)
    for name, http_only in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", secure=secure, httponly=http_only, samesite="strict")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class LoginGuard:
    """Failed logins per username and per client address, in a sliding window; over either limit the
    login answers 429 with Retry-After before looking at the password. With `db` (what `create_api` passes)
    the failures are counted in the database, so every API node behind a balancer sees the same count."""

    def __init__(self, cfg: ApiConfig, db: Engine | None = None) -> None:
        window, per_user, per_ip = (
            cfg.login_window_s,
            cfg.login_max_failures_per_user,
            cfg.login_max_failures_per_ip,
        )
        self.by_user: SlidingWindowLimiter | DbRateLimiter
        self.by_ip: SlidingWindowLimiter | DbRateLimiter
        if db is None:
            self.by_user = SlidingWindowLimiter(per_user, window)
            self.by_ip = SlidingWindowLimiter(per_ip, window)
        else:
            self.by_user = DbRateLimiter(db, "login_user", per_user, window)
            self.by_ip = DbRateLimiter(db, "login_ip", per_ip, window)

    def check(self, username: str, ip: str) -> None:
        waits = [w for w in (self.by_user.retry_after(username), self.by_ip.retry_after(ip)) if w]
        if waits:
            seconds = math.ceil(max(waits))
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"too many failed logins; try again in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )

    def failed(self, username: str, ip: str) -> None:
        self.by_user.hit(username)
        self.by_ip.hit(ip)

    def succeeded(self, username: str) -> None:
        self.by_user.reset(username)
