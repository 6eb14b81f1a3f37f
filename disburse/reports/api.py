"""The reports' JSON API (mounted under /api/v1 by :mod:`disburse.api`).

GET /employers/<unit_code>/progress: one unit's progress, from the rollups. The same scope as the unit's pages and
forms: employers their own unit, caseworkers the units of their district, supervisors of their province (or all),
admins all; a unit outside the caller's scope answers as an unknown one, 404.

GET /progress?province=&district=: an area's progress and its child areas', from the rollups. Without parameters,
the caller's own area (a caseworker's district, a provincial supervisor's province, the country for national
supervisors and admins); an area outside the caller's scope answers as an unknown one, 404. Employers use their
unit's progress instead (403).
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from disburse.api.errors import api_error, invalid, message
from disburse.auth.models import ROLES
from disburse.auth.permissions import roles_required
from disburse.auth.scopes import Scope, can_see, visible_unit
from disburse.extensions import db
from disburse.programs.service import ProgramNotFound, get_program
from disburse.reference.models import District, Province
from disburse.replica import reads_replica
from disburse.reports.service import Area, area_progress, employer_progress

bp = Blueprint("reports", __name__)

_PROGRAM_CODE = re.compile(r"[A-Za-z0-9_-]{1,20}")
_PROVINCE = re.compile(r"[0-9]{2}")
_DISTRICT = re.compile(r"[0-9]{3}")


@bp.get("/employers/<unit_code>/progress")
@roles_required(*ROLES)
@reads_replica
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


def _area_input() -> tuple[str | None, str | None, dict[str, str]]:
    province, district = request.args.get("province") or None, request.args.get("district") or None
    errors = {}
    if province is not None and not _PROVINCE.fullmatch(province):
        errors["province"] = message(
            "Mã tỉnh gồm đúng 2 chữ số (01 = Hà Nội).", "A province code has 2 digits (01 = Hà Nội)."
        )
    if district is not None and not _DISTRICT.fullmatch(district):
        errors["district"] = message(
            "Mã quận/huyện gồm đúng 3 chữ số (017 = Đông Anh).", "A district code has 3 digits (017 = Đông Anh)."
        )
    return province, district, errors


def _scoped_area(province: str | None, district: str | None) -> Area | None:
    """The area asked for (or the caller's own), if it exists and the caller may see it; else None (404)."""
    user = current_user
    if district is None and province is None:
        if user.role == "caseworker":
            district = user.district_code
        elif user.role == "supervisor":
            province = user.province_code
    if district is not None:
        found = db.session.get(District, district)
        if found is None or (province is not None and found.province_code != province):
            return None
        scope = Scope(employer_ids=(), district_codes=(district,), province_codes=(found.province_code,))
        return Area(found.province_code, district) if can_see(user, scope) else None
    if province is not None:
        if db.session.get(Province, province) is None:
            return None
        if user.role == "caseworker":
            return None  # a caseworker's scope is one district, never a whole province
        return Area(province) if can_see(user, Scope((), (), (province,))) else None
    return Area() if user.role == "admin" or (user.role == "supervisor" and user.province_code is None) else None


@bp.get("/progress")
@roles_required("caseworker", "supervisor", "admin")
@reads_replica
def progress() -> ResponseReturnValue:
    code = request.args.get("program") or current_app.config["DISBURSE_PROGRAM"]
    province, district, errors = _area_input()
    if not _PROGRAM_CODE.fullmatch(code):
        errors["program"] = message(
            "Mã chương trình chỉ gồm chữ, số, '-' và '_', tối đa 20 ký tự.",
            "A program code has only letters, digits, '-' and '_', at most 20 characters.",
        )
    if errors:
        return invalid(errors)
    area = _scoped_area(province, district)
    if area is None:
        abort(404)
    try:
        program = get_program(code)
    except ProgramNotFound:
        text = message(f"Không có chương trình mã '{code}'.", f"There is no program with code '{code}'.")
        return api_error(404, "program_not_found", text, {"program": text})
    return jsonify(
        {
            "program": program.code,
            "level": area.level,
            "province": area.province_code,
            "district": area.district_code,
            **area_progress(program.id, area),
        }
    )
