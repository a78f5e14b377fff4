"""Fixtures of the biometrics tests: a migrated database (SQLite file, or a fresh PostgreSQL schema), ORM
sessions, and the installed face models (CI installs them: there a missing model is a failure)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from safecity.store import make_engine
from safecity.store.migrate import upgrade
from safecity.vision.faces import CenterFaceDetector, FaceEmbedder
from support.biometrics_fixtures import installed_face_model_paths, pg_unreachable


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bio.db'}"
    upgrade(url)
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    reason = pg_unreachable()
    if reason is not None:
        pytest.skip(reason)
    import psycopg

    schema = f"bio_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        host="127.0.0.1", port=5432, dbname="test", user="postgres", autocommit=True
    ) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            url = f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
            upgrade(url)
            yield url
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    e = make_engine(sqlite_url)
    yield e
    e.dispose()


@pytest.fixture
def sessions(engine: Engine) -> Callable[[], Session]:
    return lambda: Session(engine, expire_on_commit=False)


@pytest.fixture
def db(sessions: Callable[[], Session]) -> Iterator[Session]:
    with sessions() as s:
        yield s


@pytest.fixture(scope="session")
def face_models() -> tuple[CenterFaceDetector, FaceEmbedder]:
    """The installed CenterFace + dlib models (`safecity models install`)."""
    paths = installed_face_model_paths()
    return CenterFaceDetector(paths[0], threads=2), FaceEmbedder(paths[1], paths[2])


@pytest.fixture(scope="session")
def faces_dir(shared_data: Path) -> Path:
    return shared_data / "faces"
