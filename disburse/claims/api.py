"""The claims' JSON API (mounted under /api/v1 by :mod:`disburse.api`).

GET /employees/<si_code>/support: what a person is entitled to and where their money is.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from flask import Blueprint, abort, current_app, jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user
from pydantic import Field, StringConstraints

from disburse.api.errors import api_error, message
from disburse.api.schemas import ApiModel, Msg, ProgramCode, QueryModel, Reason, ResponseModel, endpoint
from disburse.auth.models import ROLES
from disburse.auth.permissions import roles_required
from disburse.auth.scopes import Scope, can_see
from disburse.claims.outcomes import si_code_words
from disburse.claims.support import support_for
from disburse.programs.service import ProgramNotFound

bp = Blueprint("claims", __name__)

#: Internal fields the lookup returns for scope checks; not part of the API.
_INTERNAL = ("scope", "employer_id")


#: A social insurance code: exactly 10 digits.
SiCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{10}$"),
    Field(description="The person's social insurance code (10 digits)."),
    Msg(
        "Mã số BHXH phải gồm đúng 10 chữ số 0–9 (đang có {length} ký tự).",
        "The SI code must have exactly 10 digits 0–9 (this one has {length} characters).",
        said=partial(si_code_words, typed=True),
    ),
]


class SupportPath(ApiModel):
    si_code: SiCode


class SupportQuery(QueryModel):
    program: ProgramCode


class SupportClaim(ResponseModel):
    id: int
    state: str
    track: str
    support_group: str
    unused_months: int
    amount_vnd: int = Field(description="What will be paid, in VND (fixed when the claim was listed or applied for).")
    payout: str = Field(description="bank or cash.")
    unit_code: str | None
    district_code: str
    reasons: list[Reason]
    review_due_on: str | None
    payment_due_on: str | None
    paid_at: str | None


class SupportPayment(ResponseModel):
    state: str
    amount_vnd: int
    paid_at: str | None
    attempt: int
    failure_code: str | None


class Support(ResponseModel):
    si_code: str
    program: str
    group: str | None = Field(description="A, B, or null: the program's rules applied to the registry today.")
    outcome: str = Field(description="eligible, review or not_eligible.")
    reasons: list[Reason]
    eligible: bool
    unused_months: int
    amount_vnd: int | None = Field(description="The tier amount the rules give, in VND.")
    claim: SupportClaim | None
    payment: SupportPayment | None = Field(description="The latest payment attempt.")
    unit_code: str | None
    district_code: str | None = Field(description="Where the case is handled.")
    province_code: str | None


@bp.get("/employees/<si_code>/support")
@roles_required(*ROLES)
@endpoint(
    tag="Claims",
    summary="What a person is entitled to and where their money is",
    path=SupportPath,
    query=SupportQuery,
    response=Support,
    errors={404: "Unknown SI code or outside the caller's scope (the same answer); program_not_found."},
)
def employee_support(si_code: str, query: SupportQuery) -> ResponseReturnValue:
    program = query.program or current_app.config["DISBURSE_PROGRAM"]
    try:
        support = support_for(si_code, program)
    except ProgramNotFound:
        text = message(f"Không có chương trình mã '{program}'.", f"There is no program with code '{program}'.")
        return api_error(404, "program_not_found", text, {"program": text})
    # Outside the caller's scope is the same 404 as unknown: the API never tells whether a person it may not see
    # exists.
    if support is None:
        abort(404)
    scope = support["scope"]
    if not can_see(current_user, Scope(scope["employer_ids"], scope["district_codes"], scope["province_codes"])):
        abort(404)
    return jsonify({key: value for key, value in support.items() if key not in _INTERNAL})
