"""FastAPI dependencies every router uses: who is calling (`Principal`), what they may do (`require`),
which cameras they may see, and a database session.

Every non-public route depends on `require("<permission>")` (or `require_user()` for routes any signed-in
user may call, such as logout). `require` returns a `Require` object that remembers its permission, so a
test walks `app.routes` and checks every route, including routers added later (tests/unit/api).

    @router.get("/alerts")
    def list_alerts(db: DbSession, who: Annotated[Principal, Depends(require("alerts:read"))]) -> ...:
        ...

Credentials: a session cookie (`safecity_session`, from `POST /api/auth/login`) or an API token
(`Authorization: Bearer sc_...`). Cookie-authenticated unsafe requests (POST, PUT, PATCH, DELETE) must
send the session's CSRF token in `X-CSRF-Token` (the login response sets it, readable by JS, in the
`safecity_csrf` cookie); bearer requests need no CSRF token (browsers never attach them by themselves).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import anyio
from fastapi import Depends, HTTPException, Request, WebSocket, WebSocketException, status
from fastapi.dependencies.models import Dependant
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from safecity.accounts.models import ApiTokenRow, UserRow
from safecity.accounts.scopes import is_read_only, token_permissions
from safecity.accounts.sessions import digest, resolve_session, resolve_token
from safecity.api.authcache import AuthCache, Credential, touching
from safecity.api.permissions import PERMISSIONS, Role, permissions_for
from safecity.api.refusals import audit_refusal
from safecity.app import App
from safecity.governance.audit_changes import set_actor

SESSION_COOKIE = "safecity_session"
CSRF_COOKIE = "safecity_csrf"
CSRF_HEADER = "X-CSRF-Token"
AUTHENTICATED = "authenticated"  # pseudo-permission of `require_user()`: any signed-in principal
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WS_POLICY_VIOLATION = 1008
_ROLE_NAMES = frozenset(r.value for r in Role)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: int
    username: str
    display_name: str
    roles: frozenset[str]
    permissions: frozenset[str]
    cameras: frozenset[str] | None  # None: every camera
    via: Literal["session", "token"]
    credential_id: str  # the session's token hash or the API token's id
    # a session between password and second factor ("mfa") or before enrolment ("enrol"): it holds no
    # permission, only `require_user()` routes (the second-factor steps, me, logout) let it through
    stage: str | None = None

    def has(self, permission: str) -> bool:
        return permission == AUTHENTICATED or permission in self.permissions

    def can_see_camera(self, camera_id: str) -> bool:
        return self.cameras is None or camera_id in self.cameras

    def visible(self, camera_ids: list[str] | set[str] | frozenset[str]) -> set[str]:
        return set(camera_ids) if self.cameras is None else set(camera_ids) & self.cameras


def principal_for(user: UserRow, via: Literal["session", "token"], credential_id: str) -> Principal:
    roles = {Role(r) for r in user.roles if r in _ROLE_NAMES}  # a role unknown to this version grants nothing
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=frozenset(r.value for r in roles),
        permissions=permissions_for(roles),
        cameras=None if user.cameras is None else frozenset(user.cameras),
        via=via,
        credential_id=credential_id,
    )


def get_node(conn: HTTPConnection) -> App:
    node = getattr(conn.app.state, "node", None)
    if not isinstance(node, App):
        raise RuntimeError("the API was not created by safecity.api.app.create_api")
    return node


async def _node(conn: HTTPConnection) -> App:
    return get_node(conn)  # async: FastAPI runs a sync dependency on a worker thread (a hop per request)


Node = Annotated[App, Depends(_node)]


# Connections of the pool left to the node's background work (alert engine, watchdog, live revalidation,
# recording alerts) when API requests are admitted (`get_session`).
DB_RESERVE = 4


def db_slots(node: App) -> int:
    """How many requests may hold a database session at once: what the pool can serve, less the reserve."""
    storage = node.settings.storage
    return max(1, storage.database_pool_size + storage.database_pool_overflow - DB_RESERVE)


def _admission(conn: HTTPConnection) -> asyncio.Semaphore:
    """The node's request admission semaphore on the running loop (test clients may run several loops)."""
    state = conn.app.state
    per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = getattr(
        state, "db_admission", None
    )
    if per_loop is None:
        per_loop = state.db_admission = weakref.WeakKeyDictionary()
    loop = asyncio.get_running_loop()
    if loop not in per_loop:
        per_loop[loop] = asyncio.Semaphore(db_slots(get_node(conn)))
    return per_loop[loop]


