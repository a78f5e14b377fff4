"""Anomalies: an hour whose level is far from its usual value for that weekday and hour.

Baseline (per series key: camera + zone / line / label / direction): the values of the same local
weekday and hour in the previous `weeks` weeks, counting only hours in which the camera was observed
(it produced any event; the occupancy sampler's heartbeat makes quiet hours real zeros, while hours of a
dark camera are gaps, not zeros). Robust score:

    z = (x - median) / max(1.4826 * MAD, sqrt(max(median, 1)))

(the sqrt floor is the Poisson spread of a count, so a flat history of zeros does not turn one passer-by
into an infinite score). An hour is anomalous when |z| >= threshold, |x - median| >= min_delta, at least
`min_history` past hours exist and max(x, median) >= min_count.

Raised as `anomaly` events on the bus (kind `EventKind.ANOMALY`; direction "above"/"below", count the
observed level, score z, start/end the hour, a deterministic id so a re-run does not duplicate it). The
store keeps them and the operations `AlertEngine` turns them into alerts through the "Unusual activity"
rule that `ensure_anomaly_rule` adds next to the operations defaults.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
from sqlalchemy.orm import Session

from safecity.analytics.config import AnomalyConfig, Metric
from safecity.analytics.privacy import suppress
from safecity.analytics.queries import METRICS, Scope, bucket_expr, fetch
from safecity.analytics.results import Anomaly, Key

if TYPE_CHECKING:  # safecity.types imports supervision: not needed to query
    from safecity.types import Event

MAD_SCALE = 1.4826
ANOMALY = "anomaly"  # EventKind.ANOMALY
_NAMESPACE = uuid.UUID("6f1d1a52-6a47-4f0e-9d55-2b7f0c1c9a11")


def history_window(hour: datetime, cfg: AnomalyConfig) -> tuple[datetime, datetime]:
    """The [since, until) a connection must hold to judge `hour`."""
    return hour - timedelta(weeks=cfg.weeks), hour + timedelta(hours=1)


SLOT = "_slot"


def _take_slot(con: duckdb.DuckDBPyConnection, hour: datetime, scope: Scope) -> None:
    """Copy the rows of the judged local weekday and hour (this week and the `weeks` before) into the
    temp table SLOT, once for every metric: ~1/168 of the history, read from the rollup when aligned."""
    view = "rollup" if scope.aligned else "events"
    local_hour = hour.astimezone(_zone(scope.timezone))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {SLOT} AS SELECT * FROM {view} WHERE start_ts >= ? AND start_ts < ? "
        f"AND isodow({scope.local()}) = ? AND hour({scope.local()}) = ?",
        [scope.since.astimezone(UTC), scope.until.astimezone(UTC), local_hour.isoweekday(), local_hour.hour],
    )


def _filled_sql(keys: tuple[str, ...], value: str, where: str, bucket: str) -> str:
    """Per key and observed hour of SLOT: the value, 0 when the camera was observed but the key had none."""
    on = " AND ".join(f"v.{k} IS NOT DISTINCT FROM k.{k}" for k in keys)
    return (
        f"WITH obs AS (SELECT DISTINCT camera_id, {bucket} AS h FROM {SLOT}), "
        f"vals AS (SELECT {', '.join(keys)}, {bucket} AS h, {value} AS v FROM {SLOT} "
        f"WHERE {where} GROUP BY ALL), "
        f"ks AS (SELECT DISTINCT {', '.join(keys)} FROM vals) "
        f"SELECT {', '.join('k.' + k for k in keys)}, o.h, coalesce(v.v, 0) AS v "
        "FROM ks k JOIN obs o ON o.camera_id = k.camera_id "
        f"LEFT JOIN vals v ON {on} AND v.h = o.h ORDER BY o.h"
    )


def _rows(con: duckdb.DuckDBPyConnection, metric: Metric, scope: Scope) -> list[tuple[Any, ...]]:
    m = METRICS[metric]
    where, params = scope.where(m)
    _, value = m.source(scope)
    return fetch(con, _filled_sql(m.keys, value, where, bucket_expr(scope, "hour")), params)


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def robust_score(x: float, history: Sequence[float]) -> tuple[float, float, float]:
    """(z, median, MAD) of `x` against `history` (see the module docstring)."""
    values = np.asarray(history, dtype=np.float64)
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med)))
    spread = max(MAD_SCALE * mad, float(np.sqrt(max(med, 1.0))))
    return (x - med) / spread, med, mad


def detect(
    con: duckdb.DuckDBPyConnection,
    metrics: Sequence[Metric],
    hour: datetime,
    cfg: AnomalyConfig,
    scope: Scope,
) -> list[Anomaly]:
    """Anomalies of `metrics` in the hour starting at `hour` (the connection holds `history_window`)."""
    since, until = history_window(hour, cfg)
    s = Scope(
        **{**{f: getattr(scope, f) for f in scope.__dataclass_fields__}, "since": since, "until": until}
    )
    _take_slot(con, hour, s)
    return [a for metric in metrics for a in _judge(con, metric, hour, cfg, s)]


def _judge(
    con: duckdb.DuckDBPyConnection, metric: Metric, hour: datetime, cfg: AnomalyConfig, s: Scope
) -> list[Anomaly]:
    m = METRICS[metric]
    series: dict[tuple[Any, ...], dict[float, float]] = {}
    for row in _rows(con, metric, s):
        series.setdefault(tuple(row[: len(m.keys)]), {})[float(row[-2])] = float(row[-1])
    target = hour.timestamp()
    out = []
    for key, values in series.items():
        if target not in values:
            continue  # the camera was not observed in that hour
        x = values[target]
        history = [v for h, v in values.items() if h < target]
        if len(history) < cfg.min_history:
            continue
        z, med, mad = robust_score(x, history)
        if abs(z) < cfg.threshold or abs(x - med) < cfg.min_delta or max(x, med) < s.min_count:
            continue
        out.append(
            Anomaly(
                metric=metric,
                key=Key(**dict(zip(m.keys, key, strict=True))),
                hour=hour,
                observed=suppress(x, s.min_count),
                median=med,
                mad=mad,
                score=round(z, 2),
                history=len(history),
                direction="above" if z > 0 else "below",
            )
        )
    return out


def to_event(a: Anomaly) -> Event:
    """The bus event of an anomaly; the same anomaly always gets the same id."""
    from safecity.types import Event, EventKind

    key = a.key
    ident = "|".join(
        str(v)
        for v in (
            a.metric,
            key.camera_id,
            key.zone_id,
            key.line_id,
            key.label,
            key.direction,
            a.hour.isoformat(),
        )
    )
    return Event(
        id=uuid.uuid5(_NAMESPACE, ident).hex,
        camera_id=key.camera_id,
        kind=EventKind.ANOMALY,
        start=a.hour.astimezone(UTC),
        end=a.hour.astimezone(UTC) + timedelta(hours=1),
        label=key.label,
        line_id=key.line_id,
        zone_id=key.zone_id,
        direction=a.direction,
        count=a.observed,
        score=a.score,
    )


def anomaly_rule() -> Any:
    """The operations alert rule that turns anomaly events into alerts (an `AlertRuleSeed`)."""
    from safecity.operations.config import AlertRuleSeed
    from safecity.operations.domain import Severity

    return AlertRuleSeed(
        name="Unusual activity", event_kinds=(ANOMALY,), severity=Severity.MEDIUM,
        cooldown_s=3600, dedup_by=("camera_id", "zone_id", "line_id", "direction"),
    )  # fmt: skip


def ensure_anomaly_rule(db: Session, defaults: Sequence[Any] | None = None) -> bool:
    """Add the "Unusual activity" rule when no rule of that name exists; True when it was added.

    Seeds the operations defaults first when the rules table is empty (`ensure_default_rules` does
    nothing otherwise), so adding this rule never stops the defaults from being seeded. The caller
    commits."""
    from safecity.operations import alerts as ops
    from safecity.operations.domain import Actor
    from safecity.operations.rules import DEFAULT_RULES

    ops.ensure_default_rules(db, DEFAULT_RULES if defaults is None else defaults)
    seed = anomaly_rule()
    if any(row.name == seed.name for row in ops.list_rules(db)):
        return False
    ops.create_rule(db, seed, Actor.system("analytics"))
    return True
