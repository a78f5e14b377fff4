"""`safecity transparency report` (G6, from the audit log) and `safecity audit verify` (G12)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

transparency_app = typer.Typer(help="Face matching transparency report.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Settings YAML")]


@audit_app.command("verify")
def verify(
    config: ConfigOpt = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="Verify this export file (no database)")
    ] = None,
    public_key: Annotated[Path | None, typer.Option("--public-key", help="PEM public key to trust")] = None,
) -> None:
    """Check the chain against its key and witness: exit 1 naming each modification, deletion,
    re-insertion, reordering or truncation (read-only: never migrates or writes)."""
    from safecity.governance.audit_cli import verify as verify_audit

    verify_audit(config, export, public_key)


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{name}: not an ISO 8601 date/time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@transparency_app.command("report")
def report(
    config: ConfigOpt = None,
    since: Annotated[
        str | None, typer.Option(help="Start (ISO 8601; default: 30 days before --until)")
    ] = None,
    until: Annotated[str | None, typer.Option(help="End (ISO 8601; default: now)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or html")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: stdout)")
    ] = None,
) -> None:
    """Authorizations, deployments, faces processed (a count), matches, confirmed and false, deletions."""
    from safecity.biometrics.transparency import build_report, render_html
    from safecity.cli_settings import settings_from_option
    from safecity.governance.audit_witness import install
    from safecity.store import make_engine
    from safecity.store.migrate import upgrade

    if fmt not in ("json", "html"):
        raise typer.BadParameter("--format is json or html")
    settings = settings_from_option(config)
    end = _when(until, "--until") or datetime.now(UTC)
    start = _when(since, "--since") or end - timedelta(days=30)
    url = settings.storage.resolved_database_url
    upgrade(url)
    sealer = install(url, settings.audit, settings.storage.data_dir, follow=False)  # chain checked with key
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            data = build_report(conn, start, end, settings.biometrics)
    finally:
        engine.dispose()
        sealer.close()
    text = json.dumps(data, indent=2) if fmt == "json" else render_html(data)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n")
        chain = "verified" if data["audit_chain"]["ok"] else "BROKEN"
        typer.echo(f"{output}: transparency report ({fmt}), audit chain {chain}")
    if not data["audit_chain"]["ok"]:
        raise typer.Exit(1)
