"""The caseworker's pages (server-rendered, Vietnamese first): the work queue, the case page and its action forms.

Views parse the form, check the role (the decorator) and the scope (the services: another district's claim is the
same 404 as an unknown one), call one service, commit, and redirect (post/redirect/get). A refused action comes
back on its form with the service's message in the user's language; invalid input lists every error above the
form, each linking to its field.
"""

from __future__ import annotations

import tempfile
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from math import ceil
from pathlib import Path
from typing import Any, cast

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from wtforms import Form

from disburse.auth.models import User
from disburse.auth.permissions import roles_required
from disburse.auth.service import audit
from disburse.casework import exports, outreach, people, service
from disburse.casework.forms import (
    ActionForm,
    ApplicationForm,
    AssignNextForm,
    AssignToForm,
    CashDeskForm,
    CashReceiptForm,
    CheckedApproveCashForm,
    CheckedApproveForm,
    ConfirmedForm,
    ContactForm,
    DecisionForm,
    DeclineForm,
    DeskSearchForm,
    DismissOfferForm,
    FindPeopleForm,
    FindPersonForm,
    OfferCashForm,
    OutreachForm,
    PaymentDetailsForm,
    QueueFilterForm,
    RecordPhoneForm,
    RejectForm,
    RequestInfoForm,
    ResolveDuplicateForm,
    WithdrawCashForm,
    record_id,
)
from disburse.casework.models import PersonContact
from disburse.claims import person_details, unit
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.outcomes import phone_digits
from disburse.claims.states import (
    CLOSED_STATES,
    STATE_LABELS,
    TERMINAL_STATES,
    TRANSITIONS,
    ClaimAction,
    ClaimState,
)
from disburse.extensions import db
from disburse.formatting import dmy, moment, say, vnd
from disburse.payments import reasons as payment_reasons
from disburse.payments import recoveries
from disburse.payments.cash import cash_list, clean_receipt_number
from disburse.payments.service import failed_before
from disburse.programs.calendar import VIETNAM_TZ, programme_today
from disburse.programs.models import Program
from disburse.programs.service import ProgramNotFound, get_program
from disburse.reference.models import District
from disburse.reference.service import area_code, bank_choices
from disburse.registry.models import Employee, unit_by_code
from disburse.spreadsheets import MONEY, TEXT, UnusableFile, download, table_bytes
from disburse.verification import notices, reasons, review
from disburse.verification.review import (
    ACTING_ROLES,
    CONTACT_CHANNELS,
    CONTACT_OUTCOMES,
    INFO_ADDRESSEES,
    QueueQuery,
    ReviewError,
)

bp = Blueprint("caseworker", __name__, url_prefix="/caseworker")

#: Who may use the caseworker's pages: employers never. Supervisors read within their province; the services
#: decide what each role may do.
STAFF = ACTING_ROLES
#: Money is handed over at the claim's own office: its caseworkers (and admins) record receipts (any of them: the one
#: at the desk), offer cash and take a payment off the list (these two only while no one else holds the case).
CASH_ROLES = ("caseworker", "admin")
#: "Assign the next 20 to me".
ASSIGN_NEXT = 20
PAGE = 50

#: Every claim event, as the timeline names it: (Vietnamese, English).
EVENT_LABELS: dict[str, tuple[str, str]] = {
    "create": ("Tạo hồ sơ", "Claim created"),
    "confirm": ("Đơn vị xác nhận (Mẫu số 02)", "Confirmed by the employer (Form 02)"),
    "confirm_late": ("Đơn vị xác nhận muộn (Mẫu số 02 gửi sau thời hạn)", "Confirmed late by the employer (Form 02)"),
    "decline": ("Không nhận hỗ trợ", "Declined support"),
    # What happened; why (the unit's words, or reasons.REMOVED_ON_FORM_03's) is the event's reason, said below it.
    "remove": ("Đơn vị đưa ra khỏi danh sách (Mẫu số 03)", "Taken off the list by the unit (Form 03)"),
    "mark_overdue": ("Đơn vị quá hạn xác nhận", "Employer overdue"),
    "start_verification": ("Bắt đầu kiểm tra", "Checks started"),
    "flag_for_review": ("Chuyển cán bộ xác minh", "Sent for review"),
    "approve": ("Duyệt", "Approved"),
    "reject": ("Từ chối", "Refused"),
    "queue_payment": ("Đưa vào lô chi trả", "Put in a payment batch"),
    "cancel_payment": ("Huỷ lệnh chi", "Payment withdrawn"),
    "payment_succeeded": ("Chi trả thành công", "Paid"),
    "payment_failed": ("Chi trả không thành công", "Payment failed"),
    "request_details": ("Đề nghị bổ sung thông tin tài khoản", "Payment details requested"),
    "details_received": ("Đã nhận thông tin tài khoản mới", "New payment details received"),
    "retry_payment": ("Chi trả lại", "Paid again"),
    "payment_returned": ("Ngân hàng trả lại tiền", "Money sent back by the bank"),
    "apply": ("Nộp đề nghị (Mẫu số 04)", "Applied (Form 04)"),
    "assign": ("Nhận xử lý", "Assigned"),
    "release": ("Trả lại hàng chờ", "Released to the queue"),
    "contact": ("Liên hệ người lao động", "Contact attempt"),
    "request_info": ("Yêu cầu bổ sung thông tin", "Information requested"),
    "correct": ("Điều chỉnh thông tin", "Details corrected"),
    "confirm_again": ("Đơn vị xác nhận lại", "Confirmed again"),
    "resolve_duplicate": ("Xử lý nghi trùng", "Possible duplicate decided"),
    "reassess": ("Cập nhật số tháng theo dữ liệu BHXH", "Months updated from the registry"),
    "sla_breach": ("Quá hạn giải quyết", "Deadline passed"),
    "offer_details": ("Người lao động gửi thông tin tài khoản", "Payment details sent by the person"),
    "dismiss_offer": ("Bỏ qua đề nghị của người lao động", "Person's offer of details dismissed"),
    "answer_info": ("Đơn vị trả lời yêu cầu bổ sung thông tin", "The unit answered the request for information"),
}
#: The queue's orders as the "sort" choice says them, in the list's order: the query-string value (a "-" reads the
#: service's order backwards: :data:`disburse.verification.review.QUEUE_SORTS`) → its words.
#: Short enough for the filter column's select at 1366 pixels (a closed select cuts its text, it cannot wrap it):
#: "Mức hỗ trợ, cao đến t…" was all one read.
QUEUE_SORTS = {
    "id": _l("Số hồ sơ tăng dần"),
    "-id": _l("Số hồ sơ giảm dần"),
    "received": _l("Chờ lâu nhất trước"),
    "-received": _l("Mới nhận trước"),
    "-amount": _l("Mức hỗ trợ giảm dần"),
    "amount": _l("Mức hỗ trợ tăng dần"),
    "name": _l("Tên, A đến Z"),
    "-name": _l("Tên, Z đến A"),
    "unit": _l("Mã đơn vị, A đến Z"),
    "-unit": _l("Mã đơn vị, Z đến A"),
}
#: The queue's sortable columns: column → (the service's order it is sorted by, the order its header asks for
#: first, whether the column's values grow as that service order goes forwards). Ages fall as the day received grows:
#: "waiting longest first" is the ages' descending order; amounts are first asked for highest first.
SORTED_COLUMNS: dict[str, tuple[str, str, bool]] = {
    "id": ("id", "id", True),
    "name": ("name", "name", True),
    "unit": ("unit", "unit", True),
    "age": ("received", "received", False),
    "amount": ("amount", "-amount", True),
}
TRACK_LABELS = {"A": ("Danh sách của đơn vị (Mẫu số 01)", "Employer's list (Form 01)"), "B": ("Mẫu số 04", "Form 04")}


def _user() -> User:
    return cast(User, current_user._get_current_object())


def pick(pair: tuple[str, str] | list[str] | None) -> str:
    """The words of a (Vietnamese, English) pair in the page's language (:func:`~disburse.formatting.say`); "" for
    none."""
    return say(pair[0], pair[1]) if pair else ""


def _day(iso: str | None) -> date | None:
    return date.fromisoformat(iso) if iso else None


def _moment(iso: str | None) -> str:
    """An event's time as people read it: dd/mm/yyyy HH:MM, Vietnam time."""
    return datetime.fromisoformat(iso).astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M") if iso else "—"


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "pick": pick,
        "claim_state_label": lambda state: pick(STATE_LABELS[ClaimState(state)]),
        "claim_day": lambda iso: dmy(_day(iso)),
        "claim_moment": _moment,
    }


def _program() -> Program:
    try:
        return get_program(current_app.config["DISBURSE_PROGRAM"])
    except ProgramNotFound:
        abort(404)


def _program_id() -> int:
    return _program().id


def _claim(claim_id: int) -> Claim:
    """The claim if the caller may see it; the 404 page otherwise (unknown and out of scope alike)."""
    try:
        return review.visible_claim(claim_id, _user())
    except review.NotFound:
        abort(404)


def _add_errors(form: Form, fields: dict[str, tuple[str, str]], general: list[str]) -> None:
    """A service's per-field messages onto the form's fields (the others above the form)."""
    for name, pair in fields.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, pick(pair)]
        else:
            general.append(pick(pair))


def _refused(exc: ReviewError, form: Form) -> list[str]:
    """The messages of a refused action (its savepoint already rolled back): a 404 stays a 404, the rest is said on
    the form."""
    if isinstance(exc, review.NotFound):
        abort(404)
    if isinstance(exc, review.Forbidden):
        abort(403)
    general: list[str] = []
    _add_errors(form, exc.fields, general)
    if not exc.fields:
        general.append(pick((exc.vi, exc.en)))
    return general


# ------------------------------------------------------------------------------------------------------ queue


def _choices(form: QueueFilterForm, user: User) -> None:
    form.state.choices = [("", _("Mọi trạng thái"))] + [(s.value, pick(STATE_LABELS[s])) for s in ClaimState]
    form.reason.choices = [("", _("Mọi lý do"))] + [
        (code, pick(reasons.label(code))) for code in sorted(reasons.REVIEW | reasons.REJECT)
    ]
    form.track.choices = [("", _("Cả hai luồng")), ("A", pick(TRACK_LABELS["A"])), ("B", pick(TRACK_LABELS["B"]))]
    form.assigned.choices = [("", _("Mọi hồ sơ")), ("me", _("Giao cho tôi")), ("none", _("Chưa giao cho ai"))]
    form.sort.choices = [(value, str(words)) for value, words in QUEUE_SORTS.items()]


