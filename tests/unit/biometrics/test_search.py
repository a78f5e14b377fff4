"""G3: retrospective search only inside an authorized case, over bounded time and cameras (real faces)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy.orm import Session

from safecity.biometrics.authorizations import revoke_authorization
from safecity.biometrics.common import NotFoundError, PolicyError
from safecity.biometrics.search import SearchRequest, retrospective_search, single_face_template
from safecity.media.snapshots import encode_jpeg, snapshot_key
from safecity.media.storage import LocalMediaStorage
from safecity.store import open_store
from safecity.types import Event, EventKind
from safecity.vision.faces import CenterFaceDetector, FaceEmbedder
from support.biometrics_fixtures import ALICE, CONFIG, authorization, now

pytestmark = pytest.mark.models
Models = tuple[CenterFaceDetector, FaceEmbedder]


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None
    return np.asarray(cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2)))


@pytest.fixture
def stored(sqlite_url: str, tmp_path: Path, faces_dir: Path) -> tuple[LocalMediaStorage, dict[str, str]]:
    """Events of the last hour whose unblurred originals are kept: which event shows whom."""
    sealed = LocalMediaStorage(tmp_path / "sealed")
    store = open_store(sqlite_url)
    who = {}
    for i, (camera, name) in enumerate(
        [
            ("c1", "obama.jpg"),
            ("c1", "biden.jpg"),
            ("c2", "obama2.jpg"),
            ("c3", "obama_partial_face.jpg"),
            ("c1", "group-6-faces.jpg"),
        ]
    ):
        start = now() - timedelta(minutes=50 - i)
        event = Event(camera_id=camera, kind=EventKind.ZONE_ENTER, start=start, end=start)
        key = snapshot_key(event)
        sealed.put(f"originals/{key}", encode_jpeg(_read(faces_dir / name)))
        store.append([replace(event, snapshot=key)])
        who[event.id] = name
    store.close()
    return sealed, who


COVERS = timedelta(hours=3)  # the authorizations cover the footage searched (from 2 h ago)


def _req(auth_id: int, **kw: object) -> SearchRequest:
    base: dict[str, object] = dict(
        authorization_id=auth_id,
        cameras=["c1", "c2"],
        start=now() - timedelta(hours=2),
        end=now() - timedelta(seconds=1),
        reason="case RG 123/2025: last sightings",
    )
    return SearchRequest(**{**base, **kw})  # type: ignore[arg-type]


def test_search_inside_an_authorized_case_finds_the_person(
    db: Session, stored: tuple[LocalMediaStorage, dict[str, str]], face_models: Models, faces_dir: Path
) -> None:
    sealed, who = stored
    probe = single_face_template(_read(faces_dir / "obama3.jpg"), *face_models)
    auth = authorization(db, ["c1", "c2"], since=COVERS)
    row, hits = retrospective_search(db, _req(auth.id), probe, ALICE, CONFIG, sealed, face_models)
    assert sorted(who[h.event_id] for h in hits) == ["obama.jpg", "obama2.jpg"]  # not biden, not c3
    assert row.snapshots_scanned == 4 and row.faces_compared == 1 + 1 + 1 + 6
    assert all(h.score >= CONFIG.default_threshold for h in hits)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cameras": ["c1", "c3"]}, "does not cover camera"),
        ({"cameras": []}, "names its cameras"),
        ({"start": now() - timedelta(hours=100)}, "at most 72 h"),
        ({"end": now() + timedelta(hours=1)}, "in the past"),
        ({"reason": " "}, "reason"),
        ({"threshold": 0.3}, "below the validated minimum"),
    ],
)
def test_unbounded_or_unauthorized_searches_are_refused(
    db: Session,
    stored: tuple[LocalMediaStorage, dict[str, str]],
    face_models: Models,
    change: dict[str, object],
    message: str,
) -> None:
    auth = authorization(db, ["c1", "c2"], since=COVERS)
    with pytest.raises(PolicyError, match=message):
        retrospective_search(
            db, _req(auth.id, **change), np.zeros(128, np.float32), ALICE, CONFIG, stored[0], face_models
        )


def test_no_search_without_an_authorization_in_force(
    db: Session, stored: tuple[LocalMediaStorage, dict[str, str]], face_models: Models
) -> None:
    probe = np.zeros(128, np.float32)
    with pytest.raises(NotFoundError):
        retrospective_search(db, _req(999), probe, ALICE, CONFIG, stored[0], face_models)
    auth = authorization(db, ["c1", "c2"], since=COVERS)
    revoke_authorization(db, auth.id, "case closed", ALICE)
    with pytest.raises(PolicyError, match="revoked"):
        retrospective_search(db, _req(auth.id), probe, ALICE, CONFIG, stored[0], face_models)


def test_a_search_outside_the_authorizations_own_time_range_is_refused(
    db: Session, stored: tuple[LocalMediaStorage, dict[str, str]], face_models: Models
) -> None:
    """Attack: an authorization from today, used to search last week's (here: 2 h old) footage."""
    auth = authorization(db, ["c1", "c2"], since=timedelta(minutes=30))
    with pytest.raises(PolicyError, match="outside that time range"):
        retrospective_search(
            db, _req(auth.id), np.zeros(128, np.float32), ALICE, CONFIG, stored[0], face_models
        )
