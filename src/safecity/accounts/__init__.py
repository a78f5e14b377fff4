"""Accounts: users (argon2id passwords, roles, camera access), login sessions and API tokens.

There is no default user or password: the first admin is created with `safecity users create`.
"""

from safecity.accounts.passwords import MIN_PASSWORD_LENGTH, PasswordPolicyError
from safecity.accounts.users import UserExistsError

__all__ = ["MIN_PASSWORD_LENGTH", "PasswordPolicyError", "UserExistsError"]
