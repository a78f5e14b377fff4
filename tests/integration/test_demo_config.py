"""The demo config (config/pets2009.yaml) on the PETS2009 sample: one pass of the 80 s video raises at
least one operator-visible alert (medium or above) with the demo's own zones, thresholds and default rules,
so a new operator sees alerts within the first 2 minutes of the demo; and its zone counts entries, so the
analytics' footfall (zone entries of people) is not empty.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[2]


ONE_PASS_S = 95  # the sample lasts 79.5 s


@pytest.mark.slow
@pytest.mark.models
def test_demo_config_raises_alerts_in_one_pass(tmp_path: Path, pets_video: Path, nanodet_model: Path) -> None:
    from safecity.app import build_app
    from safecity.config import load_settings
    from safecity.operations.models import AlertRow
    from safecity.store import make_engine
    from safecity.store.models import EventRow

    demo = load_settings(ROOT / "config" / "pets2009.yaml")
    # as the demo runs it: looped, so the file plays at its own speed (a file read as fast as the machine
    # can would squeeze 20 s of loitering into less wall time on a fast machine and never alert)
    cameras = [c.model_copy(update={"source": str(pets_video)}) for c in demo.cameras]
    settings = demo.model_copy(
        update={
            "storage": demo.storage.model_copy(update={"data_dir": tmp_path}),
            "models": demo.models.model_copy(update={"cache_dir": nanodet_model.parent}),
            "cameras": tuple(cameras),
            "recording": demo.recording.model_copy(update={"enabled": False}),  # alerts only, spare the CPU
        }
    )
    node = build_app(settings)
    node.start()
    try:
        time.sleep(ONE_PASS_S)  # the promise: alerts within the first 2 minutes
        assert not any(w.done for w in node.workers.values()), "the looped camera stopped"
    finally:
        node.close()
    engine = make_engine(settings.storage.resolved_database_url)
    try:
        with Session(engine) as db:
            rows = list(db.scalars(select(AlertRow)))
            entries = db.scalar(
                select(func.count()).select_from(EventRow).where(EventRow.kind == "zone_enter")
            )
    finally:
        engine.dispose()
    seen = sorted({(r.kind, r.severity) for r in rows})
    assert any(sev in ("medium", "high", "critical") for _, sev in seen), f"alerts raised: {seen}"
    assert entries and entries > 10, f"{entries} zone entries: footfall would be empty"
