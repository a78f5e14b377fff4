"""Times for people: shown in the site's zone (`site.timezone`) with the zone's label, never as bare UTC.

The UI does the same in the browser (web/src/format.ts). Machine formats (JSON, exports, the audit log)
stay ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def site_text(t: datetime, zone: str) -> str:
    """`2026-12-04 18:05:09 CET`: the time in `zone`, with the zone's abbreviation (or offset)."""
    local = (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone))
    label = local.tzname() or zone
    if label[:1] in "+-":  # a zone without an abbreviation: its offset, written as the browser does
        offset = local.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        hours, rest = divmod(abs(minutes), 60)
        label = f"GMT{'-' if minutes < 0 else '+'}{hours}" + (f":{rest:02d}" if rest else "")
    return f"{local:%Y-%m-%d %H:%M:%S} {label}"


def parse_site_time(value: str, zone: str) -> datetime:
    """ISO 8601; without an offset it is a wall-clock time of `zone`. ValueError if it is not ISO 8601."""
    t = datetime.fromisoformat(value)
    return (t if t.tzinfo else t.replace(tzinfo=ZoneInfo(zone))).astimezone(UTC)