def _query(form: QueueFilterForm, user: User) -> QueueQuery:
    district = form.district.data or None
    if user.role == "caseworker":
        district = user.district_code
    age = form.age.data
    return QueueQuery(
        program_id=_program_id(),
        state=form.state.data or None,
        district=district,
        employer=form.employer.data or None,
        reason=form.reason.data or None,
        assigned=form.assigned.data or None,
        track=form.track.data or None,
        received_by=service.received_by(age) if age else None,
        offered=bool(form.offered.data),
        after=form.after.data or 0,
        before=form.before.data or 0,
        limit=PAGE,
        sort=form.sort.data or "id",
    )


def _sort_headers(sort: str) -> dict[str, dict[str, str | None]]:
    """Each sortable column's header: the order its link asks for (the column's first order, or the order the queue
    is in backwards when it is sorted by that column) and its ``aria-sort`` (None unless the queue is sorted by it)."""
    key, backwards = sort.removeprefix("-"), sort.startswith("-")
    headers: dict[str, dict[str, str | None]] = {}
    for column, (by, first, grows) in SORTED_COLUMNS.items():
        if key != by:
            headers[column] = {"sort": first, "aria": None}
        else:
            headers[column] = {
                "sort": key if backwards else "-" + key,
                "aria": "ascending" if grows != backwards else "descending",
            }
    return headers


def _filters_args(form: QueueFilterForm, **extra: Any) -> dict[str, Any]:
    """The query string of the current filters (to page on, or to drop one). A filter left out of the request takes
    its default on the next page too, so it is left out; an empty one is kept when that is not its default ("every
    state" rather than the state's default, "needs review")."""
    names = ("state", "reason", "age", "employer", "track", "assigned", "offered", "district", "sort")
    args = {
        name: form[name].raw_data[0]
        for name in names
        if form[name].raw_data and (form[name].raw_data[0] != "" or form[name].default not in (None, ""))
    }
    args.update({k: v for k, v in extra.items() if v is not None})
    return args


@bp.get("/queue")
@roles_required(*STAFF)
def queue() -> ResponseReturnValue:
    user = _user()
    form = QueueFilterForm(request.args)
    _choices(form, user)
    district = db.session.get(District, user.district_code) if user.district_code else None
    district_name = district.name if district else user.district_code
    if request.args and not form.validate():
        return render_template(
            "caseworker/queue.html", form=form, page=None, counts=None, total=0, district_name=district_name
        ), 422
    query = _query(form, user)
    page = review.list_claims(user, query)
    total, counts = review.reason_counts(user, query)
    today = programme_today()
    offered = person_details.claims_with_open_offers([row["id"] for row in page.rows])
    # Why the money did not arrive, for the claims waiting for new details (verification's reasons say nothing then).
    waiting = (ClaimState.PAYMENT_FAILED, ClaimState.AWAITING_PAYMENT_DETAILS)
    failed = unit.latest_payments([row["id"] for row in page.rows if row["state"] in waiting])
    answered = unit.answered_requests([row["id"] for row in page.rows])
    for row in page.rows:
        received = row.get("received_on")
        row["age_wd"] = service.age_in_working_days(_day(received), today)
        row["offered"] = row["id"] in offered
        payment = failed.get(row["id"])
        row["failure"] = payment_reasons.label(payment.failure_code) if payment and payment.failure_code else None
        row["answered"] = answered.get(row["id"])
    return render_template(
        "caseworker/queue.html",
        form=form,
        page=page,
        counts=sorted(counts.items(), key=lambda item: (-item[1], item[0])),
        total=total,
        reason_label=lambda code: pick(reasons.label(code)),
        args=lambda **extra: _filters_args(form, **extra),
        headers=_sort_headers(query.sort),
        assign_form=AssignNextForm(held=review.held_by(user, _program_id())),
        first_page=page.previous_before is None,
        assign_next=ASSIGN_NEXT,
        district_name=district_name,
    )


#: The queue's first case link and its list's heading: where "Assign the next 20 to me" lands.
FIRST_CASE, ROWS = "first-case", "rows-title"


@bp.post("/queue/assign-next")
@roles_required(*STAFF)
def assign_next() -> ResponseReturnValue:
    user = _user()
    form = AssignNextForm()
    if not form.validate_on_submit():
        abort(400)
    held = form.held.data or ""
    district = area_code(request.args.get("district") or None, 3)
    if not (isinstance(district, str) and len(district) == 3 and district.isascii() and district.isdigit()):
        district = None
    savepoint = db.session.begin_nested()  # nothing half done survives a refused action
    try:
        held_then = int(held) if held.isascii() and held.isdigit() and len(held) < 10 else None
        taken = review.assign_next(user, _program_id(), ASSIGN_NEXT, district, held=held_then)
    except review.TakenAlready as exc:  # the button pressed twice, or the form sent again
        savepoint.rollback()
        db.session.rollback()
        flash(pick((exc.vi, exc.en)), "success")
        return redirect(url_for(".queue", assigned="me", state="needs_review", _anchor=FIRST_CASE))
    except ReviewError as exc:
        savepoint.rollback()
        for message in _refused(exc, form):
            flash(message, "error")
        return redirect(url_for(".queue"))
    savepoint.commit()
    db.session.commit()
    if taken:
        flash(_("Đã giao cho bạn %(n)d hồ sơ.", n=len(taken)), "success")
    else:
        flash(_("Không còn hồ sơ nào chưa giao trong hàng chờ."), "success")
    # The keyboard goes on from the cases, not from the top of the page (27 Tabs away): the first of them, when the
    # list has one (layout.js focuses the fragment's element; the flash above it says how many were taken).
    return redirect(url_for(".queue", assigned="me", state="needs_review", _anchor=FIRST_CASE if taken else ROWS))


# -------------------------------------------------------------------------------------------------- case page


def _duplicate_decision(data: dict[str, Any]) -> str:
    if data.get("override"):
        return _("Không phải trùng: các hồ sơ đều được xem xét chi trả.")
    if data.get("kept_out_of_scope"):  # the kept claim is another office's (review.timeline left it out)
        return _("Giữ lại một hồ sơ ngoài phạm vi của bạn.")
    return _("Giữ lại hồ sơ mã số BHXH %(si)s.", si=data.get("kept_si_code", ""))


def _event_details(event: dict[str, Any]) -> list[str]:
    """What a timeline entry says besides its name, in plain words."""
    data = event.get("data") or {}
    lines: list[str] = []
    action = event["action"]
    if action == "contact":
        lines.append(
            f"{pick(CONTACT_CHANNELS.get(str(data.get('channel')), ('', '')))}: "
            f"{pick(CONTACT_OUTCOMES.get(str(data.get('outcome')), ('', '')))}"
        )
    elif action in ("confirm", "confirm_late", "approve"):
        lines += _confirmed_lines(action, data)
    elif action == "request_info":
        lines.append(pick(INFO_ADDRESSEES.get(str(data.get("addressee")), ("", ""))))
        if data.get("due_on"):
            lines.append(_("Hạn bổ sung: %(day)s", day=dmy(_day(data["due_on"]))))
    elif action == "resolve_duplicate":
        lines.append(_duplicate_decision(data))
    elif action in ("correct", "apply"):  # a correction, or a Form 04 replacing a listed claim's account
        if data.get("id_card_seen"):  # a phone number recorded at the office (service.record_phone)
            lines.append(_("Người lao động đến cơ quan BHXH, đã xuất trình CMND/CCCD."))
        changes = data.get("changes") or {}
        if data.get("field") == "payout" and isinstance(data.get("old"), dict) and isinstance(data.get("new"), dict):
            changes = {"payout": [data["old"].get("payout"), data["new"].get("payout")]}  # cash offered
        for name, values in changes.items():
            if isinstance(values, list) and len(values) == 2:
                lines.append(
                    f"{pick(CHANGED_FIELDS.get(name, (name, name)))}: {_value(name, values[0])} → "
                    f"{_value(name, values[1])}"
                )
    elif action in ("offer_details", "dismiss_offer"):
        lines += _offer_lines(data)
    elif action in ("assign", "release"):
        lines += _holder_lines(event, data)
    for key in ("note",):
        if isinstance(data.get(key), str) and data[key]:
            lines.append(data[key])
    return lines


