"""Privacy of analytics outputs: aggregates only, small counts suppressed.

Two rules every result of this package goes through before it leaves:

1. `suppress(n, k)`: a count below `k` (`analytics.min_count`), zero included, is published as None
   ("fewer than k"). Zero is suppressed too: otherwise "0 here, suppressed there" would show where a
   lone person went on a heatmap. Statistics over individual values (dwell or response time percentiles)
   are published only when at least `k` values stand behind them.
2. `check_columns(names)`: no per-person column (track id, snapshot, positions) may appear in a result;
   `ForbiddenColumn` otherwise. Queries select aggregates by construction; this guard catches a
   query edited later into leaking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

FORBIDDEN = frozenset(
    {"track_id", "tracker_id", "snapshot", "id", "event_id", "xyxy", "x", "y", "position", "trajectory"}
)


class ForbiddenColumn(RuntimeError):
    """A per-person column was about to leave the analytics layer."""


def suppress(n: float | int | None, k: int) -> int | None:
    """`n` as an int when it is at least `k`, else None."""
    if n is None or n < k:
        return None
    return int(n)


def suppress_all(values: Iterable[float | int | None], k: int) -> list[int | None]:
    return [suppress(v, k) for v in values]


def enough(n: int, k: int) -> bool:
    """Whether `n` individual values may be summarised (percentiles, means)."""
    return n >= k


def check_columns(names: Sequence[str]) -> None:
    bad = sorted(set(names) & FORBIDDEN)
    if bad:
        raise ForbiddenColumn(f"per-person column(s) {', '.join(bad)} must not leave the analytics layer")
