"""The `backup:` section (kept free of `safecity.config` imports: config/models.py imports this)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class BackupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    extra_paths: tuple[Path, ...] = Field(
        (),
        description="Files or folders copied with every backup and put back by restore "
        "(e.g. the audit log's witness); names must be unique",
    )
    pg_bin_dir: Path | None = Field(
        None, description="Folder of pg_dump / pg_restore (default: PATH, then /usr/lib/postgresql/*/bin)"
    )
