"""Builders for the biometrics tests (tests/unit/biometrics, tests/integration/test_faces_*): people,
templates, an authorization, a reviewed watchlist, PostgreSQL reachability. Not used by the product."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from safecity.biometrics.authorizations import AuthorizationInput, create_authorization
from safecity.biometrics.common import Actor
from safecity.biometrics.config import BiometricsConfig
from safecity.biometrics.models import AuthorizationRow, WatchlistRow
from safecity.biometrics.watchlists import EntryInput, add_entries, create_watchlist, review_watchlist

PG = {"host": "127.0.0.1", "port": 5432, "dbname": "test", "user": "postgres"}
ALICE, BOB, CAROL = Actor(1, "alice"), Actor(2, "bob"), Actor(3, "carol")
CLERK = Actor(4, "clerk")  # records authorizations; separation of duties keeps them from using them
REVIEWER = frozenset({"biometrics:review"})
CONFIG = BiometricsConfig()


def pg_unreachable() -> str | None:
    """Why PostgreSQL at 127.0.0.1:5432/test cannot be used, or None."""
    try:
        import psycopg

        psycopg.connect(
            host="127.0.0.1", port=5432, dbname="test", user="postgres", connect_timeout=3
        ).close()
    except Exception as exc:
        return f"PostgreSQL at 127.0.0.1:5432/test unreachable: {exc}"
    return None


def now() -> datetime:
    return datetime.now(UTC)


def template(seed: int, noise_of: np.ndarray | None = None, noise: float = 0.05) -> np.ndarray:
    """A dlib-like template (norm 1); with `noise_of`, a near copy of that one (the same person)."""
    rng = np.random.default_rng(seed)
    if noise_of is not None:
        return np.asarray(noise_of + rng.normal(0, noise / np.sqrt(128), 128), np.float32)
    t = rng.normal(0, 1, 128)
    return np.asarray(t / np.linalg.norm(t), np.float32)


def authorization(
    db: Session,
    cameras: list[str],
    hours: float = 24,
    purpose: str = "victim_or_missing_person",
    reference: str = "RG 123/2025",
    by: Actor = CLERK,
    since: timedelta = timedelta(minutes=1),
) -> AuthorizationRow:
    """An authorization recorded by `by`, covering `cameras` from `since` ago for `hours`."""
    data = AuthorizationInput(
        issuer="Court of Rome, GIP",
        reference=reference,
        purpose=purpose,
        cameras=cameras,
        starts_at=now() - since,
        ends_at=now() + timedelta(hours=hours),
    )
    return create_authorization(db, data, by, CONFIG)


def entry(label: str = "missing child M.R.", days: int = 30, registry: str | None = None) -> EntryInput:
    return EntryInput(
        label,
        "report 2025/77, Carabinieri Roma",
        "art. 5(1)(h)(i) AI Act; GIP order",
        now() + timedelta(days=days),
        registry,
    )


def reviewed_watchlist(
    db: Session, cameras: list[str], templates: list[np.ndarray], config: BiometricsConfig = CONFIG
) -> WatchlistRow:
    """A draft watchlist with entries, changed by alice and reviewed by bob: ready to activate."""
    row = create_watchlist(db, f"list-{uuid.uuid4().hex[:6]}", "", cameras, ALICE, config)
    for i, t in enumerate(templates):
        add_entries(db, row.id, [(entry(f"person {i}"), t)], ALICE, config)
    review_watchlist(db, row.id, "sources checked", BOB)
    return row


def installed_face_model_paths() -> list[Path]:
    """CenterFace, dlib's 5-point predictor and dlib's ResNet from the model cache of `safecity models
    install`; a missing model fails the test under CI and skips it elsewhere."""
    import os

    import pytest

    from safecity.vision.faces_models import CENTERFACE, DLIB_RESNET, SHAPE_PREDICTOR_5, face_model_path
    from safecity.vision.models import ModelNotInstalledError, default_cache_dir

    try:
        return [face_model_path(default_cache_dir(), s) for s in (CENTERFACE, SHAPE_PREDICTOR_5, DLIB_RESNET)]
    except ModelNotInstalledError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
