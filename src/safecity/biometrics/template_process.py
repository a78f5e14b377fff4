"""Face templates of uploaded photos (enrolment, bulk import) in a spawned child process, for the same
reason as `search_process`: dlib holds the GIL. The photos go to the child and the templates come back
through a pipe, in memory only (never written anywhere); the parent discards them once stored.
Progress and cancel as in `search_process`.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

import numpy as np

from safecity.biometrics.child import await_child


class TemplatesCancelled(Exception):
    pass


class TemplatesFailed(Exception):
    """A photo was refused (not exactly one face, unreadable) or the child failed; the message says which."""


def _child(
    cache_dir: Path,
    threads: int,
    photos: list[bytes],
    done: Synchronized[int],
    cancel: MpEvent,
    out: Any,
    flip: bool = False,
    hog_box: bool = False,
) -> None:
    from safecity.biometrics.search import decode_image, single_face_template
    from safecity.vision.faces import CenterFaceDetector, FaceEmbedder, discard
    from safecity.vision.faces_models import CENTERFACE, DLIB_RESNET, SHAPE_PREDICTOR_5, face_model_path

    try:
        detector = CenterFaceDetector(face_model_path(cache_dir, CENTERFACE), threads=threads)
        embedder = FaceEmbedder(
            face_model_path(cache_dir, SHAPE_PREDICTOR_5),
            face_model_path(cache_dir, DLIB_RESNET),
            flip=flip,
            hog_box=hog_box,
        )
        templates = []
        for i, data in enumerate(photos):
            if cancel.is_set():
                out.put(("cancelled", f"cancelled after {i} of {len(photos)} photos"))
                return
            image = decode_image(data)
            try:
                templates.append(single_face_template(image, detector, embedder))
            except Exception as exc:
                raise ValueError(f"photo {i + 1}: {exc}") from exc
            finally:
                discard(image)
            done.value = i + 1
        out.put(("done", np.stack(templates)))
    except Exception as exc:
        out.put(("failed", str(exc)))


def templates_in_process(
    cache_dir: Path,
    threads: int,
    photos: list[bytes],
    step: Callable[[int, int], bool],
    *,
    flip: bool | None = None,
    hog_box: bool | None = None,
) -> np.ndarray:
    """(N, 128) templates, one per photo; TemplatesCancelled / TemplatesFailed otherwise. `flip` and
    `hog_box` must be the face step's `biometrics.flip_average` and `biometrics.hog_box`, so enrolled and
    live templates are computed alike (None: that setting's default)."""
    from safecity.biometrics.config import BiometricsConfig

    if flip is None:
        flip = bool(BiometricsConfig.model_fields["flip_average"].default)
    if hog_box is None:
        hog_box = bool(BiometricsConfig.model_fields["hog_box"].default)
    ctx = mp.get_context("spawn")
    done, cancel, out = ctx.Value("q", 0), ctx.Event(), ctx.Queue()
    args = (cache_dir, threads, photos, done, cancel, out, flip, hog_box)
    proc = ctx.Process(target=_child, args=args, name="face-templates", daemon=True)
    kind, payload = await_child(
        proc, out, cancel, lambda: (int(done.value), len(photos)), step, TemplatesFailed
    )
    if kind == "cancelled":
        raise TemplatesCancelled(str(payload))
    if kind == "failed":
        raise TemplatesFailed(str(payload))
    return np.asarray(payload, np.float32)
