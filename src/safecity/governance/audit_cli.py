"""`safecity audit verify` and `safecity audit export` (the audit log's commands; registered in cli.py).

`verify` is strictly read-only: it opens the database read-only, reads the key file and the witness,
and never migrates or creates anything. It exits 1 naming every kind of tampering it found.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from safecity.cli_settings import ConfigOpt, settings_from_option

ExportOpt = Annotated[
    Path | None, typer.Option("--export", help="Verify this export file instead (no database needed)")
]
PublicKeyOpt = Annotated[
    Path | None, typer.Option("--public-key", help="PEM public key to trust (default: from the key file)")
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"audit verify: {message}", err=True)
    return typer.Exit(2)


def _public(path: Path | None, settings: Any) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from safecity.governance.audit_keys import AuditKeyError
    from safecity.governance.audit_witness import public_key_of

    if path is not None:
        try:
            return load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise _fail(f"--public-key {path}: {exc}") from exc
    if settings is None:
        return None
    try:
        return public_key_of(settings.audit, settings.storage.data_dir)
    except AuditKeyError as exc:
        raise _fail(str(exc)) from exc


def verify(config: ConfigOpt = None, export: ExportOpt = None, public_key: PublicKeyOpt = None) -> None:
    """Check the chain against the key and the witness: exit 1 naming each modification, deletion,
    re-insertion, reordering or truncation found (read-only: never migrates or writes)."""
    from safecity.governance.audit_export import verify_export

    if export is not None:
        result = verify_export(export.read_text().splitlines(), _public(public_key, None))
    else:
        result = _verify_database(settings_from_option(config), public_key)
    typer.echo(str(result))
    if not result.ok:
        raise typer.Exit(1)


def _verify_database(settings: Any, public_key: Path | None) -> Any:
    from safecity.governance.audit_export import AuditAccessError, read_only_engine, require_current
    from safecity.governance.audit_verify import check
    from safecity.governance.audit_witness import witness_records

    try:
        engine = read_only_engine(settings.storage.resolved_database_url)
    except AuditAccessError as exc:
        raise _fail(str(exc)) from exc
    try:
        with engine.connect() as conn:
            require_current(conn)
            public = _public(public_key, settings)
            records = witness_records(settings.audit, settings.storage.data_dir)
            return check(conn, public, records)
    except AuditAccessError as exc:
        raise _fail(str(exc)) from exc
    finally:
        engine.dispose()


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{name}: not an ISO 8601 date/time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def export(
    config: ConfigOpt = None,
    since: Annotated[str | None, typer.Option(help="Start (ISO 8601; default: the beginning)")] = None,
    until: Annotated[str | None, typer.Option(help="End, exclusive (ISO 8601; default: now)")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: stdout)")
    ] = None,
    case: Annotated[
        int | None,
        typer.Option("--case", help="A watchlist id: its EU AI Act Art. 12(3) record, as one JSON document"),
    ] = None,
) -> None:
    """JSON lines: a header with the public key, the entries of the period, the witness records; an
    auditor checks it with `safecity audit verify --export FILE` and no database rights (read-only)."""
    from safecity.governance.audit_export import (
        AuditAccessError,
        export_lines,
        read_only_engine,
        require_current,
    )
    from safecity.governance.audit_witness import witness_records

    settings = settings_from_option(config)
    public = _public(None, settings)
    records = witness_records(settings.audit, settings.storage.data_dir)
    start = _when(since, "--since") or datetime(1970, 1, 1, tzinfo=UTC)
    end = _when(until, "--until") or datetime.now(UTC)
    try:
        engine = read_only_engine(settings.storage.resolved_database_url)
        with engine.connect() as conn:
            require_current(conn)
            if case is not None:
                lines = [_case(conn, case, public, records)]
            else:
                lines = list(export_lines(conn, public, records, start, end))
        engine.dispose()
    except (AuditAccessError, LookupError) as exc:
        raise _fail(str(exc)) from exc
    text = "\n".join(lines) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"{output}: {len(lines)} lines")


def _case(conn: Any, watchlist_id: int, public: Any, records: list[dict[str, Any]]) -> str:
    import json

    from safecity.biometrics.art12 import case_document
    from safecity.governance.audit_keys import fingerprint
    from safecity.governance.audit_verify import check

    result = check(conn, public, records)
    verified = {
        "ok": result.ok,
        "entries": result.checked,
        "problem": result.problem,
        "key": fingerprint(public),
    }
    return json.dumps(case_document(conn, watchlist_id, verified), indent=2, ensure_ascii=False)
