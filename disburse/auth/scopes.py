"""What part of the registry a user may see. Every scoped lookup goes through :func:`can_see`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from disburse.auth.models import User


@dataclass(frozen=True)
class Scope:
    """Every unit (employer id), district and province a record legitimately belongs to."""

    employer_ids: Collection[int]
    district_codes: Collection[str]
    province_codes: Collection[str]


def can_see(user: User, scope: Scope) -> bool:
    """Admins and national supervisors see everything; others only their province, district or unit."""
    if user.role == "admin":
        return True
    if user.role == "supervisor":
        return user.province_code is None or user.province_code in scope.province_codes
    if user.role == "caseworker":
        return user.district_code is not None and user.district_code in scope.district_codes
    if user.role == "employer":
        return user.employer_id is not None and user.employer_id in scope.employer_ids
    return False
