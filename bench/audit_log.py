"""Audit log benchmark: what keying and witnessing cost, and how fast `verify` runs.

Appends N entries (one transaction each, as the API does) to a fresh SQLite store, unkeyed and then with
the Ed25519 key and witness installed; times the witness catching up and `verify` against the witness.

    .venv/bin/python bench/audit_log.py [--entries 5000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from safecity.governance import audit
from safecity.governance.audit_config import AuditConfig
from safecity.governance.audit_witness import install
from safecity.store import make_engine, upgrade


def _append(url: str, n: int) -> float:
    engine = make_engine(url)
    started = time.perf_counter()
    for i in range(n):
        with engine.begin() as conn:
            audit.append(conn, "bench", "bench.act", f"thing:{i}", {"i": i, "note": "x" * 80})
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--database-url", default=None, help="default: SQLite files in a temp dir")
    args = parser.parse_args()
    n = args.entries
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        plain = args.database_url or f"sqlite:///{root / 'plain.db'}"
        keyed = args.database_url or f"sqlite:///{root / 'keyed.db'}"
        upgrade(plain)
        t_plain = _append(plain, n)
        if keyed != plain:
            upgrade(keyed)
        sealer = install(keyed, AuditConfig(), root, follow=False)
        t_keyed = _append(keyed, n)
        started = time.perf_counter()
        witnessed = sealer.sync()
        t_sync = time.perf_counter() - started
        engine = make_engine(keyed)
        started = time.perf_counter()
        with engine.connect() as conn:
            result = audit.verify(conn)
        t_verify = time.perf_counter() - started
        engine.dispose()
        sealer.close()
        size = sealer.witness.path.stat().st_size
    print(f"entries: {n} (one transaction each, {plain.split(':', 1)[0]})")
    print(f"append unkeyed: {n / t_plain:8.0f} entries/s ({1e6 * t_plain / n:6.0f} us each)")
    print(f"append keyed:   {n / t_keyed:8.0f} entries/s ({1e6 * t_keyed / n:6.0f} us each)")
    each = 1e6 * t_sync / max(witnessed, 1)
    print(f"witness sync:   {witnessed} entries in {t_sync:.2f} s ({each:.0f} us each)")
    print(f"witness file:   {size / max(witnessed, 1):.0f} bytes per entry")
    rate = result.checked / t_verify
    print(f"verify:         {result.checked} entries in {t_verify:.2f} s ({rate:.0f}/s), ok={result.ok}")


if __name__ == "__main__":
    main()
