"""What an API token may do: a subset of its owner's permissions, optionally read-only.

A token acts for its owner, but narrower:
- `scopes` lists the permissions it may use; each must be one its owner holds when it is created, and at
  each request it gets the intersection with what the owner holds then (a demoted owner demotes the token);
- without `scopes` it gets the owner's permissions except the ones a token may only have when scoped for
  them explicitly (`users:manage`: a stolen general-purpose token must not create an admin);
- `read-only` (a pseudo-scope) limits it to GET/HEAD/OPTIONS;
- a token never mints another token (enforced by the tokens router): a child would survive revoking its
  parent, so only a signed-in person creates tokens.
Pure functions: no I/O, no FastAPI.
"""

from __future__ import annotations

from collections.abc import Iterable

READ_ONLY = "read-only"
ONLY_WHEN_SCOPED = frozenset({"users:manage"})


class ScopeError(ValueError):
    """A requested scope is unknown or exceeds the owner's permissions."""


def validate_scopes(
    requested: Iterable[str] | None, owner_permissions: frozenset[str], known: Iterable[str]
) -> list[str] | None:
    """The scopes to store for a new token (sorted, deduplicated), or None for an unscoped one."""
    if requested is None:
        return None
    wanted = set(requested)
    unknown = wanted - set(known) - {READ_ONLY}
    if unknown:
        raise ScopeError(f"unknown scope(s): {', '.join(sorted(unknown))}")
    beyond = wanted - owner_permissions - {READ_ONLY}
    if beyond:
        raise ScopeError(f"scope(s) beyond your own permissions: {', '.join(sorted(beyond))}")
    return sorted(wanted)


def token_permissions(owner_permissions: frozenset[str], scopes: list[str] | None) -> frozenset[str]:
    """The permissions a token holds now, given its owner's current ones."""
    if scopes is None:
        return owner_permissions - ONLY_WHEN_SCOPED
    explicit = set(scopes) - {READ_ONLY}
    if not explicit:  # only "read-only": everything the owner may read
        return owner_permissions - ONLY_WHEN_SCOPED
    return owner_permissions & frozenset(explicit)


def is_read_only(scopes: list[str] | None) -> bool:
    return scopes is not None and READ_ONLY in scopes
