"""Clip export: audited, and redacted unless the requester holds the unblurred permission.

DESIGN.md: stored clips have faces and plates blurred unless a privileged, audited request asks
otherwise. A redacted export re-encodes the clip through a `safecity.media.redaction.Redactor`: the API
gives `safecity.media.face_redaction.FaceRedactor` (CenterFace; it fails closed, obscuring the whole
frame, when the face model is missing) chained with `safecity.media.plate_redaction.ClipPlateRedactor`
(vehicles found by the node's detector, plates located in them by the plate models' text detector and
held for a second where a frame misses one; it fails closed, obscuring the vehicle boxes).
Without a redactor a redacted export is refused, never served with nothing blurred; an unredacted one
needs `media:unredacted`. Every export, granted or refused, is an audit entry naming who, what and why;
the entry is committed before the clip is handed back to the caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine

from safecity.governance import audit
from safecity.media.redaction import Redactor, redact_clip
from safecity.media.storage import ManagedStorage
from safecity.recording.clips import make_clip, sha256_file
from safecity.recording.index import ClipRecord, clip_by_id, clip_key, insert_clip

UNREDACTED_PERMISSION = "media:unredacted"  # api/permissions.py: unblurred clips and snapshots, audited


class ExportRefused(PermissionError):
    """The export is not allowed (missing permission, or no redaction available)."""


def _refuse(engine: Engine, actor: str, subject: str, details: dict[str, object], why: str) -> ExportRefused:
    with engine.begin() as conn:
        audit.append(conn, actor, "clip.export.refused", subject, {**details, "refused": why})
    return ExportRefused(why)


def _authorize(
    engine: Engine,
    actor: str,
    permissions: Collection[str],
    subject: str,
    details: dict[str, object],
    *,
    unredacted: bool,
    redactor: Redactor | None,
) -> None:
    if not details.get("reason"):
        raise ValueError("an export states its reason (case, request reference)")
    if unredacted and UNREDACTED_PERMISSION not in permissions:
        raise _refuse(engine, actor, subject, details, f"an unredacted export needs {UNREDACTED_PERMISSION}")
    if not unredacted and redactor is None:
        raise _refuse(
            engine,
            actor,
            subject,
            details,
            "redaction is not available (no redactor given); an unredacted export "
            f"needs {UNREDACTED_PERMISSION}",
        )


def export_range(
    engine: Engine,
    storage: ManagedStorage,
    work_dir: Path,
    *,
    actor: str,
    permissions: Collection[str],
    camera_id: str,
    start: datetime,
    end: datetime,
    reason: str,
    unredacted: bool,
    max_seconds: float = 3600.0,
    redactor: Redactor | None = None,
) -> ClipRecord:
    """Cut, store and index a clip of [start, end] for `actor`; audited. ExportRefused / LookupError."""
    if end <= start or end - start > timedelta(seconds=max_seconds):
        raise ValueError(f"an export covers a positive range of at most {max_seconds:g} s")
    subject = f"camera:{camera_id}"
    details: dict[str, object] = {
        "reason": reason,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "unredacted": unredacted,
    }
    _authorize(engine, actor, permissions, subject, details, unredacted=unredacted, redactor=redactor)
    clip = make_clip(engine, storage, work_dir, camera_id, start, end, reason="export", created_by=actor)
    if clip is None:
        raise LookupError(f"nothing recorded for camera {camera_id} between {start} and {end}")
    if not unredacted:
        assert redactor is not None
        clip = _redacted_copy(engine, storage, work_dir, clip, redactor, actor)
    with engine.begin() as conn:
        _audit_export(conn, actor, clip, reason)
    return clip


def export_stored_clip(
    engine: Engine,
    storage: ManagedStorage,
    work_dir: Path,
    *,
    actor: str,
    permissions: Collection[str],
    clip_id: str,
    reason: str,
    unredacted: bool,
    redactor: Redactor | None = None,
) -> ClipRecord:
    """Hand out an existing clip (e.g. an event clip) for `actor`; audited. KeyError if unknown."""
    if not reason.strip():
        raise ValueError("an export states its reason (case, request reference)")
    with engine.connect() as conn:
        clip = clip_by_id(conn, clip_id)
    if clip is None:
        raise KeyError(f"no clip {clip_id}")
    subject = f"clip:{clip_id}"
    details: dict[str, object] = {"reason": reason, "unredacted": unredacted, "camera": clip.camera_id}
    if not clip.redacted:  # an already blurred clip needs no more than the route's own permission
        _authorize(engine, actor, permissions, subject, details, unredacted=unredacted, redactor=redactor)
        if not unredacted:
            assert redactor is not None
            clip = _redacted_copy(engine, storage, work_dir, clip, redactor, actor)
    with engine.begin() as conn:
        _audit_export(conn, actor, clip, reason)
    return clip


def _redacted_copy(
    engine: Engine, storage: ManagedStorage, work_dir: Path, clip: ClipRecord, redactor: Redactor, actor: str
) -> ClipRecord:
    new_id = uuid.uuid4().hex
    work_dir.mkdir(parents=True, exist_ok=True)
    out = work_dir / f"{new_id}.mp4"
    with storage.local_file(clip.key) as source:
        redact_clip(source, out, redactor)
    digest = sha256_file(out)
    key = clip_key(clip.camera_id, clip.start, new_id)
    size = storage.put_file(key, out)
    redacted = replace(
        clip, id=new_id, key=key, bytes=size, sha256=digest, redacted=True, created_by=actor, reason="export"
    )
    with engine.begin() as conn:
        insert_clip(conn, redacted)
    return redacted


def _audit_export(conn: Connection, actor: str, clip: ClipRecord, reason: str) -> None:
    audit.append(
        conn,
        actor,
        "clip.export",
        f"clip:{clip.id}",
        {
            "camera": clip.camera_id,
            "start": clip.start.isoformat(),
            "end": clip.end.isoformat(),
            "redacted": clip.redacted,
            "sha256": clip.sha256,
            "bytes": clip.bytes,
            "reason": reason,
        },
    )
