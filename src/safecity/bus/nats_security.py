"""TLS and credentials of a NATS connection, from `bus:` settings; secrets read from files when asked.

`*_file` settings keep secrets out of the settings file (a mounted secret, mode 0600); a file that cannot
be read is an error naming the setting.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from safecity.bus.config import BusConfig


class SecretFileError(ValueError):
    pass


def read_secret(path: Path, setting: str) -> str:
    """The first line of a secret file (a trailing newline is not part of the secret)."""
    try:
        return path.expanduser().read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, UnicodeError, IndexError) as exc:
        raise SecretFileError(f"{setting}: cannot read a secret from {path}: {exc}") from exc


def _ssl_context(cfg: BusConfig) -> ssl.SSLContext | None:
    if cfg.tls is None:
        return None
    tls = cfg.tls
    context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = tls.verify_hostname
    if tls.cert_file is not None:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    return context


def connect_options(cfg: BusConfig) -> dict[str, Any]:
    """Keyword arguments of `nats.connect` for TLS and authentication (empty for a plain, open server)."""
    options: dict[str, Any] = {}
    context = _ssl_context(cfg)
    if context is not None:
        options["tls"] = context
        options["tls_hostname"] = None
    if cfg.user:
        options["user"] = cfg.user
        if cfg.password_file is not None:
            options["password"] = read_secret(cfg.password_file, "bus.password_file")
        elif cfg.password is not None:
            options["password"] = cfg.password
    if cfg.token_file is not None:
        options["token"] = read_secret(cfg.token_file, "bus.token_file")
    if cfg.creds_file is not None:
        if not cfg.creds_file.is_file():
            raise SecretFileError(f"bus.creds_file: no such file {cfg.creds_file}")
        options["user_credentials"] = str(cfg.creds_file)
    return options
