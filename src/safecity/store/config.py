"""Settings of event durability (`durability:`): the outbox, the publish journal, the event-id log."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class DurabilityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outbox: Path | None = Field(
        None, description="SQLite file of events not yet stored (default: data_dir/outbox.db)"
    )
    journal: bool = Field(
        True,
        description="In-process bus: write each event to the outbox (fsync'd) before it is queued, "
        "so a killed process loses none; off trades that for one fsync less per event",
    )
    retry_s: float = Field(2.0, gt=0, le=300, description="How often held events are retried")
    event_log: Path | None = Field(
        None, description="Append every published event id to this file, one per line (fault tests)"
    )
