"""What part of the registry a user may see. Every scoped lookup goes through :func:`can_see`."""

from __future__ import annotations

from dataclasses import dataclass

from disburse.auth.models import User


@dataclass(frozen=True)
class Place:
    """Where a record sits: its unit (employer id), district and province."""

    employer_id: int | None
    district_code: str | None
    province_code: str | None


def can_see(user: User, place: Place) -> bool:
    """Admins and national supervisors see everything; others only their province, district or unit."""
    if user.role == "admin":
        return True
    if user.role == "supervisor":
        return user.province_code is None or user.province_code == place.province_code
    if user.role == "caseworker":
        return user.district_code is not None and user.district_code == place.district_code
    if user.role == "employer":
        return user.employer_id is not None and user.employer_id == place.employer_id
    return False
