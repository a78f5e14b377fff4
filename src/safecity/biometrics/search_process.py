"""A retrospective search in a child process.

dlib's face embedding holds Python's GIL for its whole call (measured: ~0.4 s per six-face photo), so a
search on a thread of the API process stalls every request for that long, again and again. In a child
process (spawned: no inherited threads or locks) it shares nothing with the API but the database and the
sealed store. The parent relays progress and a cancel request through shared memory; the child opens its
own engine, store and models, runs `retrospective_search` (so the rules and the audit are the same) and
sends back the result or the error.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

import numpy as np

from safecity.biometrics.child import await_child
from safecity.biometrics.common import Actor
from safecity.biometrics.config import BiometricsConfig
from safecity.biometrics.search import SearchCancelled, SearchRequest


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """Everything the child needs (picklable)."""

    database_url: str
    sealed_dir: Path
    cache_dir: Path
    config: BiometricsConfig
    request: SearchRequest
    probe: np.ndarray
    actor: Actor


class SearchFailed(Exception):
    """The child refused or failed the search; the message is its reason."""


def _child(
    spec: SearchSpec, done: Synchronized[int], total: Synchronized[int], cancel: MpEvent, out: Any
) -> None:
    from sqlalchemy.orm import Session

    from safecity.biometrics.search import retrospective_search
    from safecity.media.storage import LocalMediaStorage
    from safecity.store import make_engine
    from safecity.vision.faces import CenterFaceDetector, FaceEmbedder
    from safecity.vision.faces_models import CENTERFACE, DLIB_RESNET, SHAPE_PREDICTOR_5, face_model_path

    def step(d: int, t: int) -> bool:
        done.value, total.value = d, t
        return not cancel.is_set()

    engine = make_engine(spec.database_url)
    try:
        c = spec.cache_dir
        detector = CenterFaceDetector(face_model_path(c, CENTERFACE), threads=spec.config.threads)
        embedder = FaceEmbedder(
            face_model_path(c, SHAPE_PREDICTOR_5),
            face_model_path(c, DLIB_RESNET),
            flip=spec.config.flip_average,
            hog_box=spec.config.hog_box,
        )
        with Session(engine, expire_on_commit=False) as db:
            media = LocalMediaStorage(spec.sealed_dir)
            try:
                row, hits = retrospective_search(
                    db, spec.request, spec.probe, spec.actor, spec.config, media, (detector, embedder),
                    progress=step,
                )  # fmt: skip
            except SearchCancelled as exc:
                db.commit()  # its audit entry
                out.put(("cancelled", str(exc)))
                return
            db.commit()
        hit_list = [
            {"event_id": h.event_id, "camera_id": h.camera_id, "at": h.at.isoformat(), "score": h.score}
            for h in hits
        ]
        result = {"search_id": row.id, "snapshots_scanned": row.snapshots_scanned,
                  "faces_compared": row.faces_compared, "hits": hit_list}  # fmt: skip
        out.put(("done", result))
    except Exception as exc:  # reported to the parent, which marks the job failed
        out.put(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        engine.dispose()


def run_search_process(spec: SearchSpec, step: Callable[[int, int], bool]) -> dict[str, Any]:
    """Run the search in a child; `step(done, total)` as it goes (False: cancel). The result as a dict;
    SearchCancelled or SearchFailed otherwise."""
    ctx = mp.get_context("spawn")
    done, total, cancel, out = ctx.Value("q", 0), ctx.Value("q", 0), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_child, args=(spec, done, total, cancel, out), name="face-search", daemon=True)
    kind, payload = await_child(
        proc, out, cancel, lambda: (int(done.value), int(total.value)), step, SearchFailed
    )
    if kind == "cancelled":
        raise SearchCancelled(str(payload))
    if kind == "failed":
        raise SearchFailed(str(payload))
    assert isinstance(payload, dict)
    return payload
