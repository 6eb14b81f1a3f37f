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

import re
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from disburse.api.errors import api_error, message
from disburse.auth.permissions import roles_required
from disburse.auth.scopes import visible_unit
from disburse.claims import applications, employer_forms
from disburse.claims.models import Claim
from disburse.claims.outcomes import FieldError, FormRefused, FormResult
from disburse.claims.support import reason_entries
from disburse.extensions import db
from disburse.programs.models import Program
from disburse.programs.service import ProgramNotFound, get_program
from disburse.registry.models import Employer

bp = Blueprint("forms", __name__)

#: At most this many rows in one form: a unit of 50,000 people sends its list in parts.
MAX_ROWS = 50_000
_PROGRAM_CODE = re.compile(r"[A-Za-z0-9_-]{1,20}")


def _program() -> Program | ResponseReturnValue:
    code = request.args.get("program") or current_app.config["DISBURSE_PROGRAM"]
    if not _PROGRAM_CODE.fullmatch(code):
        text = message("Mã chương trình không hợp lệ.", "The program code is not valid.")
        return api_error(422, "invalid", text, {"program": text})
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


def _rows() -> list[dict[str, Any]] | ResponseReturnValue:
    body = request.get_json(silent=True)
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows) or not 1 <= len(rows) <= MAX_ROWS:
        most = f"{MAX_ROWS:,}"
        text = message(
            f'Nội dung phải là JSON dạng {{"rows": [...]}} với 1 đến {most.replace(",", ".")} dòng, mỗi dòng là '
            "một đối tượng.",
            f'The body must be JSON {{"rows": [...]}} with 1 to {most} rows, each an object.',
        )
        return api_error(422, "invalid", text, {"rows": text})
    return rows


def _error(e: FieldError) -> dict[str, str]:
    return {"field": e.field, "code": e.code, "message": message(e.message_vi, e.message_en)}


def _form_response(result: FormResult) -> ResponseReturnValue:
    return jsonify(
        {
            "unit_code": result.unit_code,
            "summary": result.as_dict()["summary"],
            "rows": [
                {
                    "row": r.row,
                    "si_code": r.si_code,
                    "outcome": r.outcome,
                    "claim_id": r.claim_id,
                    "errors": [_error(e) for e in r.errors],
                }
                for r in result.rows
            ],
        }
    )


def _refused(exc: FormRefused) -> ResponseReturnValue:
    return api_error(exc.status, exc.code, message(exc.message_vi, exc.message_en))


def _take_form(unit_code: str, form: Any) -> ResponseReturnValue:
    program = _program()
    if not isinstance(program, Program):
        return program
    employer = _unit_in_scope(unit_code)
    rows = _rows()
    if not isinstance(rows, list):
        return rows
    try:
        result = form(program, employer.unit_code, rows, actor=current_user)
    except FormRefused as exc:
        db.session.rollback()
        return _refused(exc)
    db.session.commit()
    return _form_response(result)


@bp.post("/employers/<unit_code>/confirmations")
@roles_required("employer", "caseworker", "supervisor", "admin")
def confirmations(unit_code: str) -> ResponseReturnValue:
    return _take_form(unit_code, employer_forms.confirm)


@bp.post("/employers/<unit_code>/adjustments")
@roles_required("employer", "caseworker", "supervisor", "admin")
def adjustments(unit_code: str) -> ResponseReturnValue:
    return _take_form(unit_code, employer_forms.adjust)


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
        "reasons": reason_entries(list(claim.reasons or ())),  # codes with their labels, as the other claim answers
        "applied_on": claim.applied_on.isoformat() if claim.applied_on else None,
        "payment_due_on": claim.payment_due_on.isoformat() if claim.payment_due_on else None,
    }


@bp.post("/applications")
@roles_required("caseworker", "supervisor", "admin")
def application() -> ResponseReturnValue:
    program = _program()
    if not isinstance(program, Program):
        return program
    body = request.get_json(silent=True)
    try:
        claim = applications.apply(program, body if isinstance(body, dict) else {}, actor=current_user)
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
        body = {"error": exc.code, "message": message(exc.message_vi, exc.message_en), "fields": {}}
        if exc.claim is not None:
            body["claim"] = {"id": exc.claim.id, "state": exc.claim.state}
        return jsonify(body), 409
    except FormRefused as exc:
        db.session.rollback()
        return _refused(exc)
    db.session.commit()
    return jsonify({"claim": claim_json(claim)}), 201
