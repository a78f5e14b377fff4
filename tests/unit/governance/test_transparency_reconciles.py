"""The transparency report counts what the audit log holds: every figure is recounted here from the log
itself (tried before: "Unblurred views 0" while the log held unblurred media and recording views)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from safecity.biometrics.transparency import build_report, render_html
from safecity.governance import audit
from support.api_harness import TEST_PASSWORD, ApiHarness

# listed here, independently of the report's own table: what a person seeing an unblurred face writes
UNBLURRED_VIEW_ACTIONS = {
    "media.view_unredacted",
    "recording.view",
    "biometrics.match.view",
    "media.unblurred_view",
}


def test_every_figure_is_recounted_from_the_log(tmp_path: Path) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    with ApiHarness.start(tmp_path) as h:
        investigator = h.bearer("investigator")
        viewer = h.bearer("viewer")
        h.node.media.put("clips/cam1/2026-12-04/a.mp4", b"not redacted")  # a clip with no redacted record
        for _ in range(2):
            assert (
                h.client.get("/api/media/clips/cam1/2026-12-04/a.mp4", headers=investigator).status_code
                == 200
            )
        with h.node.engine.begin() as conn:  # as the recordings router writes each playback
            for i in range(4):
                audit.append(conn, "inv", "recording.view", f"segment:{i}", {"camera_id": "cam1"})
        new_user = {"username": "x1", "password": TEST_PASSWORD, "roles": ["viewer"]}
        assert h.client.post("/api/users", json=new_user, headers=viewer).status_code == 403
        with h.node.engine.connect() as conn:
            until = datetime.now(UTC) + timedelta(minutes=1)
            report = build_report(conn, start, until, h.node.settings.biometrics)
            rows = conn.execute(sa.select(audit.LOG.c.action).where(audit.LOG.c.at >= start))
            held = Counter(r.action for r in rows)
    assert report["audit_chain"]["ok"], report["audit_chain"]
    # two requests of one file within a viewing are one audited view (api/viewing.py)
    assert held["media.view_unredacted"] == 1 and held["recording.view"] == 4
    assert report["unblurred_views"] == sum(held[a] for a in UNBLURRED_VIEW_ACTIONS) == 5
    assert report["access_refused"] == held["access.refused"] == 1
    assert report["entries_by_action"] == dict(held)
    for figure, actions in report["sources"].items():
        if figure == "privileged_changes":
            for family in actions:
                expected = sum(n for a, n in held.items() if a.startswith(family))
                assert report[figure][family.rstrip(".")] == expected, family
            continue
        value = report["deletions"][figure] if figure in report["deletions"] else report[figure]
        assert value == sum(held[a] for a in actions), figure
    assert report["privileged_changes"]["user"] == held["user.create"] == 2  # the two harness users
    assert ">5<" in render_html(report)
