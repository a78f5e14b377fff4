"""Clip export: refused and audited without the permission or a redactor; unredacted with
`media:unredacted`; redacted through a Redactor (re-encoded, pixels changed); the audit chain verifies."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import func, select

from safecity.governance import audit
from safecity.media.redaction import Redactor
from safecity.recording.clips import make_clip, sha256_file
from safecity.recording.export import (
    UNREDACTED_PERMISSION,
    ExportRefused,
    export_range,
    export_stored_clip,
)
from safecity.recording.index import CLIPS

from .conftest import T0, Recorded

START, END = T0 + timedelta(seconds=30), T0 + timedelta(seconds=36)


class TopHalfRedactor:
    """A stand-in for the face redactor: blacks out the top half of every frame."""

    def redact(self, image: np.ndarray) -> np.ndarray:
        out = image.copy()
        out[: out.shape[0] // 2] = 0
        return out


def _entries(recorded: Recorded) -> list[tuple[str, str, str, dict[str, object]]]:
    with recorded.store.engine.connect() as conn:
        rows = audit.entries(conn, limit=100)
    return [(r.actor, r.action, r.subject, json.loads(r.details)) for r in reversed(rows)]


def _export(recorded: Recorded, tmp_path: Path, **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = dict(
        actor="alice",
        permissions=frozenset({"media:read"}),
        camera_id="gate-1",
        start=START,
        end=END,
        reason="request 7/2025",
        unredacted=False,
    )
    args.update(kw)
    return export_range(recorded.store.engine, recorded.store.storage, tmp_path / "work", **args)  # type: ignore[arg-type]


def test_refusals_are_audited_and_cut_nothing(recorded: Recorded, tmp_path: Path) -> None:
    with pytest.raises(ExportRefused, match=UNREDACTED_PERMISSION):
        _export(recorded, tmp_path, unredacted=True)
    with pytest.raises(ExportRefused, match="redaction is not available"):
        _export(recorded, tmp_path, unredacted=False, redactor=None)
    with pytest.raises(ValueError, match="reason"):
        _export(recorded, tmp_path, reason="")
    with pytest.raises(ValueError, match="positive range"):
        _export(recorded, tmp_path, end=START + timedelta(hours=2), unredacted=True)
    with recorded.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CLIPS)).scalar_one() == 0
    refused = [(a, act, d["refused"]) for a, act, _, d in _entries(recorded)]
    assert [r[:2] for r in refused] == [("alice", "clip.export.refused")] * 2
    assert UNREDACTED_PERMISSION in str(refused[0][2]) and "redaction" in str(refused[1][2])


def test_unredacted_export_needs_the_permission(recorded: Recorded, tmp_path: Path) -> None:
    clip = _export(recorded, tmp_path, unredacted=True, permissions=frozenset({UNREDACTED_PERMISSION}))
    assert not clip.redacted and clip.reason == "export" and clip.created_by == "alice"
    path = recorded.store.storage.path_for(clip.key)
    assert path is not None and sha256_file(path) == clip.sha256
    ((actor, action, subject, details),) = _entries(recorded)
    assert (actor, action, subject) == ("alice", "clip.export", f"clip:{clip.id}")
    assert details["sha256"] == clip.sha256 and details["redacted"] is False
    assert details["reason"] == "request 7/2025"


def _mean_top_bottom(path: Path) -> tuple[float, float]:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0)).to_ndarray(format="bgr24")
    h = frame.shape[0] // 2
    return float(frame[: h - 8].mean()), float(frame[h + 8 :].mean())


def test_redacted_export_goes_through_the_redactor(recorded: Recorded, tmp_path: Path) -> None:
    redactor: Redactor = TopHalfRedactor()
    assert isinstance(redactor, Redactor)
    clip = _export(recorded, tmp_path, redactor=redactor)
    assert clip.redacted
    path = recorded.store.storage.path_for(clip.key)
    assert path is not None
    top, bottom = _mean_top_bottom(path)
    assert top < 3 and bottom > 50  # what was hidden is gone, the rest is still there
    with av.open(str(path)) as c:
        assert sum(1 for _ in c.decode(video=0)) >= 60  # 6 s and more at 10 fps, every frame re-encoded
    actions = [(a, s) for _, a, s, _ in _entries(recorded)]
    assert actions == [("clip.export", f"clip:{clip.id}")]


def test_stored_event_clips_are_exported_the_same_way(recorded: Recorded, tmp_path: Path) -> None:
    store = recorded.store
    event_clip = make_clip(
        store.engine,
        store.storage,
        tmp_path / "w",
        "gate-1",
        START,
        END,
        reason="event",
        created_by="system",
        event_id="e" * 32,
    )
    assert event_clip is not None
    engine, storage, work = store.engine, store.storage, tmp_path / "work"
    with pytest.raises(ExportRefused):
        export_stored_clip(
            engine,
            storage,
            work,
            actor="bob",
            permissions=frozenset(),
            clip_id=event_clip.id,
            reason="case 9",
            unredacted=True,
        )
    same = export_stored_clip(
        engine,
        storage,
        work,
        actor="carol",
        permissions={UNREDACTED_PERMISSION},
        clip_id=event_clip.id,
        reason="case 9",
        unredacted=True,
    )
    assert same.id == event_clip.id
    blurred = export_stored_clip(
        engine,
        storage,
        work,
        actor="bob",
        permissions=frozenset(),
        clip_id=event_clip.id,
        reason="case 9",
        unredacted=False,
        redactor=TopHalfRedactor(),
    )
    assert blurred.redacted and blurred.id != event_clip.id
    with pytest.raises(KeyError):
        export_stored_clip(
            engine,
            storage,
            work,
            actor="bob",
            permissions=frozenset(),
            clip_id="x" * 32,
            reason="case 9",
            unredacted=False,
        )
    log = [(a, act) for a, act, _, _ in _entries(recorded)]
    assert log == [("bob", "clip.export.refused"), ("carol", "clip.export"), ("bob", "clip.export")]
    with engine.connect() as conn:
        assert audit.verify(conn).ok
