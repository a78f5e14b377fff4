"""Second factor: TOTP (RFC 6238, pyotp) with hashed one-time recovery codes; every step audited.

Enrolment: a new base32 secret is stored (not yet active) and shown once, as an `otpauth://` URI and its
QR code (segno, pure Python, an SVG data URI); the first valid code confirms it and returns ten recovery
codes, kept only as argon2id hashes. A code is accepted within one 30 s step either side (clock drift),
and never twice: the last accepted step is stored, so a code seen over a shoulder cannot be replayed.
A recovery code works once. Each step writes to the hash-chained audit log (governance.audit) in the
caller's transaction. Functions take an explicit ORM session; callers commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safecity.accounts.models import RecoveryCodeRow, UserRow

RECOVERY_CODES = 10
VALID_WINDOW = 1  # steps either side of now
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)  # OWASP's argon2id minimum


def audit(db: Session, actor: str, action: str, user: UserRow, **details: object) -> None:
    from safecity.governance import audit as chain  # the data center's hash-chained log

    chain.append(db.connection(), actor, action, f"user:{user.id}", {"username": user.username, **details})


def enabled(user: UserRow) -> bool:
    return user.totp_secret is not None and user.totp_enabled_at is not None


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    uri: str
    qr_svg: str  # data:image/svg+xml URI of the QR code of `uri`


def start_enrolment(db: Session, user: UserRow, issuer: str) -> Enrolment:
    """A new (inactive) secret for `user`, replacing any earlier unconfirmed one."""
    if enabled(user):
        raise ValueError("two-factor authentication is already set up; an administrator can reset it")
    secret = pyotp.random_base32()
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, None, None
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    audit(db, user.username, "auth.2fa.enrol_started", user)
    db.flush()
    return Enrolment(secret, uri, qr)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in range(step - VALID_WINDOW, step + VALID_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def check_code(db: Session, user: UserRow, code: str, now: datetime | None = None) -> bool:
    """True (and the step recorded) for a valid, unused code of the user's secret."""
    if user.totp_secret is None:
        return False
    step = _matching_step(user.totp_secret, code, now or datetime.now(UTC))
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    db.flush()
    return True


def confirm_enrolment(db: Session, user: UserRow, code: str) -> list[str] | None:
    """Activate the pending secret with its first code; the new recovery codes (shown once), or None."""
    if enabled(user) or not check_code(db, user, code):
        audit(db, user.username, "auth.2fa.enrol_failed", user)
        return None
    user.totp_enabled_at = datetime.now(UTC)
    codes = new_recovery_codes(db, user)
    audit(db, user.username, "auth.2fa.enabled", user, recovery_codes=len(codes))
    return codes


def new_recovery_codes(db: Session, user: UserRow) -> list[str]:
    db.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    now = datetime.now(UTC)
    for code in codes:
        db.add(RecoveryCodeRow(user_id=user.id, code_hash=_hasher.hash(code), created_at=now))
    db.flush()
    return codes


def use_recovery_code(db: Session, user: UserRow, code: str) -> bool:
    """True when `code` is one of the user's unused recovery codes (it is then used up)."""
    code = code.strip().lower()
    rows = db.scalars(
        select(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user.id, RecoveryCodeRow.used_at.is_(None))
    )
    for row in rows:
        try:
            _hasher.verify(row.code_hash, code)
        except (VerificationError, InvalidHashError):
            continue
        row.used_at = datetime.now(UTC)
        db.flush()
        return True
    return False


def remaining_recovery_codes(db: Session, user: UserRow) -> int:
    stmt = select(RecoveryCodeRow).where(
        RecoveryCodeRow.user_id == user.id, RecoveryCodeRow.used_at.is_(None)
    )
    return len(list(db.scalars(stmt)))


def reset(db: Session, user: UserRow, actor: str) -> None:
    """Remove the user's second factor (lost phone): they enrol again at their next login."""
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = None, None, None
    db.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user.id))
    audit(db, actor, "auth.2fa.reset", user)
    db.flush()
