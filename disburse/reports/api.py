"""The reports' JSON API (mounted under /api/v1 by :mod:`disburse.api`).

GET /employers/<unit_code>/progress: one unit's progress, from the rollups. The same scope as the unit's pages and
forms: employers their own unit, caseworkers the units of their district, supervisors of their province (or all),
admins all; a unit outside the caller's scope answers as an unknown one, 404.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from disburse.api.errors import api_error, invalid, message
from disburse.auth.models import ROLES
from disburse.auth.permissions import roles_required
from disburse.auth.scopes import visible_unit
from disburse.programs.service import ProgramNotFound, get_program
from disburse.reports.service import employer_progress

bp = Blueprint("reports", __name__)

_PROGRAM_CODE = re.compile(r"[A-Za-z0-9_-]{1,20}")


@bp.get("/employers/<unit_code>/progress")
@roles_required(*ROLES)
def unit_progress(unit_code: str) -> ResponseReturnValue:
    code = request.args.get("program") or current_app.config["DISBURSE_PROGRAM"]
    if not _PROGRAM_CODE.fullmatch(code):
        return invalid(
            {
                "program": message(
                    "Mã chương trình chỉ gồm chữ, số, '-' và '_', tối đa 20 ký tự.",
                    "A program code has only letters, digits, '-' and '_', at most 20 characters.",
                )
            }
        )
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
