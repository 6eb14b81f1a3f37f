"""The forms' JSON API (mounted under /api/v1 by :mod:`disburse.api`):

- ``POST /employers/<unit_code>/confirmations``: Form 02, ``{"rows": [{"si_code", "bank_code", "bank_account",
  "decline"}]}`` → 200 with a result per row;
- ``POST /employers/<unit_code>/adjustments``: Form 03, ``{"rows": [{"si_code", "action": "add"|"remove"|"correct",
  …}]}`` → 200 with a result per row, 422 after the adjustment deadline;
- ``POST /applications``: Form 04 → 201 with the claim, 409 for a person who has one, 422 with every field's error.

Employers send their own unit's forms; caseworkers those of units in their district, supervisors in their province
(or anywhere), admins anywhere. A unit outside the caller's scope answers as an unknown one: 404. Form 04 is taken
at any social security office, so any caseworker, supervisor or admin may file one; employers may not (403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from flask import Blueprint, abort, current_app, jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import select

from disburse.api.errors import api_error, message
from disburse.api.schemas import (
    COMPOSED,
    ApiModel,
    Day,
    ErrorResponse,
    Msg,
    ProgramCode,
    QueryModel,
    Reason,
    ResponseModel,
    endpoint,
)
from disburse.auth.permissions import roles_required
from disburse.auth.scopes import visible_unit
from disburse.claims import applications, employer_forms
from disburse.claims.models import Claim
from disburse.claims.outcomes import FieldError, FormRefused, FormResult
from disburse.claims.support import reason_entries
from disburse.extensions import db
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program
from disburse.programs.service import ProgramNotFound, get_program
from disburse.registry.models import Employer

bp = Blueprint("forms", __name__)

#: At most this many rows in one form: a unit of 50,000 people sends its list in parts.
MAX_ROWS = 50_000
_MOST = f"{MAX_ROWS:,}"
_ROWS_MSG = Msg(
    f'Nội dung phải là JSON dạng {{"rows": [...]}} với 1 đến {_MOST.replace(",", ".")} dòng, mỗi dòng là một '
    "đối tượng.",
    f'The body must be JSON {{"rows": [...]}} with 1 to {_MOST} rows, each an object.',
)
_Text = Annotated[str | None, Field(default=None)]
#: An account number: text. A JSON number is taken here and refused on its row (``account_number_cell``: its leading
#: zeros may be lost), as a spreadsheet's number cell is, not as a 422 of the whole form.
_Account = Annotated[
    str | int | float | None,
    Field(
        default=None, description="The account number (with bank_code), as text: a JSON number is refused on its row."
    ),
]


class ProgramQuery(QueryModel):
    program: ProgramCode


class ConfirmationRow(ApiModel):
    """A Form 02 row. Its values are checked by the form, row by row (the row's errors, not a 422)."""

    si_code: Annotated[str, Field(description="The person's SI code (10 digits).")]
    bank_code: Annotated[str | None, Field(default=None, description="The bank's short code (with bank_account).")]
    bank_account: _Account
    decline: Annotated[
        bool | str | None,
        Field(default=None, description='"Không nhận hỗ trợ": true, or "x" as on the spreadsheet.'),
    ]


class AdjustmentRow(ApiModel):
    """A Form 03 row. Its values are checked by the form, row by row (the row's errors, not a 422)."""

    si_code: Annotated[str, Field(description="The person's SI code (10 digits).")]
    action: Annotated[str, Field(description="add (bổ sung), remove (không có) or correct (điều chỉnh).")]
    bank_code: _Text
    bank_account: _Account
    phone: _Text
    reason: Annotated[str | None, Field(default=None, description="remove: why the person is not at the unit.")]


class ConfirmationsBody(ApiModel):
    body_field = "rows"
    rows: Annotated[list[ConfirmationRow], Field(min_length=1, max_length=MAX_ROWS), _ROWS_MSG]


class AdjustmentsBody(ApiModel):
    body_field = "rows"
    rows: Annotated[list[AdjustmentRow], Field(min_length=1, max_length=MAX_ROWS), _ROWS_MSG]


class RowError(ResponseModel):
    field: str
    code: str
    message: str = Field(description="In the caller's language.")


class RowOutcome(ResponseModel):
    row: int = Field(description="The row's number, from 1.")
    si_code: str
    outcome: str = Field(description="confirmed, declined, added, removed, corrected, unchanged or error.")
    claim_id: int | None = Field(
        description="The person's claim on the unit's list, whatever the outcome (an error too); null when they have "
        "none there."
    )
    errors: list[RowError]


class FormResponse(ResponseModel):
    unit_code: str
    summary: dict[str, int] = Field(description="Rows per outcome.")
    rows: list[RowOutcome]


class ApplicationBody(ApiModel):
    """Form 04. The form checks each value's format and the registry; its messages come first."""

    si_code: Annotated[str, Field(description="The SI code (10 digits).")]
    national_id: Annotated[str, Field(description="CMND/CCCD: 9 or 12 digits.")]
    full_name: Annotated[str, Field(max_length=200), COMPOSED]
    date_of_birth: Annotated[Day, Field(description="The date of birth: dd/mm/yyyy or YYYY-MM-DD, not after today.")]
    phone: Annotated[
        str,
        Field(
            description="10 or 11 digits starting with 0 (a mobile, or a landline with its area code); spaces, dots, "
            "dashes and brackets between groups are dropped; +84 or 0084 before the number stands for its 0."
        ),
    ]
    address: Annotated[str, Field(max_length=500), COMPOSED]
    status: Annotated[str, Field(description="stopped (contract ended) or participating.")]
    unit_code: Annotated[
        str,
        Field(
            description="The unit code (mã đơn vị) where the contract ended, or where the person still participates: "
            "the claim's unit when the registry has it, else kept as declared."
        ),
    ]
    unused_months: Annotated[int, Field(ge=0, le=600, description="Unused UI contribution months.")]
    payout: Annotated[str, Field(description="cash (at the office) or bank (then bank_code and bank_account).")]
    bank_code: _Text
    bank_account: _Text

    @classmethod
    def more_problems(cls, raw: Any) -> dict[str, tuple[str, str]]:
        if not isinstance(raw, dict):
            return {}
        try:
            applications.validate(raw, programme_today())
        except applications.ApplicationInvalid as exc:
            problems: dict[str, tuple[str, str]] = {}
            for e in exc.errors:
                problems.setdefault(e.field or "body", (e.message_vi, e.message_en))
            return problems
        return {}


class ApplicationClaim(ResponseModel):
    id: int
    state: str
    track: str
    support_group: str
    unused_months: int
    amount_vnd: int
    payout: str
    bank_code: str | None
    bank_account: str | None
    district_code: str
    unit_code: str | None = Field(
        description="The claim's unit: the one named on the form if registered, else the person's registry unit."
    )
    reasons: list[Reason]
    applied_on: str | None
    payment_due_on: str | None


class ApplicationResponse(ResponseModel):
    claim: ApplicationClaim


class ClaimRef(BaseModel):
    id: int
    state: str


class AlreadyClaimed(ErrorResponse):
    """409: the person has a claim in this program (named), or may not apply on their own yet."""

    claim: ClaimRef | None = None


def _program(code: str | None) -> Program | ResponseReturnValue:
    code = code or current_app.config["DISBURSE_PROGRAM"]
    try:
        return get_program(code)
    except ProgramNotFound:
        text = message(f"Không có chương trình mã '{code}'.", f"There is no program with code '{code}'.")
        return api_error(404, "program_not_found", text, {"program": text})


def _unit_in_scope(unit_code: str) -> Employer:
    """The unit, or 404 for one that does not exist and for one outside the caller's scope alike."""
    employer = visible_unit(current_user, unit_code)
    if employer is None:
        abort(404)
    return employer


def _error(e: FieldError) -> dict[str, str]:
    return {"field": e.field, "code": e.code, "message": message(e.message_vi, e.message_en)}


def _form_response(result: FormResult, claims: list[int | None]) -> ResponseReturnValue:
    """Every row with the person's claim on the unit's list (``claim_id``, :func:`employer_forms.row_claims`)
    whatever its outcome, ``null`` for a person without one there."""
    return jsonify(
        {
            "unit_code": result.unit_code,
            "summary": result.as_dict()["summary"],
            "rows": [
                {
                    "row": r.row,
                    "si_code": r.si_code,
                    "outcome": r.outcome,
                    "claim_id": claim_id,
                    "errors": [_error(e) for e in r.errors],
                }
                for r, claim_id in zip(result.rows, claims, strict=True)
            ],
        }
    )


def _refused(exc: FormRefused) -> ResponseReturnValue:
    return api_error(exc.status, exc.code, message(exc.message_vi, exc.message_en))


def _take_form(unit_code: str, form: Callable[..., FormResult], program_code: str | None, rows: list[Any]) -> Any:
    program = _program(program_code)
    if not isinstance(program, Program):
        return program
    employer = _unit_in_scope(unit_code)
    rows = [row.model_dump(exclude_none=True) for row in rows]
    try:
        result = form(program, employer.unit_code, rows, actor=current_user)
    except FormRefused as exc:
        db.session.rollback()
        return _refused(exc)
    claims = employer_forms.row_claims(program, employer, result)
    db.session.commit()
    return _form_response(result, claims)


_UNIT_404 = "Unknown unit, or outside the caller's scope (the same answer); program_not_found."


@bp.post("/employers/<unit_code>/confirmations")
@roles_required("employer", "caseworker", "supervisor", "admin")
@endpoint(
    tag="Forms",
    summary="Form 02: the unit confirms its list (bank details per person, or declines)",
    query=ProgramQuery,
    body=ConfirmationsBody,
    response=FormResponse,
    errors={404: _UNIT_404},
)
def confirmations(unit_code: str, query: ProgramQuery, body: ConfirmationsBody) -> ResponseReturnValue:
    return _take_form(unit_code, employer_forms.confirm, query.program, body.rows)


@bp.post("/employers/<unit_code>/adjustments")
@roles_required("employer", "caseworker", "supervisor", "admin")
@endpoint(
    tag="Forms",
    summary="Form 03: the unit adds, removes or corrects people",
    query=ProgramQuery,
    body=AdjustmentsBody,
    response=FormResponse,
    errors={404: _UNIT_404, 422: "Also deadline_passed: the adjustment deadline is past (the date is named)."},
)
def adjustments(unit_code: str, query: ProgramQuery, body: AdjustmentsBody) -> ResponseReturnValue:
    return _take_form(unit_code, employer_forms.adjust, query.program, body.rows)


def claim_json(claim: Claim) -> dict[str, Any]:
    return {
        "id": claim.id,
        "state": claim.state,
        "track": claim.track,
        "support_group": claim.support_group,
        "unused_months": claim.unused_months,
        "amount_vnd": claim.amount_vnd,
        "payout": claim.payout,
        "bank_code": claim.bank_code,
        "bank_account": claim.bank_account,
        "district_code": claim.district_code,
        "unit_code": db.session.scalar(select(Employer.unit_code).where(Employer.id == claim.employer_id))
        if claim.employer_id is not None
        else None,
        "reasons": reason_entries(list(claim.reasons or ())),  # codes with their labels, as the other claim answers
        "applied_on": claim.applied_on.isoformat() if claim.applied_on else None,
        "payment_due_on": claim.payment_due_on.isoformat() if claim.payment_due_on else None,
    }


@bp.post("/applications")
@roles_required("caseworker", "supervisor", "admin")
@endpoint(
    tag="Forms",
    summary="Form 04: a person's own application, taken at a social security office",
    query=ProgramQuery,
    body=ApplicationBody,
    response=ApplicationResponse,
    status=201,
    errors={
        403: "Employers may not file applications.",
        404: "program_not_found.",
        409: "already_claimed: the person has a claim, named in claim; listed_by_employer: not yet.",
        422: "Also not_in_registry, does_not_match (the registry), deadline_passed.",
    },
    error_models={409: AlreadyClaimed},
)
def application(query: ProgramQuery, body: ApplicationBody) -> ResponseReturnValue:
    program = _program(query.program)
    if not isinstance(program, Program):
        return program
    try:
        claim = applications.apply(program, body.model_dump(mode="json"), actor=current_user)
    except applications.ApplicationInvalid as exc:
        db.session.rollback()
        fields: dict[str, str] = {}
        for e in exc.errors:
            fields.setdefault(e.field or "body", message(e.message_vi, e.message_en))
        return api_error(
            422,
            "invalid",
            message("Dữ liệu chưa đúng; xem từng trường.", "Some fields are not valid; see each field."),
            fields,
        )
    except applications.ApplicationConflict as exc:
        db.session.rollback()
        conflict: dict[str, Any] = {"error": exc.code, "message": message(exc.message_vi, exc.message_en), "fields": {}}
        if exc.claim is not None:
            conflict["claim"] = {"id": exc.claim.id, "state": exc.claim.state}
        return jsonify(conflict), 409
    except FormRefused as exc:
        db.session.rollback()
        return _refused(exc)
    db.session.commit()
    return jsonify({"claim": claim_json(claim)}), 201