def _end(db: Session, commit: bool) -> None:
    try:
        if commit:
            db.commit()
    finally:
        db.close()  # rolls back what was not committed, returns the connection


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One ORM session per request, committed when the endpoint returns (before the response is sent),
    rolled back when it raises. `session.connection()` gives Core repositories the same transaction.

    Admission (docs/performance.md): at most `db_slots` requests hold a session at once; the others wait
    here, on the event loop, holding neither a worker thread nor a connection. Without it, a request that
    held a connection while waiting for a worker thread, with every worker thread waiting for a connection,
    stalled the node until the pool timed out (503 "database busy" under 200 operators). The end of an
    open transaction runs on a thread of its own, never waiting for a busy worker pool while it holds a
    connection; a session with none (nothing read, or committed by the endpoint) is closed here.
    """
    node = get_node(request)
    async with _admission(request):
        db = node.session()
        ok = False
        try:
            yield db
            ok = True
        finally:
            if db.in_transaction():
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(_end, db, ok, limiter=anyio.CapacityLimiter(1))
            else:  # nothing began (or the endpoint committed): closing does no I/O, no thread needed
                db.close()


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization")
    if header is None:
        return None
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise _unauthorized("Authorization header must be 'Bearer <token>'")
    return credential.strip()


def token_principal(user: UserRow, token: ApiTokenRow) -> Principal:
    """The owner's principal narrowed to what the token may do (safecity.accounts.scopes)."""
    full = principal_for(user, "token", token.id)
    return dataclasses.replace(full, permissions=token_permissions(full.permissions, token.scopes))


def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER} header (CSRF)")


def _idle(conn: HTTPConnection) -> timedelta:
    return timedelta(minutes=get_node(conn).settings.api.session_idle_minutes)


def _seconds_until(at: datetime | None, now: datetime) -> float | None:
    return None if at is None else (at - now).total_seconds()


def _resolve(request: Request, db: Session, secret: str | None, cookie: str) -> Credential:
    """Read a credential from the database (401 when it is not valid now)."""
    now = datetime.now(UTC)
    cache: AuthCache | None = getattr(request.app.state, "auth_cache", None)
    expiry = cache.expiry if cache is not None else (lambda *limits: 0.0)
    if secret is not None:
        found = resolve_token(db, secret)
        if found is None:
            raise _unauthorized("invalid, expired or revoked API token")
        token, user = found
        until = expiry(_seconds_until(token.expires_at, now))
        return Credential(token_principal(user, token), None, is_read_only(token.scopes), until)
    resolved = resolve_session(db, cookie, _idle(request))
    if resolved is None:
        raise _unauthorized("session expired or ended: log in again")
    session, user = resolved
    principal = principal_for(user, "session", session.token_hash)
    if session.stage is not None:
        principal = dataclasses.replace(principal, permissions=frozenset(), stage=session.stage)
    idle_end = session.last_seen_at + _idle(request)
    until = expiry(_seconds_until(session.expires_at, now), _seconds_until(idle_end, now))
    return Credential(principal, session.csrf_token, False, until)


def _credential(request: Request) -> tuple[str | None, str, str]:
    """The request's bearer secret or session cookie, and its cache key (401 when there is neither)."""
    secret = _bearer(request)
    cookie = "" if secret is not None else request.cookies.get(SESSION_COOKIE, "")
    if secret is None and not cookie:
        raise _unauthorized("not authenticated: log in or send an API token")
    return secret, cookie, f"t:{digest(secret)}" if secret is not None else f"s:{digest(cookie)}"


def _auth_cache(request: Request) -> AuthCache | None:
    cache: AuthCache | None = getattr(request.app.state, "auth_cache", None)
    return cache


def _load(request: Request, db: Session, secret: str | None, cookie: str, key: str) -> Credential:
    """Read the credential from the database and cache it (a cache miss)."""
    cache = _auth_cache(request)
    generation = cache.generation if cache is not None else 0  # before reading: a racing write wins
    found = _resolve(request, db, secret, cookie)
    if cache is not None:
        cache.put(key, found, generation)
    return found


def _admit(request: Request, found: Credential) -> Principal:
    """403 when a cookie request lacks CSRF or a read-only token tries to change something."""
    if request.method not in SAFE_METHODS:
        if found.read_only:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this API token is read-only")
        if found.csrf_token is not None:
            _check_csrf(request, found.csrf_token)
    return found.principal


def _authenticate_from_db(
    request: Request, db: Session, secret: str | None, cookie: str, key: str
) -> Principal:
    principal = _admit(request, _load(request, db, secret, cookie, key))
    if db.in_transaction():
        with touching():
            db.commit()  # its touch stored, the connection returned: not held while waiting for a thread
    return principal


async def current_principal(request: Request, db: DbSession) -> Principal:
    """The caller of an HTTP request; 401 when there is none, 403 when a cookie request lacks CSRF or a
    read-only token tries to change something. A credential resolved within the last `api.auth_cache_s`
    seconds comes from the node's cache (`safecity.api.authcache`: revocations on this node empty it) and
    is checked on the event loop (no I/O: a worker thread hop cost more than the check); a miss is read
    from the database on a worker thread."""
    secret, cookie, key = _credential(request)
    cache = _auth_cache(request)
    found = cache.get(key) if cache is not None else None
    if found is not None:
        principal = _admit(request, found)
    else:
        principal = await run_in_threadpool(_authenticate_from_db, request, db, secret, cookie, key)
    request.state.principal = principal
    set_actor(db, principal.username)  # privileged changes in this request are audited as theirs
    return principal


