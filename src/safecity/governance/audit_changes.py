"""Privileged changes audited where they happen: in the ORM flush, whoever made them.

Users (create; roles, camera access, display name; disable and enable; password reset), API tokens
(create, revoke), cameras (create, update, enable and disable, their lines and zones, delete) and alert
rules (create, update, delete) are all changed through ORM sessions, by the API and by the CLI. An
`after_flush` listener writes one audit entry per changed row in the same transaction, so no code path
(and no route added later) can change them without a trace. The actor is `session.info[ACTOR]`, set by
the API's authentication dependency and by the CLI; a session without one is `system` (seeding from the
settings file at start).

Secrets never reach the log: password and token hashes are named, never shown; a camera source URL is
logged without its user and password.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from safecity.governance import audit

ACTOR = "audit_actor"
SYSTEM = "system"


def _safe_source(url: Any) -> Any:
    if not isinstance(url, str):
        return url
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Watch:
    kind: str
    subject: Callable[[Any], str]
    ignore: frozenset[str] = frozenset()  # bookkeeping columns (timestamps, last use)
    secret: frozenset[str] = frozenset()  # changes named, values never logged
    own_actions: dict[str, str] = field(default_factory=dict)  # column -> action of its own
    show: Callable[[str, Any], Any] = lambda _name, value: value


WATCHES: dict[str, Watch] = {
    "users": Watch(
        "user",
        lambda r: f"user:{r.username}",
        ignore=frozenset({"created_at", "password_changed_at"}),
        secret=frozenset({"password_hash"}),
        own_actions={
            "roles": "user.roles.change",
            "cameras": "user.cameras.change",
            "password_hash": "user.password_reset",
        },
    ),
    "api_tokens": Watch(
        "token",
        lambda r: f"token:{r.id}",
        ignore=frozenset({"created_at", "last_used_at"}),
        secret=frozenset({"token_hash"}),
    ),
    "cameras": Watch(
        "camera",
        lambda r: f"camera:{r.id}",
        ignore=frozenset({"created_at", "updated_at"}),
        own_actions={"lines": "camera.rules.change", "zones": "camera.rules.change"},
        show=lambda name, value: _safe_source(value) if name == "source" else value,
    ),
    "alert_rules": Watch(
        "alert_rule", lambda r: f"alert_rule:{r.id}", ignore=frozenset({"created_at", "updated_at"})
    ),
}


def _watch(obj: Any) -> Watch | None:
    return WATCHES.get(getattr(obj, "__tablename__", ""))


def _values(obj: Any, w: Watch) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        name = attr.key
        if name in w.ignore:
            continue
        out[name] = "(set)" if name in w.secret else w.show(name, getattr(obj, name))
    return out


def _changes(obj: Any, w: Watch) -> dict[str, tuple[Any, Any]]:
    state, out = inspect(obj), {}
    for attr in state.mapper.column_attrs:
        name = attr.key
        if name in w.ignore:
            continue
        hist = state.attrs[name].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if old == new:
            continue
        out[name] = ("(old)", "(new)") if name in w.secret else (w.show(name, old), w.show(name, new))
    return out


def _update_entries(obj: Any, w: Watch) -> list[tuple[str, dict[str, Any]]]:
    """One entry per privileged kind of change (roles, camera access, password, enabled...)."""
    changes = _changes(obj, w)
    out: list[tuple[str, dict[str, Any]]] = []
    for flag, (on, off) in {"disabled": ("disable", "enable"), "enabled": ("enable", "disable")}.items():
        if flag in changes:
            out.append((f"{w.kind}.{on if changes.pop(flag)[1] else off}", {}))
    grouped: dict[str, dict[str, Any]] = {}
    for name, (old, new) in changes.items():
        action = w.own_actions.get(name, f"{w.kind}.update")
        grouped.setdefault(action, {})[name] = {"before": old, "after": new}
    out += [(action, {"changes": diff}) for action, diff in grouped.items()]
    return out


def _after_flush(session: Session, _context: Any) -> None:
    entries: list[tuple[str, str, dict[str, Any]]] = []
    for obj in session.new:
        if (w := _watch(obj)) is not None:
            entries.append((f"{w.kind}.create", w.subject(obj), _values(obj, w)))
    for obj in session.dirty:
        if (w := _watch(obj)) is not None and session.is_modified(obj, include_collections=False):
            entries += [(a, w.subject(obj), d) for a, d in _update_entries(obj, w)]
    for obj in session.deleted:
        if (w := _watch(obj)) is not None:
            action = "token.revoke" if w.kind == "token" else f"{w.kind}.delete"
            entries.append((action, w.subject(obj), _values(obj, w)))
    if not entries:
        return
    actor = str(session.info.get(ACTOR, SYSTEM))
    conn = session.connection()
    for action, subject, details in entries:
        audit.append(conn, actor, action, subject, details)


def install_change_audit() -> None:
    """Audit the watched tables' changes in every ORM session of this process (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def set_actor(session: Session, actor: str) -> None:
    session.info[ACTOR] = actor
