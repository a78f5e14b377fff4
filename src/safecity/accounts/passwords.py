"""Password hashing (argon2id via argon2-cffi) and the password policy.

`verify_password` on an unknown user still runs one argon2 verification against a dummy hash, so a login
for a name that does not exist takes as long as one with a wrong password (no user enumeration by timing).
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes anything, but an attacker's megabyte need not be hashed

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)


class PasswordPolicyError(ValueError):
    """A password that the policy refuses; the message says why."""


def check_password_policy(password: str, username: str | None = None) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"password must have at most {MAX_PASSWORD_LENGTH} characters")
    if username and password.strip().lower() == username.lower():
        raise PasswordPolicyError("password must not be the username")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("safecity dummy password for unknown users")


def warm_up() -> None:
    """Compute the dummy hash now, so the first login of an unknown user is not slower than others."""
    _dummy_hash()


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with `password_hash=None` burns the same time and returns False."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    target = password_hash if password_hash is not None else _dummy_hash()
    try:
        ok = _hasher.verify(target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
