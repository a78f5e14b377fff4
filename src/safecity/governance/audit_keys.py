"""The audit log's signing key and the registry that lets `audit.append` find it.

The key is an Ed25519 private key in a PEM file named in settings (`audit.key_file`), created with mode
0600 at first start and never logged or stored in the database. Its public key is what an auditor needs
to check entries and witness records (`safecity audit export` ships it). Someone with every right on the
database but not this file cannot produce a valid entry or witness record.

`audit.append(conn, ...)` takes no key argument (its many callers hold only a connection), so the
composition root registers a `Signer` per database URL (`register`), and `append` looks it up by the
connection's URL.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.engine import URL

from safecity.store.engine import normalize_url

log = logging.getLogger(__name__)
ALGORITHM = "ed25519"


class AuditKeyError(RuntimeError):
    """The key file is missing, unreadable or not an Ed25519 key (the message names the file)."""


def create_key(path: Path) -> Ed25519PrivateKey:
    """Write a new private key to `path` with mode 0600 (never overwrites an existing file)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Written whole to a private temp file, then hard-linked into place: the link fails if another node
    # created the key first, and nobody can ever read a half-written key (an O_EXCL file is visible empty).
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        os.link(tmp, path)
    finally:
        os.unlink(tmp)
    log.info("audit: created signing key file %s (public key %s)", path, fingerprint(key.public_key()))
    return key


def load_key(path: Path) -> Ed25519PrivateKey:
    """Read the private key (read-only: never creates it)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"audit.key_file {path}: {exc.strerror or exc}") from exc
    if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("audit: key file %s is readable by others; chmod 600 it", path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise AuditKeyError(f"audit.key_file {path}: not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"audit.key_file {path}: not an Ed25519 key")
    return key


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        try:
            return create_key(path)
        except FileExistsError:  # another process (API node, worker) created it first
            pass
    return load_key(path)


def public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def public_from_hex(value: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(value))


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def fingerprint(key: Ed25519PublicKey) -> str:
    """A short name for a public key (SHA-256 of its raw bytes, first 16 hex digits)."""
    return hashlib.sha256(bytes.fromhex(public_hex(key))).hexdigest()[:16]


def valid(public: Ed25519PublicKey, signature: str | None, message: bytes) -> bool:
    if not signature:
        return False
    try:
        public.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


class Signer:
    """Signs entry hashes for one database. The witness (audit_witness.Sealer) extends it: it is told of
    each append and each purge, and holds the witness records `verify` compares the chain with."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key, self.public = key, key.public_key()

    def sign(self, message: bytes) -> str:
        return self.key.sign(message).hex()

    def appended(self) -> None:
        """An entry was appended (not yet committed)."""

    def purged(self, first: int, through: int, anchor: str, removed: int) -> None:
        """Entries `first`..`through` are being removed by the retention path."""

    def witness_records(self) -> list[dict[str, Any]] | None:
        return None


_lock = threading.Lock()
_signers: dict[str, list[Signer]] = {}  # per database: the latest registered signs (several apps may share)


def url_key(url: str | URL) -> str:
    return normalize_url(url).render_as_string(hide_password=False)


def register(url: str | URL, signer: Signer) -> None:
    with _lock:
        _signers.setdefault(url_key(url), []).append(signer)


def unregister(url: str | URL, signer: Signer) -> None:
    with _lock:
        stack = _signers.get(url_key(url), [])
        if signer in stack:
            stack.remove(signer)


def signer_for(url: URL) -> Signer | None:
    stack = _signers.get(url_key(url))
    return stack[-1] if stack else None
