"""`safecity retention run [--dry-run] -c FILE`: the purge on demand (the app also runs it on a schedule)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

retention_app = typer.Typer(
    help="Retention: delete what the settings no longer allow keeping.", no_args_is_help=True
)


@retention_app.command("run")
def retention_run(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Settings YAML")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be deleted; delete nothing")
    ] = False,
) -> None:
    """Purge each data class by age and disk budget (never an evidence-locked item); audited."""
    from safecity.config import ConfigError, Settings, load_settings
    from safecity.governance.audit_witness import install
    from safecity.governance.retention import Retention
    from safecity.governance.retention_privacy import PrivacyRetention, stores_for
    from safecity.media.config import build_storage
    from safecity.plates.retention import PlateRetention
    from safecity.sitetime import site_text
    from safecity.store import make_engine, upgrade

    try:
        settings = load_settings(config) if config is not None else Settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    url = settings.storage.resolved_database_url
    upgrade(url)
    sealer = install(url, settings.audit, settings.storage.data_dir, follow=False)
    engine = make_engine(url)
    try:
        storage = build_storage(settings.media, settings.storage.resolved_media_dir)
        privacy = PrivacyRetention(engine, settings.retention, stores_for(settings, storage))
        steps = {**privacy.steps(), **PlateRetention(engine, storage, settings.plates).steps()}
        report = Retention(engine, storage, settings.retention, extra_steps=steps).run(
            dry_run=dry_run, actor=f"cli:{getpass.getuser()}"
        )
    finally:
        engine.dispose()
        sealer.close()  # witnesses what this run appended
    typer.echo(
        ("dry run: nothing deleted" if dry_run else "retention run (audited)")
        + f" at {site_text(report.at, settings.site.timezone)}"
    )
    for line in report.lines():
        typer.echo(f"  {line}")
    if any(r.error for r in report.classes.values()):
        raise typer.Exit(1)
