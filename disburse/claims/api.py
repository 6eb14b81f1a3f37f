"""The claims' JSON API (mounted under /api/v1 by :mod:`disburse.api`).

GET /employees/<si_code>/support: what a person is entitled to and where their money is.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from disburse.api.errors import api_error, invalid, message
from disburse.auth.models import ROLES
from disburse.auth.permissions import roles_required
from disburse.auth.scopes import Scope, can_see
from disburse.claims.support import support_for
from disburse.programs.service import ProgramNotFound

bp = Blueprint("claims", __name__)

# Checked with fullmatch: "$" in re.match would also accept a trailing newline.
_SI_CODE = re.compile(r"[0-9]{10}")
#: Program codes as the programs table holds them (String(20)): letters, digits, "-" and "_".
_PROGRAM_CODE = re.compile(r"[A-Za-z0-9_-]{1,20}")
#: Internal fields the lookup returns for scope checks; not part of the API.
_INTERNAL = ("scope", "employer_id")


@bp.get("/employees/<si_code>/support")
@roles_required(*ROLES)
def employee_support(si_code: str) -> ResponseReturnValue:
    fields = {}
    if not _SI_CODE.fullmatch(si_code):
        fields["si_code"] = message(
            f"Mã số BHXH phải gồm đúng 10 chữ số (đang có {len(si_code)} ký tự).",
            f"The SI code must have exactly 10 digits (this one has {len(si_code)} characters).",
        )
    program = request.args.get("program") or current_app.config["DISBURSE_PROGRAM"]
    if not _PROGRAM_CODE.fullmatch(program):
        fields["program"] = message(
            "Mã chương trình chỉ gồm chữ, số, '-' và '_', tối đa 20 ký tự.",
            "A program code has only letters, digits, '-' and '_', at most 20 characters.",
        )
    if fields:
        return invalid(fields)
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
