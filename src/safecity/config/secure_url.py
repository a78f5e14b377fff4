"""The database URL with the `storage.database_*` TLS settings and the password file merged in."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url


def with_tls_and_password(url: str, password_file: Path | None, tls: Mapping[str, object]) -> str:
    """`url` plus the TLS parameters (sslmode, sslrootcert, sslcert, sslkey; None: not set) and the
    password read from `password_file` (PostgreSQL only; a setting given for another database is an
    error naming it)."""
    given = {k: str(v) for k, v in tls.items() if v is not None}
    if not given and password_file is None:
        return url
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        names = [f"storage.database_{k}" for k in given] + (
            ["storage.database_password_file"] if password_file else []
        )
        raise ValueError(f"{', '.join(names)}: only for a postgresql:// database_url")
    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, UnicodeError, IndexError) as exc:
            raise ValueError(f"storage.database_password_file: cannot read {password_file}") from exc
        parsed = parsed.set(password=password)
    return parsed.update_query_dict(given).render_as_string(hide_password=False)
