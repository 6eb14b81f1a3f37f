"""What the home page shows each role: what needs them today.

- Employers: their unit's completion, its open deadlines (Form 02, Form 03) and the office's requests for
  information addressed to it.
- Caseworkers: their district's review queue (claims that need a caseworker, and those whose unit did not return
  Form 02 in time, which verification sends there), and the claims with bank details the person sent, waiting for
  a caseworker's call.
- Supervisors, admins and visitors: every programme's completion (admins also a link to their pages).

Everything comes from the rollups and the unit's own claims; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from disburse.auth.models import User
from disburse.claims.person_details import open_offers_count
from disburse.claims.states import ClaimState
from disburse.claims.unit import Deadline, InformationRequest, information_requests, unit_deadlines
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
