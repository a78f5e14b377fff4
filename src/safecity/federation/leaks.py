"""The leak scan: search what a national site holds (its database, its JetStream storage, its logs) for
anything that must never leave a city: face templates, watchlist and entry names, authorization
references, match crop keys. The needles come from the city's own database; a finding names the
needle's kind and where it was found, never the needle itself (the report must not be a leak either).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from safecity.biometrics.models import AuthorizationRow, EntryRow, MatchRow, WatchlistRow
from safecity.plates.models import HotlistEntryRow, HotlistRow, PlateHitRow

MIN_TEXT = 6  # shorter strings match too much by chance to be evidence


@dataclass
class Needles:
    items: list[tuple[str, bytes]] = field(default_factory=list)  # (kind, bytes to look for)

    def add_text(self, kind: str, value: str | None) -> None:
        if value and len(value) >= MIN_TEXT:
            self.items.append((kind, value.encode()))

    def add_blob(self, kind: str, value: bytes | None) -> None:
        if value:
            self.items += [(kind, value), (kind, base64.b64encode(value)), (kind, value.hex().encode())]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # e.g. "face template", "watchlist name"
    where: str  # "database table fed_alerts", "file <path>"


def city_secrets(engine: Engine) -> Needles:
    """What must stay in the city, read from the city's own database."""
    n = Needles()
    with Session(engine) as db:
        for w in db.scalars(select(WatchlistRow)):
            n.add_text("watchlist name", w.name)
        for e in db.scalars(select(EntryRow)):
            n.add_text("watchlist entry label", e.label)
            n.add_text("watchlist entry source", e.source)
            n.add_blob("face template", e.template)
        for a in db.scalars(select(AuthorizationRow)):
            n.add_text("authorization reference", a.reference)
        for m in db.scalars(select(MatchRow)):
            n.add_text("match crop key", m.crop_key)
        for h in db.scalars(select(HotlistRow)):
            n.add_text("hotlist name", h.name)
        for p in db.scalars(select(HotlistEntryRow)):
            n.add_text("hotlist plate", p.plate)
        for hit in db.scalars(select(PlateHitRow)):
            n.add_text("plate hit crop key", hit.crop_key)
    return n


def _search(data: bytes, needles: Needles, where: str) -> Iterator[Finding]:
    for kind, needle in needles.items:
        if needle in data:
            yield Finding(kind, where)


def scan_database(engine: Engine, needles: Needles) -> list[Finding]:
    """Every row of every table, each value as text (bytes as they are)."""
    meta = MetaData()
    meta.reflect(engine)
    found: list[Finding] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            chunks = []
            for row in conn.execute(select(table)):
                for value in row:
                    chunks.append(value if isinstance(value, bytes) else str(value).encode())
            found += _search(b"\x00".join(chunks), needles, f"database table {table.name}")
    return sorted(set(found), key=lambda f: (f.where, f.kind))


def scan_files(paths: Iterable[Path], needles: Needles) -> list[Finding]:
    """Every file under `paths` (a JetStream store directory, log files), read as bytes."""
    found: set[Finding] = set()
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            found.update(_search(f.read_bytes(), needles, f"file {f}"))
    return sorted(found, key=lambda f: (f.where, f.kind))
