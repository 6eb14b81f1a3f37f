"""What the home page shows each role: what needs them today.

- Employers: their unit's completion, its open deadlines (Form 02, Form 03) and the office's requests for
  information addressed to it.
- Caseworkers: their district's review queue (claims that need a caseworker, and those whose unit did not return
  Form 02 in time, which verification sends there), and the claims with bank details the person sent, waiting for
  a caseworker's call.
- Supervisors, admins and visitors: every programme's completion (admins also a link to their pages).

Everything comes from the rollups and the unit's own claims; nothing here writes.

Offices find a unit from the home page by its code or a part of its name (:func:`find_units`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal_column, or_, select, true

from disburse.auth.models import User
from disburse.claims.person_details import open_offers_count
from disburse.claims.states import ClaimState
from disburse.claims.unit import Deadline, InformationRequest, information_requests, name_contains, unit_deadlines
from disburse.extensions import db
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program
from disburse.programs.service import ProgramNotFound, get_program
from disburse.reference.models import District, Province
from disburse.registry.models import Employer
from disburse.reports.dashboard import overdue_units
from disburse.reports.service import (
    Area,
    district_cash_waiting,
    district_count,
    employer_progress,
    program_progress,
)


@dataclass(frozen=True)
class UnitToday:
    program: Program
    employer: Employer
    progress: dict[str, Any]
    deadlines: list[Deadline]
    #: The office's open requests for information addressed to the unit (newest first), and how many in all.
    requests: list[InformationRequest]
    requests_total: int
    today: date


@dataclass(frozen=True)
class QueueToday:
    program: Program
    district: District
    needs_review: int
    #: Units past their Form 02 deadline with people still unconfirmed.
    overdue_units: int
    #: Claims with bank details the person sent on the public page, not yet used nor dismissed.
    offered: int
    #: Claims waiting for new bank details after a failed payment (the unit's Form 03, the person, a caseworker).
    awaiting_details: int
    #: People on the office's cash list, not yet paid at the counter.
    cash_waiting: int


def _program(code: str) -> Program | None:
    try:
        return get_program(code)
    except ProgramNotFound:
        return None


def unit_today(user: User, program_code: str) -> UnitToday | None:
    program = _program(program_code)
    employer = db.session.get(Employer, user.employer_id) if user.employer_id else None
    if program is None or employer is None:
        return None
    today = programme_today()
    requests, requests_total = information_requests(program, employer)
    return UnitToday(
        program,
        employer,
        employer_progress(program.id, employer.id),
        unit_deadlines(program, employer, today),
        requests,
        requests_total,
        today,
    )


def queue_today(user: User, program_code: str) -> QueueToday | None:
    program = _program(program_code)
    district = db.session.get(District, user.district_code) if user.district_code else None
    if program is None or district is None:
        return None
    return QueueToday(
        program,
        district,
        district_count(program.id, district.code, ClaimState.NEEDS_REVIEW),
        overdue_units(program.id, Area(district.province_code, district.code), programme_today(), limit=0)[1],
        open_offers_count(program.id, district.code),
        district_count(program.id, district.code, ClaimState.AWAITING_PAYMENT_DETAILS),
        district_cash_waiting(program.id, district.code),
    )


def programmes_today(
    current_code: str | None = None, province_code: str | None = None
) -> tuple[list[Program], dict[int, dict[str, Any]]]:
    """Every programme with its completion (of one province's people with ``province_code``): the current one
    (``DISBURSE_PROGRAM``) first, then those with people listed, then the empty ones (a programme set up but not
    started, or one closed and cleared), each group oldest first."""
    programs = list(db.session.scalars(select(Program).order_by(Program.id)))
    progress = {program.id: program_progress(program.id, province_code) for program in programs}
    programs.sort(key=lambda program: (program.code != current_code, not progress[program.id]["claims"]))
    return programs, progress


def home_for(user: User | None, program_code: str) -> dict[str, Any]:
    """The home page's content for ``user`` (None when signed out)."""
    role = user.role if user is not None else None
    if user is not None and role == "employer":
        return {"unit": unit_today(user, program_code)}
    if user is not None and role == "caseworker":
        return {"queue": queue_today(user, program_code)}
    # A province's supervisor reads their province's figures; everyone else the country's. The page names which.
    province = user.province_code if user is not None and role == "supervisor" else None
    programs, progress = programmes_today(program_code, province)
    place = db.session.get(Province, province) if province else None
    content: dict[str, Any] = {"programs": programs, "progress": progress, "area_name": place.name if place else None}
    if role == "admin":  # admins run the programme from their pages
        content["admin_home"] = True
    return content


# ------------------------------------------------------------------------------------------------ unit look-up

#: The units a look-up lists at most (how many matched in all is said): a longer list is read by nobody.
UNITS_LISTED = 20
#: Matches counted at most: past it the page says "more than" (counting every unit of the country whose name has
#: "công ty" would read most of the registry for a figure nobody needs exactly).
MATCHES_COUNTED = 1000


@dataclass(frozen=True)
class UnitMatch:
    unit_code: str
    name: str
    district: str


@dataclass(frozen=True)
class UnitMatches:
    rows: list[UnitMatch]
    #: How many matched, up to :data:`MATCHES_COUNTED`; ``more``: more than that.
    total: int
    more: bool


def _units_in_scope(user: User) -> ColumnElement[bool]:
    """:func:`~disburse.auth.scopes.can_see` over :func:`~disburse.auth.scopes.unit_scope` as a condition on
    ``employers``, for lists (as :func:`disburse.verification.review.scope_clause` is on claims)."""
    if user.role == "admin" or (user.role == "supervisor" and user.province_code is None):
        return true()
    if user.role == "supervisor":
        return Employer.district_code.in_(select(District.code).where(District.province_code == user.province_code))
    if user.role == "caseworker" and user.district_code is not None:
        return Employer.district_code == user.district_code
    if user.role == "employer" and user.employer_id is not None:
        return Employer.id == user.employer_id
    return false()


#: A unit's code and name, folded (no diacritics, lower case): what a look-up's words are first looked for in, at
#: once, by the trigram index this expression may have (see :func:`find_units`).
CODE_AND_NAME = func.disburse_unaccent(Employer.unit_code.op("||")(literal_column("' '")).op("||")(Employer.name))


def find_units(user: User, typed: str, limit: int = UNITS_LISTED) -> UnitMatches:
    """The units within ``user``'s scope whose code contains ``typed`` in any case, or whose name contains it in any
    case, with or without diacritics, however spaced (:func:`disburse.claims.unit.name_contains`, the registry's name
    search): the first ``limit`` by code, and how many matched. Each word typed is first looked for, in its order, in
    :data:`CODE_AND_NAME` (a condition a GIN trigram index on that expression answers without reading the registry;
    it lets through more than the exact rule, which then decides)."""
    typed = " ".join(typed.split())
    words = [word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for word in typed.split()]
    matching = and_(
        _units_in_scope(user),
        CODE_AND_NAME.like(func.disburse_unaccent("%" + "%".join(words) + "%")),
        or_(
            func.upper(Employer.unit_code).contains(typed.upper(), autoescape=True), name_contains(Employer.name, typed)
        ),
    )
    counted = select(literal_column("1")).select_from(Employer).where(matching).limit(MATCHES_COUNTED + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(counted)) or 0
    # The first units, then their districts' names: a join under the look-up's condition (whose share of the
    # registry the planner cannot guess) was planned as a loop over every district for every unit matched.
    first = (
        select(Employer.unit_code, Employer.name, Employer.district_code)
        .where(matching)
        .order_by(Employer.unit_code)
        .limit(limit)
        .subquery()
    )
    rows = db.session.execute(
        select(first.c.unit_code, first.c.name, District.name.label("district"))
        .join(District, District.code == first.c.district_code)
        .order_by(first.c.unit_code)
    ).all()
    found = [UnitMatch(row.unit_code, row.name, row.district) for row in rows]
    return UnitMatches(found, min(total, MATCHES_COUNTED), total > MATCHES_COUNTED)
