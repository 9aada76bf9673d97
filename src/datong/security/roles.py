"""Roles, and the separation of duties that GB/T 39477 asks of a government data platform.

The three privileged roles (system administrator, security administrator, auditor: 三员) are
held by three different people, so that nobody can both act and cover their tracks.
"""

from __future__ import annotations

from enum import StrEnum
from itertools import combinations

from datong.i18n import N_


class Role(StrEnum):
    BUREAU_ADMIN = "bureau_admin"
    DEPT_ADMIN = "dept_admin"
    DATA_STEWARD = "data_steward"
    CLERK = "clerk"
    AUDITOR = "auditor"
    SYSTEM_ADMIN = "system_admin"
    SECURITY_ADMIN = "security_admin"


ROLE_LABELS = {
    Role.BUREAU_ADMIN: N_("Data bureau administrator"),
    Role.DEPT_ADMIN: N_("Department administrator"),
    Role.DATA_STEWARD: N_("Data steward"),
    Role.CLERK: N_("Window clerk"),
    Role.AUDITOR: N_("Security auditor"),
    Role.SYSTEM_ADMIN: N_("System administrator"),
    Role.SECURITY_ADMIN: N_("Security administrator"),
}

#: The 三员: no user may hold two of these.
SEPARATED = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})

#: Roles that only a security administrator may grant.
PRIVILEGED = SEPARATED | {Role.BUREAU_ADMIN}


def separation_conflicts(roles: set[Role]) -> list[tuple[Role, Role]]:
    """Pairs of roles in ``roles`` that one person must not hold together."""
    held = sorted(roles & SEPARATED)
    return list(combinations(held, 2))
