"""What part of the registry a user may see. Every scoped lookup goes through :func:`can_see`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select

from disburse.auth.models import User
from disburse.extensions import db
from disburse.reference.models import District, Province
from disburse.registry.codes import UNIT_CODE
from disburse.registry.models import Employer, unit_by_code


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


def unit_scope(employer: Employer) -> Scope:
    """The scope a unit's records belong to: the unit, its district and that district's province."""
    province = db.session.scalar(select(District.province_code).where(District.code == employer.district_code))
    return Scope([employer.id], [employer.district_code], [province] if province else [])


def visible_unit(user: User, unit_code: str) -> Employer | None:
    """The unit with ``unit_code`` if ``user`` may see it; None for an unknown unit and one outside the user's scope
    alike (callers answer both with the same 404). A code the registry cannot hold (:mod:`disburse.registry.codes`)
    is no unit at all (never a query)."""
    if not UNIT_CODE.fullmatch(unit_code):
        return None
    employer = unit_by_code(unit_code)
    if employer is None or not can_see(user, unit_scope(employer)):
        return None
    return employer


@dataclass(frozen=True)
class ScopeNames:
    """What a user's scope is called, for their account page: their unit, district and province (None where the
    role has none; a supervisor without a province and an admin see the whole country)."""

    employer: Employer | None
    district: District | None
    province: Province | None


def scope_names(user: User) -> ScopeNames:
    return ScopeNames(
        db.session.get(Employer, user.employer_id) if user.employer_id else None,
        db.session.get(District, user.district_code) if user.district_code else None,
        db.session.get(Province, user.province_code) if user.province_code else None,
    )
