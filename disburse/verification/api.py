"""The review queue's JSON API and the refusal notices (mounted under /api/v1 by :mod:`disburse.api`).

GET  /claims                                  the queue: filters, keyset pages
GET  /claims/<id>                             one claim with its whole timeline
GET  /claims/<id>/notice                      the written refusal notice (HTML, A4)
POST /claims/assign-next                      take the next N unassigned claims in needs_review
POST /claims/<id>/assign | /release           take, give or hand back a case
POST /claims/<id>/contacts                    log a contact attempt
POST /claims/<id>/information-requests        record a request for information
POST /claims/<id>/approve | /reject           decide
POST /claims/<id>/resolve-duplicate           decide a possible duplicate
POST /notices/batches                         all refusal notices of a district on a day, as a background job

Views parse and check the input (every field's error at once, 422), call one service, commit. The services raise
:class:`~disburse.verification.review.ReviewError`, turned here into the API's one error shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any, cast

from flask import Blueprint, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from disburse.api.errors import api_error, message
from disburse.auth.models import ROLES, User
from disburse.auth.permissions import roles_required
from disburse.claims.models import Claim
from disburse.claims.states import ClaimState
from disburse.extensions import db
from disburse.programs.service import ProgramNotFound, get_program
from disburse.verification import notices, review
from disburse.verification.review import (
    ACTING_ROLES,
    CONTACT_CHANNELS,
    CONTACT_OUTCOMES,
    DEFAULT_PAGE,
    INFO_ADDRESSEES,
    MAX_ASSIGN_NEXT,
    MAX_DUPLICATE_NOTE,
    MAX_ID,
    MAX_PAGE,
    MAX_TEXT,
    ActionResult,
    Invalid,
    QueueQuery,
    ReviewError,
)

bp = Blueprint("review", __name__)

_DISTRICT = re.compile(r"[0-9]{3}")
_UNIT_CODE = re.compile(r"[0-9A-Za-z._/-]{1,20}")
_REASON = re.compile(r"[a-z0-9_]{1,40}")
_PROGRAM = re.compile(r"[0-9A-Za-z._-]{1,20}")
_DIGITS = re.compile(r"[0-9]{1,19}")
#: Control characters other than tab and line breaks: never in a note (PostgreSQL refuses NUL outright).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ProgramUnknown(ReviewError):
    status = 404
    code = "program_not_found"

    def __init__(self, code: str) -> None:
        super().__init__(
            f"Không có chương trình mã '{code}'.",
            f"There is no program with code '{code}'.",
            fields={"program": (f"Không có chương trình mã '{code}'.", f"There is no program with code '{code}'.")},
        )


@bp.errorhandler(ReviewError)
def _review_error(exc: ReviewError) -> ResponseReturnValue:
    db.session.rollback()  # nothing half done survives a refused action
    fields = {name: message(vi, en) for name, (vi, en) in exc.fields.items()}
    return api_error(exc.status, exc.code, message(exc.vi, exc.en), fields)


# ------------------------------------------------------------------------------------------------------- input


class _Input:
    """Reads fields from a query string (strings; empty means absent) or a JSON object (typed), collecting every
    field's error before :meth:`check` raises them together."""

    def __init__(self, source: Mapping[str, Any], *, query: bool = False) -> None:
        self.source = source
        self.query = query
        self.errors: dict[str, tuple[str, str]] = {}

    def _get(self, name: str) -> Any:
        value = self.source.get(name)
        return None if self.query and value == "" else value

    def _fail(self, name: str, vi: str, en: str) -> None:
        self.errors.setdefault(name, (vi, en))

    def _missing(self, name: str, required: bool) -> None:
        if required:
            self._fail(name, "Trường này là bắt buộc.", "This field is required.")

    def text(self, name: str, *, required: bool = False, max_len: int = MAX_TEXT) -> str | None:
        value = self._get(name)
        if value is None:
            self._missing(name, required)
            return None
        if not isinstance(value, str):
            self._fail(name, "Phải là một đoạn văn bản.", "Must be text.")
            return None
        value = value.strip()
        if _CONTROL.search(value):
            self._fail(name, "Có ký tự điều khiển không hợp lệ.", "Contains control characters.")
            return None
        if len(value) > max_len:
            self._fail(
                name,
                f"Tối đa {max_len} ký tự (đang có {len(value)}).",
                f"At most {max_len} characters (this has {len(value)}).",
            )
            return None
        if not value:
            self._missing(name, required)
            return None
        return value

    def raw(self, name: str) -> Any:
        """The value as given (None when absent)."""
        return self._get(name)

    def pattern(self, name: str, regex: re.Pattern[str], vi: str, en: str, *, required: bool = False) -> str | None:
        value = self._get(name)
        if value is None:
            self._missing(name, required)
            return None
        if not isinstance(value, str) or not regex.fullmatch(value):
            self._fail(name, vi, en)
            return None
        return value

    def choice(self, name: str, choices: Collection[str], *, required: bool = False) -> str | None:
        value = self._get(name)
        if value is None:
            self._missing(name, required)
            return None
        if not isinstance(value, str) or value not in choices:
            known = ", ".join(sorted(choices))
            self._fail(name, f"Phải là một trong: {known}.", f"Must be one of: {known}.")
            return None
        return value

    def integer(
        self, name: str, *, required: bool = False, minimum: int = 1, maximum: int = MAX_ID, vi: str = "", en: str = ""
    ) -> int | None:
        value = self._get(name)
        if value is None:
            self._missing(name, required)
            return None
        if self.query and isinstance(value, str) and _DIGITS.fullmatch(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            self._fail(
                name,
                vi or f"Phải là một số nguyên từ {minimum} đến {maximum}.",
                en or f"Must be a whole number from {minimum} to {maximum}.",
            )
            return None
        return value

    def day(self, name: str, *, required: bool = False) -> date | None:
        value = self._get(name)
        if value is None:
            self._missing(name, required)
            return None
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self._fail(name, "Phải là một ngày dạng YYYY-MM-DD.", "Must be a date as YYYY-MM-DD.")
            return None

    def flag(self, name: str) -> bool:
        value = self._get(name)
        if value is None:
            return False
        if not isinstance(value, bool):
            self._fail(name, "Phải là true hoặc false.", "Must be true or false.")
            return False
        return value

    def check(self) -> None:
        if self.errors:
            raise Invalid(self.errors)


def _body() -> dict[str, Any]:
    """The request's JSON object; an empty body is an empty object."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise Invalid({"body": ("Nội dung phải là một đối tượng JSON.", "The body must be a JSON object.")})
    return body


def _user() -> User:
    return cast(User, current_user._get_current_object())


def _program_id(fields: _Input) -> int:
    code = fields.pattern("program", _PROGRAM, "Mã chương trình không hợp lệ.", "Not a program code.")
    fields.check()
    code = code or current_app.config["DISBURSE_PROGRAM"]
    try:
        return get_program(code).id
    except ProgramNotFound:
        raise ProgramUnknown(code) from None


def _district(fields: _Input, *, required: bool = False) -> str | None:
    return fields.pattern(
        "district",
        _DISTRICT,
        "Mã huyện gồm đúng 3 chữ số (ví dụ 017).",
        "A district code has exactly 3 digits (for example 017).",
        required=required,
    )


def _claim_summary(claim: Claim) -> dict[str, Any]:
    return {
        "id": claim.id,
        "state": claim.state,
        "assigned_to_id": claim.assigned_to_id,
        "assigned_at": claim.assigned_at.isoformat() if claim.assigned_at else None,
    }


def _done(result: ActionResult) -> ResponseReturnValue:
    db.session.commit()
    return jsonify(
        {"changed": result.changed, "claim": _claim_summary(result.claim), "event_ids": [e.id for e in result.events]}
    )


# ------------------------------------------------------------------------------------------------------- reads


@bp.get("/claims")
@roles_required(*ROLES)
def list_claims() -> ResponseReturnValue:
    args = _Input(request.args, query=True)
    state = args.choice("state", [s.value for s in ClaimState])
    district = _district(args)
    employer = args.pattern(
        "employer", _UNIT_CODE, "Mã đơn vị không hợp lệ (tối đa 20 ký tự).", "Not a unit code (at most 20 characters)."
    )
    reason = args.pattern(
        "reason", _REASON, "Mã lý do không hợp lệ (ví dụ zero_months).", "Not a reason code (for example zero_months)."
    )
    assigned: str | int | None = args.raw("assigned")
    if assigned not in ("me", "none"):
        assigned = args.integer(
            "assigned", vi="Phải là me, none hoặc mã số một người dùng.", en="Must be me, none or a user's id."
        )
    after = args.integer("after", minimum=0) or 0
    limit = args.integer(
        "limit",
        maximum=MAX_PAGE,
        vi=f"Mỗi trang từ 1 đến {MAX_PAGE} hồ sơ.",
        en=f"A page holds 1 to {MAX_PAGE} claims.",
    )
    program_id = _program_id(args)
    query = QueueQuery(
        program_id=program_id,
        state=state,
        district=district,
        employer=employer,
        reason=reason,
        assigned=assigned,
        after=after,
        limit=limit or DEFAULT_PAGE,
    )
    page = review.list_claims(_user(), query)
    return jsonify({"claims": page.rows, "next_after": page.next_after, "limit": query.limit})


@bp.get("/claims/<int:claim_id>")
@roles_required(*ROLES)
def claim_detail(claim_id: int) -> ResponseReturnValue:
    return jsonify(review.claim_detail(claim_id, _user()))


@bp.get("/claims/<int:claim_id>/notice")
@roles_required(*ROLES)
def claim_notice(claim_id: int) -> ResponseReturnValue:
    html = notices.notice_html(claim_id, _user(), url_for("static", filename=notices.STYLESHEET))
    return html, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


# ----------------------------------------------------------------------------------------------------- actions


@bp.post("/claims/assign-next")
@roles_required(*ACTING_ROLES)
def assign_next() -> ResponseReturnValue:
    body = _Input(_body())
    count = body.integer(
        "count",
        required=True,
        maximum=MAX_ASSIGN_NEXT,
        vi=f"Số hồ sơ nhận mỗi lần từ 1 đến {MAX_ASSIGN_NEXT}.",
        en=f"Take between 1 and {MAX_ASSIGN_NEXT} claims at a time.",
    )
    district = _district(body)
    program_id = _program_id(body)
    assert count is not None
    taken = review.assign_next(_user(), program_id, count, district)
    db.session.commit()
    return jsonify({"claims": [_claim_summary(claim) for claim in taken], "count": len(taken)})


@bp.post("/claims/<int:claim_id>/assign")
@roles_required(*ACTING_ROLES)
def assign(claim_id: int) -> ResponseReturnValue:
    body = _Input(_body())
    to_user_id = body.integer("user_id")
    body.check()
    return _done(review.assign(claim_id, _user(), to_user_id))


@bp.post("/claims/<int:claim_id>/release")
@roles_required(*ACTING_ROLES)
def release(claim_id: int) -> ResponseReturnValue:
    _Input(_body()).check()
    return _done(review.release(claim_id, _user()))


@bp.post("/claims/<int:claim_id>/contacts")
@roles_required(*ACTING_ROLES)
def log_contact(claim_id: int) -> ResponseReturnValue:
    body = _Input(_body())
    channel = body.choice("channel", CONTACT_CHANNELS, required=True)
    outcome = body.choice("outcome", CONTACT_OUTCOMES, required=True)
    note = body.text("note")
    body.check()
    assert channel is not None and outcome is not None
    return _done(review.log_contact(claim_id, _user(), channel, outcome, note))


@bp.post("/claims/<int:claim_id>/information-requests")
@roles_required(*ACTING_ROLES)
def request_info(claim_id: int) -> ResponseReturnValue:
    body = _Input(_body())
    addressee = body.choice("addressee", INFO_ADDRESSEES, required=True)
    note = body.text("note", required=True)
    due_on = body.day("due_on")
    body.check()
    assert addressee is not None and note is not None
    return _done(review.request_info(claim_id, _user(), addressee, note, due_on))


@bp.post("/claims/<int:claim_id>/approve")
@roles_required(*ACTING_ROLES)
def approve(claim_id: int) -> ResponseReturnValue:
    body = _Input(_body())
    note = body.text("note")
    body.check()
    return _done(review.approve(claim_id, _user(), note))


@bp.post("/claims/<int:claim_id>/reject")
@roles_required(*ACTING_ROLES)
def reject(claim_id: int) -> ResponseReturnValue:
    body = _Input(_body())
    reason_code = body.choice("reason_code", review.refusal_reasons(), required=True)
    reason_text = body.text("reason_text", required=True)
    body.check()
    assert reason_code is not None and reason_text is not None
    return _done(review.reject(claim_id, _user(), reason_code, reason_text))


@bp.post("/claims/<int:claim_id>/resolve-duplicate")
@roles_required(*ACTING_ROLES)
def resolve_duplicate(claim_id: int) -> ResponseReturnValue:
    body = _Input(_body())
    keep = body.integer("keep", required=True)
    override = body.flag("override")
    note = body.text("note", max_len=MAX_DUPLICATE_NOTE, required=override)
    body.check()
    assert keep is not None
    return _done(review.resolve_duplicate(claim_id, _user(), keep, override=override, note=note))


# ----------------------------------------------------------------------------------------------------- notices


@bp.post("/notices/batches")
@roles_required(*ACTING_ROLES)
def notice_batch() -> ResponseReturnValue:
    body = _Input(_body())
    district = _district(body, required=True)
    day = body.day("date", required=True)
    program_id = _program_id(body)
    assert district is not None and day is not None
    job = notices.start_district_day(_user(), program_id, district, day)
    db.session.commit()
    return jsonify({"job_id": job.id, "kind": job.kind, "state": job.state}), 202
