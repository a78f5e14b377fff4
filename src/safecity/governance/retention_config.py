"""The `retention:` section (kept apart from `retention.py` so that loading settings stays light).

```yaml
retention:
  interval_s: 3600                          # the scheduled purge inside the app
  recordings: {days: 30, disk_budget_gb: 500}
  clips: {days: 90}
  snapshots: {days: 30, disk_budget_gb: 20}
  events: {days: 365}
  alerts: {days: 365}                       # closed alerts only
  audit: {days: null}                       # null: kept for ever (the default)
  match_crops: {days: 30}                   # face crops of face matches
  matches: {days: 180}                      # face match rows and reviews
  report_photos: {days: 90}                 # public-report photos, blurred and original
  lake: {days: 730}                         # analytics Parquet lake, per UTC day
```
Evidence locks (governance.evidence) are the only override; `safecity retention run --dry-run` prints
what a run would delete.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MediaRetention(_Strict):
    days: float | None = Field(None, gt=0, description="Delete items older than this (null: no age limit)")
    disk_budget_gb: float | None = Field(None, gt=0, description="Keep the class under this size (GiB)")


class RowRetention(_Strict):
    days: float | None = Field(None, gt=0, description="Delete rows older than this (null: keep)")


class RetentionConfig(_Strict):
    enabled: bool = Field(True, description="Run the purge on a schedule inside the app")
    interval_s: float = Field(3600.0, ge=10, description="Seconds between scheduled purges")
    batch_size: int = Field(1000, ge=1, le=100_000, description="Items deleted per batch")
    recordings: MediaRetention = MediaRetention(days=30)
    clips: MediaRetention = MediaRetention(days=90)
    snapshots: MediaRetention = MediaRetention(days=30)
    events: RowRetention = RowRetention(days=365)
    alerts: RowRetention = RowRetention(days=365)
    audit: RowRetention = RowRetention(days=None)
    # privacy-sensitive classes (governance.retention_privacy)
    match_crops: RowRetention = Field(
        RowRetention(days=30), description="Face crops of face matches (the match row stays)"
    )
    matches: RowRetention = Field(RowRetention(days=180), description="Face match rows and their reviews")
    report_photos: RowRetention = Field(
        RowRetention(days=90), description="Public-report photos (blurred copy and original)"
    )
    lake: RowRetention = Field(RowRetention(days=730), description="Analytics Parquet lake, whole UTC days")
