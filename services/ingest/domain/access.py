"""Who may do what: a user's role, narrowed by the scopes of the key they call with."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class Scope(StrEnum):
    READ = "read"  # GETs and search
    WRITE = "write"  # jobs, runs, uploads, projects, schemas, own keys
    ADMIN = "admin"  # users, other users' keys, tenant settings


_GRANTS: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.MEMBER: frozenset({Scope.READ, Scope.WRITE}),
    Role.VIEWER: frozenset({Scope.READ}),
}


def allowed(role: Role, key_scopes: Collection[str], needed: Scope) -> bool:
    """A key without scopes carries its user's full role; with scopes, only those."""
    if needed not in _GRANTS[role]:
        return False
    return not key_scopes or needed.value in key_scopes
