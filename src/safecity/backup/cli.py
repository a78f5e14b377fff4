"""`safecity backup --out DIR` and `safecity restore DIR` (registered by safecity.cli)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from safecity.cli_settings import ConfigOpt, settings_from_option


def backup_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="A new (or empty) folder for the backup")],
    config: ConfigOpt = None,
) -> None:
    """Back up the database, the media store and `backup.extra_paths`, with a checksummed manifest.

    Safe while `serve` runs: the database copy is consistent (SQLite online backup / one pg_dump snapshot)."""
    from safecity.backup.core import BackupError, backup

    try:
        result = backup(settings_from_option(config), out)
    except BackupError as exc:
        typer.echo(f"safecity backup: {exc}", err=True)
        raise typer.Exit(2) from exc
    counts = ", ".join(f"{k}={v}" for k, v in sorted(result.counts.items()))
    typer.echo(f"backup written to {result.path}: {result.files} files, {result.bytes} bytes ({counts})")


def restore_command(
    folder: Annotated[Path, typer.Argument(help="A folder written by `safecity backup`")],
    config: ConfigOpt = None,
) -> None:
    """Restore a backup into the empty deployment the settings describe (checksums are checked first)."""
    from safecity.backup.core import BackupError, restore
    from safecity.sitetime import site_text

    settings = settings_from_option(config)
    try:
        manifest = restore(settings, folder)
    except BackupError as exc:
        typer.echo(f"safecity restore: {exc}", err=True)
        raise typer.Exit(2) from exc
    counts = ", ".join(f"{k}={v}" for k, v in sorted(manifest["counts"].items()))
    made = site_text(datetime.fromisoformat(manifest["created_at"]), settings.site.timezone)
    typer.echo(f"restored the backup of {made} ({counts}); run `safecity audit verify`")
