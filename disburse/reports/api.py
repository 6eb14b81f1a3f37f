"""The reports' JSON API (mounted under /api/v1 by :mod:`disburse.api`).

GET /employers/<unit_code>/progress: one unit's progress, from the rollups. The same scope as the unit's pages and
forms: employers their own unit, caseworkers the units of their district, supervisors of their province (or all),
admins all; a unit outside the caller's scope answers as an unknown one, 404.

GET /progress?province=&district=: an area's progress and its child areas', from the rollups, with where the
eligible not yet paid are (the dashboards' figures, in payment also split into bank transfer and cash at the office),
and the area's claims not paid by the programme's end (the dashboards' backlog figure, as the last backlog sweep
counted it). Without parameters, the caller's own area (a caseworker's district, a provincial supervisor's province,
the country for national supervisors and admins); an area outside the caller's scope answers as an unknown one, 404.
Employers use their unit's progress instead (403).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from flask import Blueprint, abort, current_app, jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user
from pydantic import BeforeValidator, Field, StringConstraints

from disburse.api.errors import api_error, message
from disburse.api.schemas import Msg, ProgramCode, QueryModel, ResponseModel, endpoint
from disburse.auth.models import ROLES
from disburse.auth.permissions import roles_required
from disburse.auth.scopes import visible_unit
from disburse.programs.service import ProgramNotFound, get_program
from disburse.reference.service import area_code
from disburse.replica import reads_replica
from disburse.reports.service import area_progress, employer_progress, unpaid_at_end, visible_area

bp = Blueprint("reports", __name__)


class ProgramQuery(QueryModel):
    program: ProgramCode


class AreaQuery(QueryModel):
    province: Annotated[
        Annotated[str, BeforeValidator(partial(area_code, width=2)), StringConstraints(pattern=r"^[0-9]{2}$")] | None,
        Field(default=None, description="A province code (2 digits; 01 = Hà Nội)."),
        Msg("Mã tỉnh gồm đúng 2 chữ số (01 = Hà Nội).", "A province code has 2 digits (01 = Hà Nội)."),
    ]
    district: Annotated[
        Annotated[str, BeforeValidator(partial(area_code, width=3)), StringConstraints(pattern=r"^[0-9]{3}$")] | None,
        Field(default=None, description="A district code (3 digits; 017 = Đông Anh)."),
        Msg("Mã quận/huyện gồm đúng 3 chữ số (017 = Đông Anh).", "A district code has 3 digits (017 = Đông Anh)."),
    ]
    program: ProgramCode


#: Every completion percentage is rounded down, never to the nearest: 99.996 % paid is not 100.
PERCENT_PAID = (
    "paid / eligible × 100, rounded down to two decimals (100 only when all are paid); null while nobody is eligible."
)


class UnitProgress(ResponseModel):
    unit_code: str
    program: str
    listed: int = Field(description="Every claim of the unit (its Form 01 list and the people added on Form 03).")
    eligible: int = Field(description="Leaves out rejected, declined and removed.")
    paid: int
    paid_amount_vnd: int
    percent_paid: float | None = Field(description=PERCENT_PAID)
    by_state: dict[str, int] = Field(description="Claims per state, every state named.")


# Where the eligible not yet paid are, as the supervisors' dashboards show them (the same figures, by the same rule:
# disburse.reports.service.NOT_YET_PAID): unpaid in all, and its parts, which add up to it with needs_review.
Unpaid = Annotated[
    int,
    Field(
        description="Eligible and not paid (eligible − paid) = checking + needs_review + approved + payment_pending "
        "+ payment_failed + awaiting_details."
    ),
]
Checking = Annotated[
    int,
    Field(
        description="Waiting for the unit's Form 02, or being checked (listed, employer_confirmed, employer_overdue, "
        "applied, verifying)."
    ),
]
NeedsReview = Annotated[int, Field(description="Needing a caseworker's review (part of unpaid).")]
Approved = Annotated[int, Field(description="Approved, not yet sent to be paid.")]
PaymentPending = Annotated[
    int,
    Field(
        description="In payment: sent to a bank, or on an office's cash list, and not settled yet "
        "(= payment_pending_bank + payment_pending_cash)."
    ),
]
PaymentPendingAmount = Annotated[
    int,
    Field(
        description="The VND of the claims in payment "
        "(= payment_pending_bank_amount_vnd + payment_pending_cash_amount_vnd)."
    ),
]
PaymentPendingBank = Annotated[
    int, Field(description="In payment by bank transfer: sent to a bank, no result yet (part of payment_pending).")
]
PaymentPendingBankAmount = Annotated[int, Field(description="The VND of the claims in payment by bank transfer.")]
PaymentPendingCash = Annotated[
    int,
    Field(
        description="In payment in cash at the office: on a district office's cash list, not collected yet (part of "
        "payment_pending)."
    ),
]
PaymentPendingCashAmount = Annotated[int, Field(description="The VND of the claims on the offices' cash lists.")]
PaymentFailed = Annotated[int, Field(description="The last payment failed or was returned.")]
AwaitingDetails = Annotated[int, Field(description="Awaiting payment details (awaiting_payment_details).")]


class Figures(ResponseModel):
    """An area's figures: what was paid, and where the eligible not yet paid are (the dashboards' figures)."""

    eligible: int
    paid: int
    percent_paid: float | None = Field(description=PERCENT_PAID)
    paid_amount_vnd: int
    needs_review: NeedsReview
    unpaid: Unpaid
    checking: Checking
    approved: Approved
    payment_pending: PaymentPending
    payment_pending_amount_vnd: PaymentPendingAmount
    payment_pending_bank: PaymentPendingBank
    payment_pending_bank_amount_vnd: PaymentPendingBankAmount
    payment_pending_cash: PaymentPendingCash
    payment_pending_cash_amount_vnd: PaymentPendingCashAmount
    payment_failed: PaymentFailed
    awaiting_details: AwaitingDetails


class AreaFigures(Figures):
    code: str
    paid_since: int | None = Field(
        description="How many more were paid than at the last count of a day before today (the daily snapshots; "
        "the day is since_last_count.day), negative when payments came back; null when the area was not counted "
        "that day, or nothing was counted before today."
    )


class SinceLastCount(ResponseModel):
    """What changed since the area's last count of a day before today (the programme's): the dashboard's "So với số
    liệu ngày …" line."""

    day: str = Field(description="ISO date: the programme day of the count compared with.")
    taken_at: str = Field(description="ISO 8601 timestamp: when that count was taken (the day's last hourly count).")
    paid: int = Field(description="Paid now minus paid then; negative when payments came back.")
    paid_amount_vnd: int = Field(description="The VND paid now minus then.")