def _holder_lines(event: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """An assignment to someone else than who made it; a release because the holder could no longer work the claim
    (their account deactivated, their scope moved: :data:`~disburse.verification.review.RELEASE_WHY`)."""
    if event["action"] == "release":
        why = str(data.get("why"))
        return [pick(review.RELEASE_WHY[why])] if why in review.RELEASE_WHY else []
    if event.get("assignee") and event["assignee"] != (event.get("actor") or {}).get("email"):
        return [_("Giao cho %(who)s.", who=event["assignee"])]
    return []


def _confirmed_lines(action: str, data: dict[str, Any]) -> list[str]:
    """A Form 02 received late; an approval whose caseworker confirmed checking what verification found."""
    if action == "approve":
        return [_("Cán bộ xác nhận đã kiểm tra các nội dung cần xác minh.")] if data.get("checked") else []
    return [_("Mẫu số 02 nhận sau thời hạn xác nhận của đơn vị.")] if data.get("late") else []


def _offer_lines(data: dict[str, Any]) -> list[str]:
    """A person's offer of bank details (``offer_details``) or its dismissal (``dismiss_offer``): the account, then the
    phone number the person gave, or why a caseworker dismissed it."""
    lines = [f"{data.get('bank_code') or ''} {data.get('bank_account') or ''}".strip()]
    if data.get("phone"):
        lines.append(_("Số điện thoại liên hệ: %(phone)s", phone=data["phone"]))
    if data.get("reason"):
        lines.append(_("Lý do: %(reason)s", reason=data["reason"]))
    return lines


#: The fields a ``correct`` note changes, as people call them.
CHANGED_FIELDS: dict[str, tuple[str, str]] = {
    "bank_code": ("Ngân hàng", "Bank"),
    "bank_account": ("Số tài khoản", "Account number"),
    "phone": ("Số điện thoại", "Phone"),
    "payout": ("Hình thức nhận tiền", "Paid by"),
}
PAYOUTS: dict[str, tuple[str, str]] = {
    "bank": ("Chuyển khoản", "Bank transfer"),
    "cash": ("Tiền mặt tại cơ quan BHXH", "Cash at the office"),
}


def _value(name: str, value: Any) -> str:
    if not value:
        return "—"
    return pick(PAYOUTS.get(str(value), (str(value), str(value)))) if name == "payout" else str(value)


def _assignee_id(event: dict[str, Any]) -> bool:
    value = (event.get("data") or {}).get("assigned_to_id")
    return isinstance(value, int) and not isinstance(value, bool)


def _emails(user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return {
        user_id: email
        for user_id, email in db.session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
    }


def _earlier_contacts(claim: Claim) -> list[dict[str, Any]]:
    """The attempts to reach the person logged before they had a claim (``person_contacts``: the outreach list's),
    as the claim's own contact entries, each marked ``before_application``."""
    rows = db.session.execute(
        select(PersonContact, User.email)
        .join(User, User.id == PersonContact.actor_id)
        .where(PersonContact.program_id == claim.program_id, PersonContact.employee_id == claim.employee_id)
        .order_by(PersonContact.id)
    ).all()
    entries = []
    for contact, email in rows:
        channel = pick(CONTACT_CHANNELS.get(contact.channel, ("", "")))
        details = [f"{channel}: {pick(CONTACT_OUTCOMES.get(contact.outcome, ('', '')))}"]
        if contact.note:
            details.append(contact.note)
        entries.append(
            {
                "at": contact.created_at.isoformat(),
                "details": details,
                "actor": {"email": email},
                "before_application": True,
            }
        )
    return entries


def _case_context(claim_id: int) -> dict[str, Any]:
    user = _user()
    try:
        detail = review.claim_detail(claim_id, user)
    except review.NotFound:
        abort(404)
    claim = review.visible_claim(claim_id, user)
    state = ClaimState(claim.state)
    assignees = _emails(
        {int(e["data"]["assigned_to_id"]) for e in detail["timeline"] if e["action"] == "assign" and _assignee_id(e)}
    )
    for event in detail["timeline"]:
        if event["action"] == "assign" and _assignee_id(event):
            event["assignee"] = assignees.get(int(event["data"]["assigned_to_id"]))
        event["label"] = pick(EVENT_LABELS.get(event["action"], (event["action"], event["action"])))
        event["details"] = _event_details(event)
        event["reason"] = review.event_reason(event, pick) or ""
    # The claim's attempts and those logged for the person before they applied (the outreach list's), in time order.
    contacts = sorted(
        [event for event in detail["timeline"] if event["action"] == "contact"] + _earlier_contacts(claim),
        key=lambda event: (datetime.fromisoformat(event["at"]), not event.get("before_application")),
    )
    offered = person_details.open_offer(claim)
    dismiss_form = DismissOfferForm(formdata=None, data={"offer": str(offered.id)} if offered is not None else None)
    duplicates, duplicates_hidden = service.duplicates_side_by_side(claim, user)
    # A claim with no possible duplicate (most) has no group to read again.
    undecided = review.undecided_duplicates(claim, user) if duplicates else None
    approvable = (state, ClaimAction.APPROVE) in TRANSITIONS
    # After the last payable day an approval would pay nobody: the page says so and offers the refusal instead.
    period_ended = review.period_ended(claim) if approvable or state == ClaimState.AWAITING_PAYMENT_DETAILS else None
    waits = period_ended or undecided
    bank_problem = review.bank_problem(claim)
    return {
        "claim": claim,
        "detail": detail,
        "state_label": pick(STATE_LABELS[state]),
        "track_label": pick(TRACK_LABELS.get(claim.track)),
        # What verification found, while the claim is being checked (decided, it is history: the timeline keeps it).
        # The group asked once: undecided, its duplicates are still to check; decided (or none), they are settled.
        "reason_labels": [
            pick((r["label_vi"], r["label_en"]))
            for r in review.to_check(claim, review.DUPLICATES if undecided is None else frozenset())
        ],
        "payments": service.payment_lines(claim),
        "recoveries": recoveries.for_claim(claim.id),
        "recovery_label": lambda state: pick(recoveries.LABELS.get(state, (state, state))),
        "duplicates": duplicates,
        "duplicates_undecided": undecided is not None,
        # A refused claim's group may still wait for a decision on the others: said of neither.
        "claim_refused": state in TERMINAL_STATES,
        "duplicates_out_of_scope": _out_of_scope(duplicates_hidden) if duplicates_hidden else None,
        "contacts": contacts,
        "can_approve": approvable and waits is None and bank_problem is None,
        # Paid by transfer without details that can be paid: approval waits for them, or for cash at the office.
        "approval_needs_payout": pick(bank_problem) if approvable and bank_problem and period_ended is None else None,
        "approval_waits": pick(waits) if waits and (approvable or period_ended) else None,
        "can_reject": (state, ClaimAction.REJECT) in TRANSITIONS,
        "can_decline": (state, ClaimAction.DECLINE) in TRANSITIONS,
        "casework": review.has_casework(state),
        "can_fix_details": service.may_correct_payment_details(claim),
        "offered": offered,
        "offered_at": moment(offered.created_at) if offered is not None else None,
        # The registered phone the panel asks to call, changed lately: the one who changed it may have sent the offer.
        "phone_changed": service.recent_phone_change(claim.employee_id) if offered is not None else None,
        "phone_change_days": service.RECENT_PHONE_CHANGE_DAYS,
        **_offer_is_new(claim, offered),
        "dismiss_form": dismiss_form,
        "may_work": _may_work(claim, user),
        "can_offer_cash": state == ClaimState.AWAITING_PAYMENT_DETAILS and period_ended is None,
        "cash_payment": service.open_cash_payment(claim),
        "payment_period": service.payment_period(claim),
        "held_by_me": claim.assigned_to_id == user.id,
        "held_by_other": claim.assigned_to_id not in (None, user.id),
        "holder_email": _holder(claim, user)["email"],
        # Why it was refused, as its notice gives it: the reasons, and the written reason ("another reason" is it).
        "refused_for": _refused_for(claim) if state == ClaimState.REJECTED else [],
        "action_form": ActionForm(),
        "assign_form": _assign_form(claim, user),
        "max_failures": service.max_payment_failures(claim),
        "bank_alert_at": current_app.config["DISBURSE_PAYMENT_BANK_FAILURES_ALERT"],
        "cash_roles": CASH_ROLES,
        "declared_unit": _declared_unit(claim, detail["employer"]),
        "declared_differs": _declared_differs(claim, detail["person"]),
    }


def _offer_is_new(claim: Claim, offered: Any) -> dict[str, Any]:
    """Whether the person's offered account is one a payment of the claim already failed to (``offered_failed``: why,
    in words) or the one the claim holds (``offered_same``): neither is worth the call the panel asks for."""
    if offered is None:
        return {"offered_failed": None, "offered_same": False}
    account = (offered.data.get("bank_code"), offered.data.get("bank_account"))
    # The rule Form 03 and the office's correction refuse such an account by (not a bank's timeout, nor the end).
    failed = failed_before(claim.id, *account) if all(account) else None
    return {
        "offered_failed": pick(failed) if failed is not None else None,
        "offered_same": account == (claim.bank_code, claim.bank_account),
    }


def _assign_form(claim: Claim, user: User) -> AssignToForm | None:
    """The "give to" form for a supervisor or an admin on a claim with casework (None otherwise, or nobody to give
    it to): its district's caseworkers, the holder left out."""
    if user.role not in review.SUPERVISING_ROLES or not review.has_casework(ClaimState(claim.state)):
        return None
    choices = [(value, label) for value, label in _assignable(claim) if value != str(claim.assigned_to_id)]
    if not choices:
        return None
    form = AssignToForm(formdata=None)
    form.user_id.choices = [("", _("Chọn cán bộ")), *choices]
    return form


def _may_work(claim: Claim, user: User) -> bool:
    """Whether ``user`` may work the claim now (:func:`disburse.verification.review.may_work`)."""
    try:
        review.may_work(claim, user)
    except ReviewError:
        return False
    return True


#: What a Form 04 declares about the person beside the registry's word for it: (label, the registry's key).
_DECLARED = (
    (("Họ và tên", "Full name"), "full_name"),
    (("Ngày sinh", "Date of birth"), "date_of_birth"),
    (("Số điện thoại", "Phone"), "phone"),
    (("Địa chỉ liên hệ", "Contact address"), "address"),
)


def _declared_differs(claim: Claim, person: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What the person declared on Form 04 that is not what the registry holds: (what, the registry's, the form's),
    in the page's words (a new phone or address typed from the person's papers went nowhere a caseworker looked; the
    registry's is what the office calls)."""
    declared = claim.application or {}
    found: list[tuple[str, str, str]] = []
    for label, key in _DECLARED:
        theirs, ours = declared.get(key), person.get(key)
        if not theirs:
            continue
        same = (
            unicodedata.normalize("NFC", str(theirs)).casefold().split()
            == unicodedata.normalize("NFC", str(ours or "")).casefold().split()
        )
        if not same:
            shown = (dmy(_day(ours)), dmy(_day(theirs))) if key == "date_of_birth" else (ours or "—", theirs)
            found.append((pick(label), str(shown[0]), str(shown[1])))
    months = declared.get("unused_months")
    if isinstance(months, int) and months != claim.unused_months:
        found.append(
            (pick(("Số tháng đóng BHTN chưa hưởng", "Unused UI months")), str(claim.unused_months), str(months))
        )
    return found


def _declared_unit(claim: Claim, employer: dict[str, Any] | None) -> dict[str, Any] | None:
    """The unit named on the claim's Form 04 when it is not the claim's unit (a code the registry does not have, or
    a track A claim's own unit kept): its code and, if registered, its name."""
    code = (claim.application or {}).get("unit_code")
    if not code or (employer is not None and employer["unit_code"].upper() == code.upper()):
        return None
    named = unit_by_code(code)
    return {"code": code, "name": named.name if named else None}


@bp.get("/claims/<int:claim_id>")
@roles_required(*STAFF)
def case(claim_id: int) -> ResponseReturnValue:
    return render_template("caseworker/case.html", **_case_context(claim_id))


def _simple_action(
    claim_id: int, act: Callable[[int, User], review.ActionResult], done: str, form: Form | None = None
) -> ResponseReturnValue:
    form = form or ActionForm()
    if not form.validate_on_submit():
        if not form.errors.get("csrf_token") and form.errors:  # a field's problem: said on the case page
            for errors in form.errors.values():
                for message in errors:
                    flash(message, "error")
            return redirect(url_for(".case", claim_id=claim_id))
        abort(400)
    savepoint = db.session.begin_nested()  # nothing half done survives a refused action
    try:
        act(claim_id, _user())
    except ReviewError as exc:
        savepoint.rollback()
        for message in _refused(exc, form):
            flash(message, "error")
        return redirect(url_for(".case", claim_id=claim_id))
    savepoint.commit()
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(".case", claim_id=claim_id))


@bp.post("/claims/<int:claim_id>/assign")
@roles_required(*STAFF)
def take(claim_id: int) -> ResponseReturnValue:
    return _simple_action(claim_id, review.assign, _("Bạn đã nhận xử lý hồ sơ này."))


def _assignable(claim: Claim) -> list[tuple[str, str]]:
    """Whom a supervisor or an admin may give the claim to: the active caseworkers of its district, by name."""
    people = db.session.scalars(
        select(User)
        .where(User.active, User.role == "caseworker", User.district_code == claim.district_code)
        .order_by(User.full_name, User.email)
    )
    return [(str(user.id), f"{user.full_name} ({user.email})" if user.full_name else user.email) for user in people]


@bp.post("/claims/<int:claim_id>/assign-to")
@roles_required(*review.SUPERVISING_ROLES)
def assign_to(claim_id: int) -> ResponseReturnValue:
    """A supervisor or an admin gives the claim to one of its district's caseworkers (the holder's replacement)."""
    form = AssignToForm()
    form.user_id.choices = _assignable(_claim(claim_id))
    chosen = dict(form.user_id.choices).get(form.user_id.data or "", "")
    return _simple_action(
        claim_id,
        lambda claim_id, user: review.assign(claim_id, user, int(form.user_id.data or 0)),
        _("Đã giao hồ sơ cho %(who)s.", who=chosen),
        form,
    )


@bp.post("/claims/<int:claim_id>/release")
@roles_required(*STAFF)
def release(claim_id: int) -> ResponseReturnValue:
    return _simple_action(claim_id, review.release, _("Hồ sơ đã được trả lại hàng chờ."))


# ------------------------------------------------------------------------------------------------ action forms


def _action_page(
    claim_id: int,
    form: Form,
    template: str,
    act: Callable[[Claim, User], Any],
    done: str | Callable[[Any], str],
    *,
    closed: Callable[[Claim], str | None] | None = None,
    after: str | None = None,
    **context: Any,
) -> ResponseReturnValue:
    """GET: the form for the claim, or back to the case saying why not when ``closed`` gives a reason (the action
    cannot be taken in the claim's state: a link kept from before, a URL typed); POST: check it, act through the
    service (which refuses by itself whatever cannot be done), commit and go back to the case (or show every error
    above the form). A :class:`ConfirmedForm` (money moves) acts only on its second post: the first tries the action
    and undoes it, then shows the page with ``confirming`` set, saying what will happen (or what the service
    refused); its "change" button (``edit``) brings the form back. An action that finds what it asks for already
    done (an :class:`~disburse.verification.review.ActionResult` that changed nothing: the same post again, a
    second click on "confirm") goes back to the case with ``done`` too. ``after``: the page to go back to instead of
    the case (the cash desk a receipt was opened from)."""
    claim = _claim(claim_id)
    back = after or url_for(".case", claim_id=claim_id)
    general: list[str] = []
    status = 200
    why_not = closed(claim) if closed is not None and request.method == "GET" else None
    if why_not:
        flash(why_not, "error")
        return redirect(back)
    confirming = False
    if isinstance(form, DecisionForm) and request.method == "GET":
        form.seen.data = review.last_event_id(claim_id)
    if request.method == "POST":
        valid = form.validate()
        if valid and isinstance(form, ConfirmedForm) and (form.confirmed.data != "1" or "edit" in request.form):
            if "edit" not in request.form:
                # Tried and undone: whatever the service would refuse is said now, not after "confirm".
                savepoint = db.session.begin_nested()
                try:
                    outcome = act(claim, _user())
                except ReviewError as exc:
                    general, status, changed = _refused(exc, form), exc.status, exc.code == "changed_since"
                else:
                    confirming, changed = True, False
                savepoint.rollback()
                if changed and isinstance(form, DecisionForm):
                    form.seen.data = review.last_event_id(claim_id)  # the page now shows the claim as it is
                if confirming and _already_done(outcome):
                    flash(done(outcome) if callable(done) else done, "success")
                    return redirect(back)
                claim = _claim(claim_id)
        elif valid:
            savepoint = db.session.begin_nested()  # nothing half done survives a refused action
            try:
                outcome = act(claim, _user())
            except ReviewError as exc:
                savepoint.rollback()
                general = _refused(exc, form)
                claim = _claim(claim_id)
                status = exc.status
                if isinstance(form, DecisionForm) and exc.code == "changed_since":
                    form.seen.data = review.last_event_id(claim_id)  # the page now shows the claim as it is
            else:
                savepoint.commit()
                db.session.commit()
                flash(done(outcome) if callable(done) else done, "success")
                return redirect(back)
        else:
            status = 422
    person = db.session.get(Employee, claim.employee_id)
    page = render_template(
        template, claim=claim, person=person, form=form, general_errors=general, confirming=confirming, **context
    )
    return page, status


def _already_done(outcome: Any) -> bool:
    return isinstance(outcome, review.ActionResult) and not outcome.changed


def _state_words(claim: Claim) -> str:
    return pick(STATE_LABELS[ClaimState(claim.state)])


def _unless(action: ClaimAction, message: Callable[[str], str]) -> Callable[[Claim], str | None]:
    """Why ``action``'s form is not offered for a claim: ``message`` with the claim's state, when the machine has
    no such move from it."""
    return lambda claim: None if (ClaimState(claim.state), action) in TRANSITIONS else message(_state_words(claim))


def _out_of_scope(hidden: int) -> str:
    return ngettext(
        "%(n)d hồ sơ nghi trùng nằm ngoài phạm vi của bạn: lãnh đạo có phạm vi bao quát cả nhóm cần xử lý.",
        "%(n)d hồ sơ nghi trùng nằm ngoài phạm vi của bạn: lãnh đạo có phạm vi bao quát cả nhóm cần xử lý.",
        hidden,
        n=hidden,
    )


def _no_cash_payment(claim: Claim) -> str | None:
    if service.open_cash_payment(claim) is not None:
        return None
    return _("Hồ sơ không có khoản chi tiền mặt nào đang chờ chi tại cơ quan BHXH.")


#: The approval pages' words for the service's refusal of an approval not checked: the tick they ask for.
_TICK_FIRST = (
    "Hãy kiểm tra các nội dung cần xác minh ở trên rồi đánh dấu “Tôi đã kiểm tra các nội dung trên” trước khi duyệt.",
    "Check the points above that needed checking, then tick “I have checked the above” before approving.",
)


def _asking_the_tick(approve: Callable[[], review.ActionResult]) -> review.ActionResult:
    """``approve()``, its refusal for what was not checked (:func:`disburse.verification.review.approve`) said as the
    page asks it: with the tick."""
    try:
        return approve()
    except review.Invalid as exc:
        if "checked" in exc.fields:
            exc.fields["checked"] = _TICK_FIRST
        raise


def _checked(
    claim: Claim, form: CheckedApproveForm | CheckedApproveCashForm, settled: frozenset[str] = frozenset()
) -> list[str]:
    """The codes the page listed as needing a check (:func:`disburse.verification.review.to_check`) when the
    caseworker ticked that they checked them; none otherwise."""
    return [entry["code"] for entry in review.to_check(claim, settled)] if form.checked.data else []


def _to_check_labels(claim: Claim, settled: frozenset[str] = frozenset()) -> list[str]:
    return [pick((entry["label_vi"], entry["label_en"])) for entry in review.to_check(claim, settled)]


def _refused_for(claim: Claim) -> list[str]:
    last_reject = db.session.scalar(
        select(ClaimEvent)
        .where(ClaimEvent.claim_id == claim.id, ClaimEvent.action == ClaimAction.REJECT.value)
        .order_by(ClaimEvent.id.desc())
        .limit(1)
    )
    labels, text = notices.printed_reasons(last_reject)
    return [pick(label) for label in labels] + ([text] if text else [])


def _holder(claim: Claim, user: User) -> dict[str, Any]:
    """Who holds the claim, as the approval page says it: ``email`` (None when no one), whether it is the reader
    (``mine``), and, when someone else holds it, whether the reader may still act (a supervisor) or not."""
    holder = db.session.get(User, claim.assigned_to_id) if claim.assigned_to_id is not None else None
    return {
        "email": holder.email if holder is not None else None,
        "mine": holder is not None and holder.id == user.id,
        "may_work": _may_work(claim, user),
    }


@bp.route("/claims/<int:claim_id>/approve", methods=["GET", "POST"])
@roles_required(*STAFF)
def approve(claim_id: int) -> ResponseReturnValue:
    """The approval: what verification found that needed checking (as on the case page) and who holds the claim,
    above the form; when something needed checking, the caseworker's tick that they checked it (required)."""
    form = CheckedApproveForm()
    claim = _claim(claim_id)

    def approve(claim: Claim, user: User) -> review.ActionResult:
        checked = _checked(claim, form)
        return _asking_the_tick(
            lambda: review.approve(
                claim.id, user, form.note.data or None, checked=checked, seen=record_id(form.seen.data)
            )
        )

    return _action_page(
        claim_id,
        form,
        "caseworker/approve.html",
        approve,
        _("Hồ sơ đã được duyệt."),
        closed=_not_approvable,
        to_check=_to_check_labels(claim),
        holder=_holder(claim, _user()),
    )


@bp.route("/claims/<int:claim_id>/approve-cash", methods=["GET", "POST"])
@roles_required(*CASH_ROLES)
def approve_cash(claim_id: int) -> ResponseReturnValue:
    """Approve a claim in review to be paid in cash at the office: the case page offers it beside entering the bank
    details when the missing ones keep the claim from approval."""
    form = CheckedApproveCashForm()
    claim = _claim(claim_id)

    def closed(claim: Claim) -> str | None:
        return _not_cash_approvable(claim) or pick(review.undecided_duplicates(claim, current_user))

    def approve(claim: Claim, user: User) -> review.ActionResult:
        checked = _checked(claim, form, review.BANK_DETAILS)
        return _asking_the_tick(
            lambda: service.approve_in_cash(
                claim.id, user, form.reason.data or "", checked=checked, seen=record_id(form.seen.data)
            )
        )

    return _action_page(
        claim_id,
        form,
        "caseworker/approve_cash.html",
        approve,
        _("Hồ sơ đã được duyệt; người lao động nhận tiền mặt tại cơ quan BHXH (danh sách chi tiền mặt tiếp theo)."),
        closed=closed,
        bank_problem=pick(review.bank_problem(claim)),
        to_check=_to_check_labels(claim, review.BANK_DETAILS),
    )


def _not_cash_approvable(claim: Claim) -> str | None:
    if ClaimState(claim.state) == ClaimState.NEEDS_REVIEW and claim.payout == "bank":
        return None
    return _(
        "Chỉ chọn nhận tiền mặt khi duyệt hồ sơ cần xác minh nhận tiền qua chuyển khoản; hồ sơ đang ở trạng thái "
        "“%(state)s”.",
        state=_state_words(claim),
    )


def _not_approvable(claim: Claim) -> str | None:
    """Why the claim cannot be approved now: its state, its programme's last payable day passed, its possible
    duplicates not yet decided, or bank details it cannot be paid with (the case page offers their correction, or
    cash at the office, instead)."""
    if (ClaimState(claim.state), ClaimAction.APPROVE) not in TRANSITIONS:
        return _("Không thể duyệt hồ sơ đang ở trạng thái “%(state)s”.", state=_state_words(claim))
    ended = review.period_ended(claim)
    if ended is not None:
        return pick(ended)
    undecided = review.undecided_duplicates(claim, current_user)
    if undecided:
        return pick(undecided)
    problem = review.bank_problem(claim)
    if problem:
        return _(
            "Chưa thể duyệt: hồ sơ nhận tiền qua chuyển khoản nhưng %(problem)s. Hãy nhập thông tin tài khoản ngân "
            "hàng, hoặc chọn duyệt và nhận tiền mặt tại cơ quan BHXH.",
            problem=pick(problem),
        )
    return None


@bp.route("/claims/<int:claim_id>/reject", methods=["GET", "POST"])
@roles_required(*STAFF)
def reject(claim_id: int) -> ResponseReturnValue:
    form = RejectForm()
    claim = _claim(claim_id)
    ended = review.period_ended(claim) is not None
    # Only the reasons that can be true of this claim: the notice prints the one chosen to the person (a group A
    # worker told of a pension, a listed person of a late Form 04). The service refuses the others too.
    form.reason_code.choices = [
        (code, pick(pair)) for code, pair in review.refusal_reasons().items() if review.refusal_applies(code, claim)
    ]
    if request.method == "GET" and ended:
        form.reason_code.data = reasons.PAYMENT_PERIOD_ENDED
    return _action_page(
        claim_id,
        form,
        "caseworker/reject.html",
        lambda claim, user: review.reject(
            claim.id, user, form.reason_code.data, form.reason_text.data, seen=record_id(form.seen.data)
        ),
        _("Hồ sơ đã bị từ chối. Hãy in thông báo gửi người lao động."),
        closed=_unless(
            ClaimAction.REJECT, lambda state: _("Không thể từ chối hồ sơ đang ở trạng thái “%(state)s”.", state=state)
        ),
        min_other_text=review.MIN_OTHER_TEXT,
    )


@bp.route("/claims/<int:claim_id>/decline", methods=["GET", "POST"])
@roles_required(*STAFF)
def decline(claim_id: int) -> ResponseReturnValue:
    """The person told the office they do not want the support (after their unit's Form 02, or at the office)."""
    form = DeclineForm()
    return _action_page(
        claim_id,
        form,
        "caseworker/decline.html",
        lambda claim, user: review.record_decline(claim.id, user, form.note.data or "", seen=record_id(form.seen.data)),
        _("Đã ghi nhận người lao động không nhận hỗ trợ."),
        closed=_unless(
            ClaimAction.DECLINE,
            lambda state: _(
                "Không thể ghi nhận không nhận hỗ trợ cho hồ sơ đang ở trạng thái “%(state)s”.", state=state
            ),
        ),
    )


def _contact_form() -> ContactForm:
    """A contact attempt's form, its choices in the page's language (a claim's and a person's without a claim)."""
    form = ContactForm()
    form.channel.choices = [(code, pick(pair)) for code, pair in CONTACT_CHANNELS.items()]
    form.outcome.choices = [(code, pick(pair)) for code, pair in CONTACT_OUTCOMES.items()]
    return form


@bp.route("/claims/<int:claim_id>/contact", methods=["GET", "POST"])
@roles_required(*STAFF)
def contact(claim_id: int) -> ResponseReturnValue:
    form = _contact_form()
    if request.method == "GET":
        form.seen.data = review.last_event_id(claim_id)
    return _action_page(
        claim_id,
        form,
        "caseworker/contact.html",
        lambda claim, user: review.log_contact(
            claim.id, user, form.channel.data, form.outcome.data, form.note.data or None, seen=record_id(form.seen.data)
        ),
        _("Đã ghi lần liên hệ."),
    )


@bp.route("/claims/<int:claim_id>/request-info", methods=["GET", "POST"])
@roles_required(*STAFF)
def request_info(claim_id: int) -> ResponseReturnValue:
    claim = _claim(claim_id)
    program = db.session.get(Program, claim.program_id)
    form = RequestInfoForm(last_day=program.last_payable_day if program is not None else None)
    form.addressee.choices = [(code, pick(pair)) for code, pair in INFO_ADDRESSEES.items()]
    if request.method == "GET":
        form.seen.data = review.last_event_id(claim_id)
    return _action_page(
        claim_id,
        form,
        "caseworker/request_info.html",
        lambda claim, user: review.request_info(
            claim.id, user, form.addressee.data, form.note.data, form.due_on.data, seen=record_id(form.seen.data)
        ),
        lambda outcome: (
            _("Đã ghi yêu cầu bổ sung thông tin.")
            if outcome.found is None
            else _(
                "Yêu cầu này đã được ghi nhận ngày %(day)s và đang chờ trả lời; không ghi thêm.",
                day=dmy(outcome.found.created_at),
            )
        ),
        closed=lambda claim: (
            _("Hồ sơ đã kết thúc (“%(state)s”): không cần yêu cầu bổ sung thông tin.", state=_state_words(claim))
            if ClaimState(claim.state) in CLOSED_STATES
            else _(
                "Hồ sơ đang ở trạng thái “%(state)s”: không có việc gì cần yêu cầu bổ sung thông tin.",
                state=_state_words(claim),
            )
            if not review.has_casework(claim.state)
            else None
        ),
    )


def _duplicate_decided(outcome: review.ActionResult) -> str:
    """What the duplicate decision did: recorded; and when the kept claim still needs checking (an override that
    leaves it for the approval), that it does."""
    if review.to_check(outcome.claim):
        return _("Đã ghi quyết định về hồ sơ nghi trùng. Hồ sơ được giữ lại còn nội dung cần kiểm tra trước khi duyệt.")
    return _("Đã ghi quyết định về hồ sơ nghi trùng.")


@bp.route("/claims/<int:claim_id>/duplicates", methods=["GET", "POST"])
@roles_required(*STAFF)
def resolve_duplicate(claim_id: int) -> ResponseReturnValue:
    claim = _claim(claim_id)
    columns, hidden = service.duplicates_side_by_side(claim, _user())
    form = ResolveDuplicateForm()
    form.keep.choices = [
        (
            str(c.claim.id),
            f"{c.employee.si_code} · {c.employee.full_name} · {pick(STATE_LABELS[ClaimState(c.claim.state)])}",
        )
        for c in columns
    ]
    return _action_page(
        claim_id,
        form,
        "caseworker/duplicates.html",
        lambda claim, user: review.resolve_duplicate(
            claim.id, user, int(form.keep.data), override=bool(form.override.data), note=form.note.data or None
        ),
        _duplicate_decided,
        closed=lambda claim: (
            _("Hồ sơ không có hồ sơ nghi trùng nào cần xử lý.")
            if not columns
            else _out_of_scope(hidden)
            if hidden
            else _("Hồ sơ đang ở trạng thái “%(state)s”: không còn gì cần xử lý nghi trùng.", state=_state_words(claim))
            if claim.state in TERMINAL_STATES
            else _("Nhóm nghi trùng này đã được xử lý (xem lịch sử hồ sơ).")
            if review.undecided_duplicates(claim, _user()) is None
            else None
        ),
        columns=columns,
    )


@bp.route("/claims/<int:claim_id>/payment-details", methods=["GET", "POST"])
@roles_required(*STAFF)
def payment_details(claim_id: int) -> ResponseReturnValue:
    form = PaymentDetailsForm()
    form.bank_code.choices = bank_choices()
    claim = _claim(claim_id)
    offer_id = request.args.get("offer", type=int)
    if request.method == "GET" and offer_id is not None and 0 < offer_id <= review.MAX_ID:
        # Prefilled from the details the person sent, while that offer is still the open one: one dismissed (a fraud
        # attempt, say), used or replaced since fills nothing (a tab kept open, the back button).
        offered = person_details.open_offer(claim)
        if offered is not None and offered.id == offer_id:
            sent = offered.data or {}
            form.bank_code.data, form.bank_account.data = sent.get("bank_code") or "", sent.get("bank_account") or ""
        elif person_details.offer(claim, offer_id) is None:  # not this claim's offer (a link of another case)
            flash(_("Hồ sơ này không có đề nghị đó: thông tin không được điền sẵn."), "error")
        else:
            flash(
                _(
                    "Đề nghị của người lao động này đã được xử lý (đã dùng, đã bỏ qua, hoặc đã có đề nghị mới hơn): "
                    "thông tin không được điền sẵn."
                ),
                "error",
            )

    def act(claim: Claim, user: User) -> review.ActionResult:
        result = service.correct_payment_details(
            claim.id, user, form.bank_code.data or "", form.bank_account.data or "", seen=record_id(form.seen.data)
        )
        if result.errors:
            raise review.Invalid({e.field: (e.message_vi, e.message_en) for e in result.errors})
        return review.ActionResult(claim, changed=result.outcome != "unchanged")

    if claim.state == ClaimState.NEEDS_REVIEW:
        done = _("Đã sửa thông tin tài khoản; hồ sơ vẫn chờ xem xét, có thể duyệt khi đủ điều kiện.")
    else:
        done = _("Đã sửa thông tin tài khoản; hồ sơ sẽ được chi trả lại ở lô sau.")
    return _action_page(
        claim_id,
        form,
        "caseworker/payment_details.html",
        act,
        done,
        closed=lambda claim: (
            None
            if service.may_correct_payment_details(claim)
            else _(
                "Không thể sửa thông tin tài khoản của hồ sơ đang ở trạng thái “%(state)s”.", state=_state_words(claim)
            )
            if (ended := review.period_ended(claim)) is None
            else pick(ended)
        ),
    )


@bp.route("/claims/<int:claim_id>/phone", methods=["GET", "POST"])
@roles_required(*STAFF)
def record_phone(claim_id: int) -> ResponseReturnValue:
    """The person's new phone number, for the registry: the person came to the office with their ID card. The form
    is never filled in (the number the person may have sent on the public page with bank details is not offered)."""
    form = RecordPhoneForm()
    return _action_page(
        claim_id,
        form,
        "caseworker/record_phone.html",
        lambda claim, user: service.record_phone(
            claim.id, user, form.phone.data or "", id_card_seen=bool(form.id_card_seen.data)
        ),
        lambda outcome: (
            _("Đã ghi số điện thoại mới của người lao động; cán bộ gọi số này khi cần xác nhận.")
            if outcome.changed
            else _(
                "Số điện thoại %(phone)s là số cơ quan BHXH đang có; không ghi thêm.",
                phone=phone_digits(form.phone.data or ""),
            )
        ),
    )


@bp.route("/claims/<int:claim_id>/offer-dismiss", methods=["GET", "POST"])
@roles_required(*STAFF)
def dismiss_offer(claim_id: int) -> ResponseReturnValue:
    """Dismiss the person's offer of bank details, with the reason: the case page's form (this page shows it again
    with its errors, or on its own for a link kept)."""
    form = DismissOfferForm()
    claim = _claim(claim_id)
    offered = person_details.open_offer(claim)
    if request.method == "GET" and offered is not None:
        form.offer.data = str(offered.id)
    posted = record_id(form.offer.data) if request.method == "POST" else None
    if posted is not None:
        offered = person_details.offer(claim, posted) or offered  # the offer the post names, as it was
    return _action_page(
        claim_id,
        form,
        "caseworker/dismiss_offer.html",
        lambda claim, user: service.dismiss_offer(claim.id, user, posted or 0, form.reason.data or ""),
        _("Đã bỏ qua đề nghị của người lao động: thông tin tài khoản đó không được dùng."),
        closed=lambda claim: (
            None
            if offered is not None
            else _("Hồ sơ không có đề nghị thông tin tài khoản nào của người lao động đang chờ xử lý.")
        ),
        offered=offered,
        offered_at=moment(offered.created_at) if offered is not None else None,
    )


@bp.route("/claims/<int:claim_id>/cash", methods=["GET", "POST"])
@roles_required(*CASH_ROLES)
def offer_cash(claim_id: int) -> ResponseReturnValue:
    form = OfferCashForm()
    claim = _claim(claim_id)
    if claim.payout == "cash":
        form.reason.label.text = _("Ghi chú")
    offered = person_details.open_offer(claim)
    if request.method == "GET":
        form.offer.data = str(offered.id) if offered is not None else ""

    def act(claim: Claim, user: User) -> review.ActionResult:
        # The person's open offer of bank details is dismissed with the switch, only the one the page showed.
        try:
            return service.offer_cash_over_offer(claim.id, user, form.reason.data or None, record_id(form.offer.data))
        except service.CaseworkRefused as exc:
            if exc.code == "offer_unseen":  # the page shows the new offer, for the next post to name it
                current = person_details.open_offer(claim)
                form.offer.data = str(current.id) if current is not None else ""
            raise

    return _action_page(
        claim_id,
        form,
        "caseworker/offer_cash.html",
        act,
        _("Hồ sơ chuyển sang nhận tiền mặt tại cơ quan BHXH; người lao động có tên trong danh sách chi tiền mặt."),
        closed=lambda claim: (
            _(
                "Chỉ chuyển sang nhận tiền mặt khi hồ sơ chờ bổ sung thông tin tài khoản; hồ sơ đang ở trạng thái "
                "“%(state)s”.",
                state=_state_words(claim),
            )
            if ClaimState(claim.state) != ClaimState.AWAITING_PAYMENT_DETAILS
            else pick(ended)
            if (ended := review.period_ended(claim)) is not None
            else None
        ),
        max_failures=service.max_payment_failures(claim),
        offered=offered,
        offered_at=moment(offered.created_at) if offered is not None else None,
        can_fix_details=service.may_correct_payment_details(claim),
    )


@bp.route("/claims/<int:claim_id>/cash-receipt", methods=["GET", "POST"])
@roles_required(*CASH_ROLES)
def cash_receipt(claim_id: int) -> ResponseReturnValue:
    form = CashReceiptForm()
    claim = _claim(claim_id)
    payment = service.open_cash_payment(claim)
    person = db.session.get(Employee, claim.employee_id)
    desk = _desk_to_return_to()

    def paid(outcome: review.ActionResult) -> str:
        receipt = clean_receipt_number(form.receipt_number.data)
        if not outcome.changed:
            return _(
                "Đã ghi nhận chi trả tiền mặt theo biên lai số %(receipt)s từ trước; không ghi thêm.", receipt=receipt
            )
        return _(
            "Đã ghi nhận chi trả tiền mặt: %(amount)s cho %(name)s (hồ sơ số %(id)s), biên lai số %(receipt)s.",
            amount=vnd(payment.amount_vnd if payment else claim.amount_vnd),
            name=person.full_name if person else "—",
            id=claim.id,
            receipt=receipt,
        )

    return _action_page(
        claim_id,
        form,
        "caseworker/cash_receipt.html",
        lambda claim, user: service.record_cash_receipt(claim.id, user, form.receipt_number.data or ""),
        paid,
        closed=_no_cash_payment,
        after=desk,
        desk=desk,
        payment=payment,
        paid=service.paid_cash_payment(claim) if payment is None else None,
        period=service.payment_period(claim),
    )


#: A receipt page opened from the cash desk says so in its query (``?from=desk``, with the desk's office and day):
#: once the person is paid, the cashier is back at the desk's search, ready for the next person.
FROM_DESK = "desk"
#: The desk's search field: the page the cashier comes back to has the focus there (layout.js focuses the fragment).
DESK_SEARCH = "q"


def _desk_to_return_to() -> str | None:
    """The cash desk to go back to from a receipt page opened from it, with the desk's office and day when they are
    valid; None when the page was not opened from the desk. Built with ``url_for`` from the checked filters, never
    from a URL in the request: no redirect elsewhere."""
    if request.args.get("from") != FROM_DESK:
        return None
    filters = CashDeskForm(request.args)
    kept: dict[str, Any] = {}
    if filters.validate():
        kept = {name: request.args[name] for name in ("district", "day") if request.args.get(name)}
    return url_for(".cash_desk", **kept, _anchor=DESK_SEARCH)


@bp.route("/claims/<int:claim_id>/cash-withdraw", methods=["GET", "POST"])
@roles_required(*CASH_ROLES)
def withdraw_cash(claim_id: int) -> ResponseReturnValue:
    form = WithdrawCashForm()
    claim = _claim(claim_id)
    payment = service.open_cash_payment(claim)
    if request.method == "GET" and payment is not None:
        form.payment.data = str(payment.id)
    return _action_page(
        claim_id,
        form,
        "caseworker/withdraw_cash.html",
        lambda claim, user: service.withdraw_cash_payment(
            claim.id, user, form.reason.data or "", seen=record_id(form.payment.data)
        ),
        _(
            "Đã rút khỏi danh sách chi tiền mặt; hồ sơ chờ thông tin tài khoản hoặc được đưa lại vào danh sách chi "
            "tiền mặt."
        ),
        closed=_no_cash_payment,
        payment=payment,
    )


#: People per page of the cash desk's list (a district may pay hundreds in cash).
CASH_DESK_PAGE = 100


@bp.get("/cash-desk")
@roles_required(*STAFF)
def cash_desk() -> ResponseReturnValue:
    """The people the office pays in cash: every open cash payment of the district (or those of the lists issued on
    a day), in name order, with the total, each opening its receipt form (the `payments cash-list` command's list)."""
    user = _user()
    form = CashDeskForm(request.args)
    if request.args and not form.validate():
        return render_template("caseworker/cash_desk.html", form=form, rows=None), 422
    if user.role != "caseworker" and not form.district.data:
        return render_template("caseworker/cash_desk.html", form=form, rows=None)
    try:
        district = outreach.check_district(user, form.district.data or user.district_code)
    except review.NotFound:
        abort(404)
    program = _program()
    rows = cash_list(program, district, form.day.data, form.q.data or "")
    office = db.session.get(District, district)
    kept = {name: request.args[name] for name in ("district", "day") if request.args.get(name)}
    pages = max(ceil(len(rows) / CASH_DESK_PAGE), 1)
    page = min(form.page.data or 1, pages)
    return render_template(
        "caseworker/cash_desk.html",
        form=form,
        rows=rows,
        shown=rows[(page - 1) * CASH_DESK_PAGE : page * CASH_DESK_PAGE],
        page=page,
        pages=pages,
        args=lambda **changes: {k: v for k, v in ({**request.args, **changes}).items() if v},
        office=office.name if office else district,
        total=sum(row.amount_vnd for row in rows),
        may_record=user.role in CASH_ROLES,
        period=service.programme_period(program),
        day=form.day.data,
        query=form.q.data or "",
        # The receipt pages it opens come back here once the person is paid; the printed list is the whole day's.
        receipt_args={"from": FROM_DESK, **kept},
        print_args=kept,
    )


@bp.get("/cash-desk/list.xlsx")
@roles_required(*STAFF)
def cash_desk_list() -> ResponseReturnValue:
    """The cash desk's list (the office's, of a day or every open payment) as the XLSX to print and pay against:
    the file ``payments cash-list --out`` writes, with the receipt and signature columns (the search is not applied:
    the paper lists everyone)."""
    user = _user()
    form = CashDeskForm(request.args)
    if not form.validate() or (user.role != "caseworker" and not form.district.data):
        return render_template("caseworker/cash_desk.html", form=form, rows=None), 422
    try:
        district = outreach.check_district(user, form.district.data or user.district_code)
    except review.NotFound:
        abort(404)
    office = db.session.get(District, district)
    if office is None:
        abort(404)
    rows = cash_list(_program(), district, form.day.data)
    when = form.day.data or programme_today()
    return download(exports.cash_list_file(rows, office, form.day.data), f"chi-tien-mat-{district}-{when:%Y%m%d}.xlsx")


# ---------------------------------------------------------------------------------------------------- outreach


def _outreach_form(user: User) -> OutreachForm:
    form = OutreachForm(request.args)
    form.kind.choices = [(code, pick(pair)) for code, pair in outreach.KINDS.items()]
    form.format.choices = [("xlsx", "Excel (XLSX)"), ("csv", "CSV")]
    return form


def _outreach_district(form: OutreachForm, user: User) -> str:
    try:
        return outreach.check_district(user, form.district.data or user.district_code)
    except review.NotFound:
        abort(404)


@bp.get("/outreach")
@roles_required(*STAFF)
def outreach_list() -> ResponseReturnValue:
    user = _user()
    form = _outreach_form(user)
    if request.args and not form.validate():
        return render_template("caseworker/outreach.html", form=form, rows=None), 422
    if user.role != "caseworker" and not form.district.data:
        return render_template("caseworker/outreach.html", form=form, rows=None, district=None)
    district = _outreach_district(form, user)
    kind = form.kind.data or "no_application"
    program = _program()
    rows, next_after = outreach.page(
        program.id, district, kind, with_phone=bool(form.with_phone.data), after=form.after.data or 0, limit=PAGE
    )
    args = {k: v for k, v in request.args.items() if k not in ("after", "format")}
    return render_template(
        "caseworker/outreach.html",
        form=form,
        rows=rows,
        kind=kind,
        max_failures=program.max_payment_failures,
        district=district,
        next_args={**args, "after": next_after} if next_after else None,
        export_args={**args, "kind": kind},
        first_page=not form.after.data,
    )


@bp.route("/people/<int:employee_id>/contact", methods=["GET", "POST"])
@roles_required(*STAFF)
def person_contact(employee_id: int) -> ResponseReturnValue:
    """An attempt to reach a person of the outreach list who has no claim (a claim's attempts go on the claim); the
    person's earlier attempts below the form. Back to the person's district's list."""
    user, program_id = _user(), _program_id()
    try:
        person = outreach.person(employee_id, user)
    except review.NotFound:
        abort(404)
    claim_id = outreach.claim_of(program_id, person)
    if claim_id is not None and request.method == "GET":
        return redirect(url_for(".contact", claim_id=claim_id))
    form = _contact_form()
    status, general = 200, []
    if claim_id is not None:
        # A claim was made for the person (Form 04) while this page was open: the attempt goes on the claim. What was
        # typed is kept, on a form now sent to the claim's page, to be sent once more.
        form.seen.data = review.last_event_id(claim_id)
        general = [
            _(
                "Người này vừa có hồ sơ số %(id)s: lần liên hệ được ghi trên hồ sơ. Hãy kiểm tra rồi gửi lại.",
                id=claim_id,
            )
        ]
        status = 409
    elif request.method == "GET":
        form.seen.data = outreach.last_contact_id(program_id, person)
    elif form.validate():
        try:
            outreach.log_contact(
                program_id,
                person,
                user,
                form.channel.data,
                form.outcome.data,
                form.note.data or None,
                seen=record_id(form.seen.data),
            )
        except review.Forbidden:
            abort(403)
        db.session.commit()
        flash(_("Đã ghi lần liên hệ."), "success")
        district = None if user.role == "caseworker" else person.district_code  # a caseworker's own otherwise
        return redirect(url_for(".outreach_list", kind="no_application", district=district))
    else:
        status = 422
    return render_template(
        "caseworker/person_contact.html",
        person=person,
        form=form,
        general_errors=general,
        claim_id=claim_id,
        contacts=outreach.contacts(program_id, person),
        channels=CONTACT_CHANNELS,
        outcomes=CONTACT_OUTCOMES,
    ), status


@bp.get("/outreach/export")
@roles_required(*STAFF)
def outreach_export() -> ResponseReturnValue:
    user = _user()
    form = _outreach_form(user)
    if not form.validate():
        return render_template("caseworker/outreach.html", form=form, rows=None), 422
    district = _outreach_district(form, user)
    kind = form.kind.data or "no_application"
    fmt = form.format.data or "xlsx"
    body = exports.outreach_file(_program_id(), district, kind, fmt, with_phone=bool(form.with_phone.data))
    name = f"lien-he-{kind.replace('_', '-')}-{district}-{programme_today():%Y%m%d}.{fmt}"
    return download(body, name)


# ------------------------------------------------------------------------------------------- Form 04 at the desk

#: The look-up's SI code field's id on the desk's Form 04 page: the Form 04 field below it has the same name (and,
#: by default, id), and each label must point at its own field. The query string keeps the name ``si_code``.
SEARCH_SI_CODE_ID = "tra-cuu-si_code"


def _own_id(field: Any, field_id: str) -> None:
    """Give ``field`` the id ``field_id`` (its label, hint, error and the error summary's link follow ``field.id``)."""
    field.id = field_id
    field.label.field_id = field_id


#: The day a date of birth stands in for while the rest of a form with an unreadable one is checked.
_SOME_DAY = "1990-01-01"


def _application_choices(form: ApplicationForm) -> None:
    form.status.choices = [
        ("stopped", _("Đã chấm dứt hợp đồng, dừng tham gia BHTN")),
        ("participating", _("Đang tham gia BHTN")),
    ]
    form.payout.choices = [
        ("cash", _("Nhận tiền mặt tại cơ quan BHXH")),
        ("bank", _("Chuyển khoản vào tài khoản cá nhân")),
    ]
    form.bank_code.choices = bank_choices()


def _typed_in(field: Any) -> bool:
    """Whether something was typed in the field: a box left blank posts "" (its ``raw_data`` is ``[""]``)."""
    return any(str(value or "").strip() for value in field.raw_data or [])


def _application_body(form: ApplicationForm) -> dict[str, Any]:
    """The Form 04 service's input from the form (the day as ISO, the months as given). A field that was typed but
    could not be read goes as a value the service refuses in its own words (the form already said why); a field left
    blank goes blank, which the service refuses as missing (a blank birth date went as the placeholder day, and was
    recorded as 01/01/1990)."""
    day = form.date_of_birth.data
    months = form.unused_months.data
    return {
        "si_code": form.si_code.data or "",
        "national_id": form.national_id.data or "",
        "full_name": form.full_name.data or "",
        "date_of_birth": day.isoformat() if day else (_SOME_DAY if _typed_in(form.date_of_birth) else ""),
        "phone": form.phone.data or "",
        "address": form.address.data or "",
        "status": form.status.data or "",
        "unit_code": form.unit_code.data or "",
        "unused_months": months if months is not None else (0 if _typed_in(form.unused_months) else ""),
        "payout": form.payout.data or "",
        "bank_code": form.bank_code.data or "",
        "bank_account": form.bank_account.data or "",
    }


def _application_errors(form: ApplicationForm, errors: list[Any], general: list[str]) -> None:
    """The service's field errors onto the form's fields (a field the form already faulted keeps its own)."""
    for error in errors:
        field = form._fields.get(error.field)
        if field is None:
            general.append(pick((error.message_vi, error.message_en)))
        elif not field.errors:
            if error.field == "date_of_birth" and not _typed_in(form.date_of_birth):
                message = _("Hãy ghi ngày sinh, dạng dd/mm/yyyy.")
            elif error.field == "date_of_birth":  # the service speaks of ISO days; the form is dd/mm/yyyy
                message = _("Ngày sinh ghi theo dạng dd/mm/yyyy và không sau ngày %(day)s.", day=dmy(programme_today()))
            else:
                message = pick((error.message_vi, error.message_en))
            field.errors = [*field.errors, message]


#: A Form 04 posted again this soon after the same caseworker took it is the same form sent twice.
JUST_TAKEN = timedelta(minutes=10)


def _just_taken_by(claim: Claim, user: User) -> bool:
    """Whether ``user`` took the person's Form 04 (the claim's application, or its making) a moment ago."""
    since = datetime.now(UTC) - JUST_TAKEN
    return (
        db.session.scalar(
            select(ClaimEvent.id)
            .where(
                ClaimEvent.claim_id == claim.id,
                ClaimEvent.actor_id == user.id,
                ClaimEvent.action.in_(("create", ClaimAction.APPLY.value)),
                ClaimEvent.created_at >= since,
            )
            .limit(1)
        )
        is not None
    )


def _other_office(district: str | None, user: User) -> str | None:
    """The name of ``district``'s office when it is not ``user``'s own (a caseworker's district); None otherwise."""
    if district is None or user.district_code is None or district == user.district_code:
        return None
    office = db.session.get(District, district)
    return office.name if office is not None else district


def _office_told(district: str | None, user: User) -> str | None:
    """The name of the office that works and pays a desk Form 04's claim of ``district``, when the caller is told
    before it is saved: a caseworker when it is not their own district's; a supervisor or an admin always, having no
    office of their own (None for a caseworker's own district, or no district)."""
    if district is None:
        return None
    if user.role != "caseworker":
        office = db.session.get(District, district)
        return office.name if office is not None else district
    return _other_office(district, user)


def _desk_look_up(si_code: str, user: User, program_code: str) -> tuple[Any, bool | str, str | None, str]:
    """The desk's look-up: the person as the caller may see them (or None); for a person not found in the caller's
    scope, whether the registry has the code at all, or what Form 04 would refuse them whatever the form says (a claim
    they have already, the deadline passed), and for a person found without a claim, that refusal too (the deadline
    passed: the page then shows no group, amount nor prefilled form); the other office that would work a new claim of
    the person found (None when it is the caller's, or the person has a claim already); and that office's district
    code when the page tells a supervisor or an admin of it, who then need not confirm it again on saving (else "")."""
    from disburse.claims import applications

    found = service.desk_lookup(si_code, user, program_code)
    if found is None:
        if not applications.in_registry(si_code):
            return None, False, None, ""
        refused = applications.refused_before_the_form(_program(), si_code, programme_today())
        return None, pick(refused) if refused else True, None, ""
    if found.support.get("claim"):
        return found, True, None, ""
    if (closed := applications.refused_before_the_form(_program(), si_code, programme_today())) is not None:
        # Applications closed: said at once, as for a person outside the scope, rather than a group, an amount and a
        # prefilled form that the post then refuses.
        return found, pick(closed), None, ""
    district = applications.expected_district(_program(), si_code, found.prefill["unit_code"])
    told = _office_told(district, user)
    # A caseworker confirms a claim going to another office when saving (they will not open it again); a supervisor
    # or an admin, told here which office every claim goes to, is asked again only if the form then names another.
    return found, True, told, district if told is not None and district and user.role != "caseworker" else ""


def _taken(claim: Claim, user: User, elsewhere: str | None) -> ResponseReturnValue:
    """After Form 04 is saved: said (naming the office that works it, when another), then the claim, or the desk
    again for a claim another office works."""
    if elsewhere is None:
        flash(_("Đã nhận Mẫu số 04: hồ sơ số %(id)s đang được kiểm tra.", id=claim.id), "success")
    else:
        flash(
            _(
                "Đã nhận Mẫu số 04: hồ sơ số %(id)s được chuyển cho cơ quan BHXH %(office)s, nơi kiểm tra hồ sơ và "
                "chi trả cho người lao động (kể cả tiền mặt). Hãy báo người lao động liên hệ cơ quan đó.",
                id=claim.id,
                office=elsewhere,
            ),
            "success",
        )
    try:
        review.visible_claim(claim.id, user)
    except review.NotFound:  # taken here for a person whose case another office works
        return redirect(url_for(".application"))
    return redirect(url_for(".case", claim_id=claim.id))


@bp.route("/applications/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def application() -> ResponseReturnValue:
    """Form 04 at the desk: look the person up in the registry first (prefilled from it), then take the form."""
    from disburse.claims import applications
    from disburse.claims.outcomes import FormRefused

    user = _user()
    program_code = current_app.config["DISBURSE_PROGRAM"]
    search = DeskSearchForm(request.args)
    _own_id(search.si_code, SEARCH_SI_CODE_ID)
    found, found_elsewhere, status = None, None, 200
    registered: bool | str = False
    # The district the caller confirmed the claim goes to (asked on saving, or told a supervisor by the look-up),
    # posted back in a hidden input.
    office = request.form.get("office", "")[:3] if request.method == "POST" else ""
    # The look-up, and again when its form is posted (from the page the look-up made, its code in the URL): an error
    # on the form keeps what was found above it (the person, the group, the amount) and the code in the search box.
    looked_up = "si_code" in request.args and search.validate()
    if request.method == "POST" and request.form.get("si_code", "").strip() != search.si_code.data:
        looked_up = False  # the form now names someone else: what was found is not about them
    if looked_up:
        found, registered, found_elsewhere, told = _desk_look_up(search.si_code.data or "", user, program_code)
        office = office if request.method == "POST" else told
    elif "si_code" in request.args and request.method == "GET":
        status = 422
    # Prefilled from the registry unless Form 04 would refuse it whatever it says (applications closed); a post is
    # what was posted (a choice left empty stays empty).
    prefill = (
        found.prefill
        if found and not isinstance(registered, str) and request.method == "GET"
        else {"si_code": search.si_code.data or ""}
    )
    form = ApplicationForm(data=prefill)
    _application_choices(form)
    general: list[str] = []
    confirm_office = None  # the other office the claim would go to, for the caseworker to confirm before it is saved
    if request.method == "POST":
        form_ok = form.validate()
        body = _application_body(form)
        savepoint = db.session.begin_nested()
        try:
            if not form_ok:  # still check the rest, so that every error shows at once
                applications.validate(body, programme_today())
                raise applications.ApplicationInvalid([])
            # The office that works and pays it, known before anything is saved (a warning uses no claim number); the
            # units it is read from are locked there and cannot move before the claim is written (or the savepoint
            # rolled back).
            district = applications.district_before_saving(_program(), body)
            elsewhere = _office_told(district, user)
            claim = None  # another office's: said first, saved once the caller confirms it (the office posted back)
            if elsewhere is None or office == district:
                claim = service.take_application(program_code, user, body)
        except applications.ApplicationInvalid as exc:
            savepoint.rollback()
            _application_errors(form, exc.errors, general)
            status = 422
        except applications.ApplicationConflict as exc:
            savepoint.rollback()
            if exc.claim is not None and _just_taken_by(exc.claim, user):  # the same form sent twice (a double click)
                flash(_("Mẫu số 04 này đã được ghi nhận: hồ sơ số %(id)s.", id=exc.claim.id), "success")
                try:
                    review.visible_claim(exc.claim.id, user)
                except review.NotFound:  # another office's, outside the caller's scope: not to a 404
                    return redirect(url_for(".application"))
                return redirect(url_for(".case", claim_id=exc.claim.id))
            general.append(pick((exc.message_vi, exc.message_en)))
            status = 409
        except FormRefused as exc:
            savepoint.rollback()
            general.append(pick((exc.message_vi, exc.message_en)))
            status = 422
        else:
            if claim is not None and claim.district_code != district:  # another claim of the person made meanwhile
                district, elsewhere = claim.district_code, _office_told(claim.district_code, user)
            if elsewhere is not None and office != district:
                # Another office works and pays it: said before it is saved, saved once the caseworker confirms.
                savepoint.rollback()
                office, confirm_office = district, elsewhere
            else:
                assert claim is not None
                savepoint.commit()
                db.session.commit()
                return _taken(claim, user, elsewhere)
    return render_template(
        "caseworker/application.html",
        search=search,
        form=form,
        found=found,
        searched=looked_up,
        registered=registered,
        found_elsewhere=found_elsewhere,
        confirm_office=confirm_office,
        office=office,
        own_office=user.role == "caseworker",  # a supervisor or an admin has none: each claim goes to an office
        general_errors=general,
    ), status


# ------------------------------------------------------------------------------------------------ find a person


#: Said when a list of codes is typed or pasted into the one-person box (by the page, or by layout.js before a long
#: one is sent in the URL, which the web server refuses past 4 KB).
LIST_MOVED = _l(
    "Ô này tìm một người. Các mã đã được chép vào ô “Danh sách mã số BHXH hoặc số CMND/CCCD” bên dưới: chọn “Tra cứu "
    "danh sách”."
)


def _find_page(**context: Any) -> str:
    context.setdefault("form", FindPersonForm(formdata=None))
    context.setdefault("bulk", FindPeopleForm(formdata=None))
    return render_template(
        "caseworker/find.html",
        max_rows=people.MAX_ROWS,
        max_codes=people.MAX_CODES,
        min_name=people.MIN_NAME,
        list_moved=LIST_MOVED,
        state_words=lambda row: pick(row.state_words),
        summary_words=lambda key: pick(people.summary_words(key)),
        **context,
    )


@bp.get("/people/find")
@roles_required(*STAFF)
def find_person() -> ResponseReturnValue:
    """Find a person within the caller's scope (:mod:`disburse.casework.people`) by an SI code or a national ID
    (across the whole scope), or by a part of the name within one district (a caseworker's own; a supervisor or an
    admin chooses one within their scope, or is asked to); or, posted, a list of codes (:func:`find_people`)."""
    if "q" not in request.args:
        return _find_page()
    form = FindPersonForm(request.args)
    if not form.validate():
        return _find_page(form=form), 422
    typed = " ".join((form.q.data or "").split())
    codes = [code for code in people.SEPARATORS.split(typed) if code]
    if len(codes) > 1 and all(people.code_error(code) is None for code in codes):
        # Several codes pasted into the one-person box: put into the list's box, for its button.
        form.q.errors = [str(LIST_MOVED)]
        return _find_page(form=form, bulk=FindPeopleForm(formdata=None, data={"codes": "\n".join(codes)})), 422
    program, user = _program(), _user()
    if (words := people.name_words(typed)) is None:
        if (wrong := people.code_error(typed.replace(" ", ""))) is not None:
            form.q.errors = [pick(wrong)]
            return _find_page(form=form), 422
        rows = people.find_by_code(program, user, typed.replace(" ", ""))
        return _find_page(form=form, typed=typed, rows=rows, total=len(rows), more=False, by_name=False)
    if sum(1 for c in words if c.isalnum()) < people.MIN_NAME:
        form.q.errors = [_("Hãy ghi ít nhất %(n)d chữ của họ tên.", n=people.MIN_NAME)]
        return _find_page(form=form), 422
    chosen = user.district_code if user.role == "caseworker" else (form.district.data or None)
    if chosen is None and user.role != "caseworker":
        form.district.errors = [
            _("Chọn quận/huyện để tìm theo tên. Tìm theo mã số BHXH hoặc số CMND/CCCD thì không cần chọn.")
        ]
        return _find_page(form=form), 422
    found = people.find_by_name(program, user, words, chosen)
    district = db.session.get(District, chosen) if chosen else None
    return _find_page(
        form=form,
        typed=words,
        rows=found.rows,
        total=found.total,
        more=found.more,
        by_name=True,
        district=district,
    )


def _bulk_codes(bulk: FindPeopleForm) -> list[str]:
    """The list's codes: the box's, then the file's (:func:`disburse.casework.people.parse_codes`)."""
    typed = [(n, line) for n, line in enumerate((bulk.codes.data or "").splitlines(), start=1)]
    sources: list[tuple[str, Any]] = [("text", typed)]
    upload = bulk.file.data
    if upload is not None and getattr(upload, "filename", None):
        with tempfile.TemporaryDirectory(prefix="disburse-find-") as folder:
            path = Path(folder) / f"upload{Path(upload.filename or '').suffix.lower()}"
            upload.save(path)
            try:
                sources.append(("file", people.file_lines(path)))
            except UnusableFile as exc:
                bulk.file.errors = [pick((exc.message_vi, exc.message_en))]
                raise people.LookupInvalid([]) from None
    return people.parse_codes(*sources)


#: The list's file: its columns, in both languages (a file both read at once), and how the XLSX shows them.
FIND_HEADER = [
    "Mã tra cứu / Code asked",
    "Họ và tên / Full name",
    "Mã số BHXH / SI code",
    "Số CMND/CCCD / ID card number",
    "Ngày sinh / Date of birth",
    "Mã đơn vị / Unit code",
    "Tên đơn vị / Unit",
    "Số hồ sơ / Claim",
    "Trạng thái / State",
    "Số tiền (đồng) / Amount (VND)",
    "Chi trả gần nhất / Latest payment",
    "Ngày chi trả / Payment day",
]
FIND_FORMATS = [TEXT, None, TEXT, TEXT, None, TEXT, None, TEXT, None, MONEY, None, None]


def _both(pair: tuple[str, str] | None) -> str:
    return f"{pair[0]} / {pair[1]}" if pair else ""


def _find_file(rows: list[people.PersonRow], fmt: str) -> bytes:
    lines = [
        [
            row.asked or "",
            row.full_name or "",
            row.si_code or "",
            row.national_id or "",
            dmy(row.date_of_birth) if row.date_of_birth else "",
            row.unit_code or "",
            row.unit_name or "",
            row.claim_id or "",
            _both(row.state_words),
            row.amount_vnd if row.amount_vnd is not None else "",
            _both(row.payment_words),
            dmy(row.payment_at) if row.payment_at else "",
        ]
        for row in rows
    ]
    return table_bytes(fmt, FIND_HEADER, lines, title="Tra cuu", formats=FIND_FORMATS)


@bp.post("/people/find")
@roles_required(*STAFF)
def find_people() -> ResponseReturnValue:
    """A list of up to :data:`~disburse.casework.people.MAX_CODES` SI codes or national IDs (typed, pasted, or a
    spreadsheet's first column): one row per code, in the order asked, "not found" within the caller's scope too, and
    the counts by state; or the same rows as a file (``download``: xlsx or csv). Recorded
    (``people.bulk_lookup``: how many were asked and found, never which): a list of people's data read at once."""
    bulk = FindPeopleForm()
    fmt = request.form.get("download", "")
    if fmt not in ("", "xlsx", "csv"):
        abort(400)
    general: list[str] = []
    if bulk.validate():
        try:
            codes = _bulk_codes(bulk)
        except people.LookupInvalid as exc:
            general = [pick(pair) for pair in exc.errors]
        else:
            user = _user()
            rows = people.find_codes(_program(), user, codes)
            found = people.found_count(rows)
            via = f"page_{fmt}" if fmt else "page"
            audit(user, "people.bulk_lookup", "user", user.id, {"asked": len(codes), "found": found, "via": via})
            db.session.commit()
            if fmt:
                return download(_find_file(rows, fmt), f"tra-cuu-nguoi-lao-dong-{programme_today():%Y%m%d}.{fmt}")
            return _find_page(
                bulk=bulk,
                bulk_rows=rows,
                asked=len(codes),
                found=found,
                counts=people.counts_by_state(rows),
                codes_posted="\n".join(codes),
            )
    return _find_page(bulk=bulk, general_errors=general), 422