class Require:
    """Dependency: the caller, who must hold `permission` (401 if anonymous, 403 if not allowed)."""

    def __init__(self, permission: str) -> None:
        if permission != AUTHENTICATED and permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}: add it to safecity/api/permissions.py")
        self.permission = permission

    def __repr__(self) -> str:
        return f"require({self.permission!r})"

    async def __call__(
        self, conn: HTTPConnection, principal: Annotated[Principal, Depends(current_principal)]
    ) -> Principal:
        # async: a permission check needs no worker thread (a sync dependency took one hop per request);
        # the audit write of a refusal goes to one
        if not principal.has(self.permission):
            reason = (
                f"permission {self.permission!r} required; your roles: {', '.join(sorted(principal.roles))}"
            )
            subject = f"{conn.scope.get('method', 'GET')} {conn.url.path}"
            node = get_node(conn)
            await run_in_threadpool(audit_refusal, node, principal.username, self.permission, subject, reason)
            raise HTTPException(status.HTTP_403_FORBIDDEN, reason)
        return principal


_REQUIRES: dict[str, Require] = {}


def require(permission: str) -> Require:
    """The dependency for `permission` (one object per permission, so FastAPI evaluates it once)."""
    if permission not in _REQUIRES:
        _REQUIRES[permission] = Require(permission)
    return _REQUIRES[permission]


def require_user() -> Require:
    """Any signed-in principal, whatever their roles (logout, own profile, the live socket)."""
    return require(AUTHENTICATED)


class WsRequire:
    """WebSocket twin of `Require`: session cookie (same-origin only), `?token=` or bearer header.

    Refuses the handshake (policy violation) rather than answering 401/403."""

    def __init__(self, permission: str) -> None:
        self.permission = require(permission).permission

    def __repr__(self) -> str:
        return f"ws_require({self.permission!r})"

    def __call__(self, websocket: WebSocket) -> Principal:
        db = get_node(websocket).session()
        try:
            principal = self._authenticate(websocket, db)
            db.commit()
        finally:
            db.close()
        if not principal.has(self.permission):
            reason = f"permission {self.permission!r} required"
            audit_refusal(
                get_node(websocket), principal.username, self.permission, f"WS {websocket.url.path}", reason
            )
            raise WebSocketException(WS_POLICY_VIOLATION, reason)
        return principal

    @staticmethod
    def _authenticate(ws: WebSocket, db: Session) -> Principal:
        try:
            secret = ws.query_params.get("token") or _bearer(ws)
        except HTTPException as exc:
            raise WebSocketException(WS_POLICY_VIOLATION, str(exc.detail)) from exc
        if secret:
            found = resolve_token(db, secret)
            if found is None:
                raise WebSocketException(WS_POLICY_VIOLATION, "invalid, expired or revoked API token")
            return token_principal(found[1], found[0])
        cookie = ws.cookies.get(SESSION_COOKIE)
        session = resolve_session(db, cookie, _idle(ws)) if cookie else None
        if session is None or session[0].stage is not None:  # not signed in, or half-way through
            raise WebSocketException(WS_POLICY_VIOLATION, "not authenticated")
        if not same_origin(ws):
            raise WebSocketException(WS_POLICY_VIOLATION, "cross-origin WebSocket refused")
        return principal_for(session[1], "session", session[0].token_hash)


def ws_require(permission: str) -> WsRequire:
    return WsRequire(permission)


def same_origin(conn: HTTPConnection) -> bool:
    """A browser's Origin (when it sends one) must be this server (no cross-site WebSocket hijacking)."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == conn.headers.get("host", "").lower()


def ensure_camera_visible(principal: Principal, camera_id: str, *, hide: bool = True) -> None:
    """Stop a request for a camera outside the caller's access list: 404 (hide=True: as if it did not
    exist, for paths naming one object) or 403 (for an explicit filter the caller chose)."""
    if principal.can_see_camera(camera_id):
        return
    if hide:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"camera {camera_id!r} not found")
    raise HTTPException(status.HTTP_403_FORBIDDEN, f"no access to camera {camera_id!r}")


def route_permissions(dependant: Dependant) -> set[str]:
    """Every permission a route's dependency tree requires (for the coverage and matrix tests)."""
    found: set[str] = set()
    stack: list[Any] = [dependant]
    while stack:
        dep = stack.pop()
        call = getattr(dep, "call", None)
        if isinstance(call, Require | WsRequire):
            found.add(call.permission)
        stack.extend(dep.dependencies)
    return found