class Reduction(ResponseModel):
    employers: int
    employees: int = Field(description="Per unit, the most participants in any month of the reduction, summed.")
    amount_vnd: int


class UnpaidAtEnd(ResponseModel):
    """The area's claims not paid by the programme's last payable day and still open after it: each owes the person
    a written answer (the close-out sends those that were waiting to be paid to a caseworker, reason
    payment_period_ended). Counted by the backlog sweep every few minutes, as the dashboards' backlog page shows
    them; zero until the day has passed."""

    claims: int
    amount_vnd: int
    by_state: dict[str, int] = Field(description="Claims per state, the states that have such claims only.")
    last_payable_day: str = Field(description="ISO date: the extension's end, else the payment deadline.")
    computed_at: str | None = Field(description="ISO 8601 timestamp of the sweep; null before the first one.")
    as_of: str | None = Field(description="ISO date: the programme day the sweep counted on; null before the first.")


class AreaProgress(Figures):
    program: str
    level: str = Field(description="country, province or district.")
    province: str | None
    district: str | None
    unpaid_at_end: UnpaidAtEnd
    since_last_count: SinceLastCount | None = Field(
        description="Null before the first count of a day before today (the programme's first day, or beat not "
        "running)."
    )
    reduction: Reduction
    areas: list[AreaFigures] = Field(description="The child areas: the country's provinces, a province's districts.")


@bp.get("/employers/<unit_code>/progress")
@roles_required(*ROLES)
@reads_replica
@endpoint(
    tag="Progress",
    summary="One unit's completion, from the rollups",
    query=ProgramQuery,
    response=UnitProgress,
    errors={404: "Unknown unit, or outside the caller's scope (the same answer); program_not_found."},
)
def unit_progress(unit_code: str, query: ProgramQuery) -> ResponseReturnValue:
    code = query.program or current_app.config["DISBURSE_PROGRAM"]
    employer = visible_unit(current_user, unit_code)
    if employer is None:
        abort(404)
    try:
        program = get_program(code)
    except ProgramNotFound:
        text = message(f"Không có chương trình mã '{code}'.", f"There is no program with code '{code}'.")
        return api_error(404, "program_not_found", text, {"program": text})
    return jsonify(
        {"unit_code": employer.unit_code, "program": program.code, **employer_progress(program.id, employer.id)}
    )


@bp.get("/progress")
@roles_required("caseworker", "supervisor", "admin")
@reads_replica
@endpoint(
    tag="Progress",
    summary="An area's completion and its employers' contribution reduction, with each child area's figures",
    query=AreaQuery,
    response=AreaProgress,
    errors={
        403: "Employers (their unit's progress is /employers/{unit_code}/progress).",
        404: "Unknown area, or outside the caller's scope (the same answer); program_not_found.",
    },
)
def progress(query: AreaQuery) -> ResponseReturnValue:
    code = query.program or current_app.config["DISBURSE_PROGRAM"]
    area = visible_area(current_user, query.province, query.district)
    if area is None:
        abort(404)
    try:
        program = get_program(code)
    except ProgramNotFound:
        text = message(f"Không có chương trình mã '{code}'.", f"There is no program with code '{code}'.")
        return api_error(404, "program_not_found", text, {"program": text})
    at_end = unpaid_at_end(program.id, area)
    return jsonify(
        {
            "program": program.code,
            "level": area.level,
            "province": area.province_code,
            "district": area.district_code,
            **area_progress(program.id, area),
            "unpaid_at_end": {
                **at_end,
                "last_payable_day": program.last_payable_day.isoformat(),
                "computed_at": at_end["computed_at"].isoformat() if at_end["computed_at"] else None,
                "as_of": at_end["as_of"].isoformat() if at_end["as_of"] else None,
            },
        }
    )
