"""What the caseworker's pages need beyond the review queue's own service (:mod:`disburse.verification.review`):
the case page's payments and duplicates side by side, and the actions that belong to other features (correcting
payment details, cash at the office), each behind the same scope rule and, for a decision on the case, the same
"who may work this case" rule (a cash receipt is recorded by whoever is at the office's cash desk).

Services flush and never commit: the view that called them commits once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from disburse.auth.models import User
from disburse.auth.scopes import can_see
from disburse.auth.service import audit
from disburse.claims import employer_forms, person_details
from disburse.claims import service as claims
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.outcomes import RowResult, phone_digits, phone_error
from disburse.claims.states import ClaimAction, ClaimNote, ClaimState
from disburse.extensions import db
from disburse.payments import cash
from disburse.payments import reasons as payment_reasons
from disburse.payments import service as payments
from disburse.payments.models import Payment, PaymentBatch, PaymentEvent
from disburse.payments.states import label as payment_state_label
from disburse.programs.calendar import add_working_days, programme_today, working_days_between
from disburse.programs.models import Program
from disburse.programs.service import get_program
from disburse.reference.models import District
from disburse.registry.models import Employee, Employer
from disburse.verification import review


def received_by(age_wd: int, today: date | None = None) -> date:
    """The last day a claim may have been received to be at least ``age_wd`` working days old today."""
    return add_working_days(today or programme_today(), -age_wd) if age_wd else (today or programme_today())


def age_in_working_days(received: date | None, today: date | None = None) -> int | None:
    """Working days since the claim was received (0 on the day itself)."""
    if received is None:
        return None
    return max(working_days_between(received, today or programme_today()), 0)


# ---------------------------------------------------------------------------------------------- the case page


@dataclass(frozen=True)
class PaymentLine:
    """One payment attempt of the claim, with its failure in plain words."""

    payment: Payment
    channel: str
    state_label: tuple[str, str]
    failure: tuple[str, str] | None
    #: Whose fault the failure was: the bank's (paid again as it is), the details' (new details needed), or neither
    #: (the programme stopped paying: :data:`disburse.payments.reasons.PERIOD_ENDED`).
    bank_side: bool
    needs_details: bool


def payment_lines(claim: Claim) -> list[PaymentLine]:
    """Every payment of the claim, newest attempt first."""
    rows = db.session.execute(
        select(Payment, PaymentBatch.channel)
        .outerjoin(PaymentBatch, PaymentBatch.id == Payment.batch_id)
        .where(Payment.claim_id == claim.id)
        .order_by(Payment.attempt.desc())
    ).all()
    lines = []
    for payment, channel in rows:
        failed = payment.state in ("failed", "returned")
        channel = channel or ("cash" if payment.provider == "cash" else "bank")
        lines.append(
            PaymentLine(
                payment=payment,
                channel=channel,
                state_label=payment_state_label(payment.state, channel),
                failure=payment_reasons.label(payment.failure_code) if failed else None,
                bank_side=failed and payment_reasons.bank_side(payment.failure_code),
                needs_details=failed and payment_reasons.needs_new_details(payment.failure_code),
            )
        )
    return lines


@dataclass(frozen=True)
class DuplicateColumn:
    """One claim of a duplicate group, as the side-by-side table shows it."""

    claim: Claim
    employee: Employee
    employer: Employer | None
    is_this: bool
    #: The claim's district's name (its code when the reference table has none).
    district: str


def duplicates_side_by_side(claim: Claim, user: User) -> tuple[list[DuplicateColumn], int]:
    """The claim's duplicate group (:func:`disburse.verification.review.duplicate_group_statement`), the claim first,
    then the others the caller may see, by id; empty when the claim has no possible duplicate. And how many of the
    group are outside the caller's scope: a group with any is decided by someone whose scope covers them all."""
    ids = [member.id for member, _ in db.session.execute(review.duplicate_group_statement(claim)).all()]
    if len(ids) < 2:
        return [], 0
    rows = db.session.execute(
        select(Claim, Employee, Employer, District.name)
        .join(Employee, Employee.id == Claim.employee_id)
        .outerjoin(Employer, Employer.id == Claim.employer_id)
        .outerjoin(District, District.code == Claim.district_code)
        .where(Claim.id.in_(ids))
        .order_by(Claim.id)
    ).all()
    columns = [
        DuplicateColumn(member, employee, employer, member.id == claim.id, district or member.district_code)
        for member, employee, employer, district in rows
        if member.id == claim.id or can_see(user, review.claim_scope(member))
    ]
    return sorted(columns, key=lambda column: (not column.is_this, column.claim.id)), len(rows) - len(columns)


# ------------------------------------------------------------------------------------------ payment details


class CaseworkRefused(review.Conflict):
    """An action of another feature refused (cash, corrections), in the review queue's error shape."""


def correct_payment_details(
    claim_id: int, user: User, bank_code: str, bank_account: str, *, seen: int | None = None
) -> RowResult:
    """A caseworker's correction of the bank details of a claim in review or whose payment failed
    (:func:`disburse.claims.employer_forms.correct_payment_details`): in scope and workable by the caller, and on the
    claim as the caller saw it (``seen``, its latest event then: :func:`review.details_as_seen`)."""
    claim = review.visible_claim(claim_id, user, lock=True)
    review.may_work(claim, user)
    review.details_as_seen(claim, seen, user)
    data = {"by": "office", "received_on": programme_today().isoformat()}
    return employer_forms.correct_payment_details(claim.id, bank_code, bank_account, actor=user, data=data)


def may_correct_payment_details(claim: Claim) -> bool:
    """Whether the case page offers to correct the claim's bank details: in a state that takes them, and not when
    they would send it back to be paid after its programme's last payable day."""
    state = ClaimState(claim.state)
    if state not in employer_forms.CORRECTABLE_STATES:
        return False
    return state == ClaimState.NEEDS_REVIEW or review.period_ended(claim) is None


def dismiss_offer(claim_id: int, user: User, offer_id: int, reason: str) -> review.ActionResult:
    """Dismiss the person's offer of bank details ``offer_id`` (:func:`disburse.claims.person_details.dismiss_offer`):
    the caseworker called the person and found it wrong. Who may use an offer may dismiss it: in scope and workable by
    the caller, as the correction. Audited (``claim.dismiss_offer``) when written; the same dismissal posted again
    changes nothing (``changed`` False). An offer that is not the claim's is the same 404 as an unknown claim."""
    claim = review.visible_claim(claim_id, user, lock=True)
    review.may_work(claim, user)
    try:
        done = person_details.dismiss_offer(claim, offer_id, user, reason)
    except person_details.OfferRefused as exc:
        if exc.code == "unknown_offer":
            raise review.NotFound() from None
        pair = (exc.message_vi, exc.message_en)
        fields = {"reason": pair} if exc.code.startswith("reason_") else None
        raise CaseworkRefused(*pair, code=exc.code, fields=fields) from None
    if done.changed:
        data = {"offer_id": offer_id, "event_id": done.event.id, "reason": (done.event.data or {}).get("reason")}
        audit(user, "claim.dismiss_offer", "claim", claim.id, data)
    return review.ActionResult(claim, changed=done.changed, events=[done.event] if done.changed else [])


# ------------------------------------------------------------------------------------------ the person's phone


def record_phone(claim_id: int, user: User, phone: str, *, id_card_seen: bool) -> review.ActionResult:
    """Record the person's new phone number in the registry (``Employee.phone``), as the unit's Form 03 corrects it:
    the same ``correct`` note on the claim with ``changes`` {"phone": [old, new]}, and ``data`` by the office. The
    registry's number is the one caseworkers call to confirm bank details the person offers on the public page, so
    it is changed only for a person who came to the office and showed their ID card (``id_card_seen``, required:
    refused without it), never from what the public page received. In scope and workable by the caller
    (:func:`disburse.verification.review.may_work`), whatever the claim's state (the person is called about a paid
    claim's returned money too). The number is checked as everywhere (:func:`~disburse.claims.outcomes.phone_error`)
    and stored as :func:`~disburse.claims.outcomes.phone_digits` writes it; the number the registry already holds
    changes nothing (``changed`` False: the same form posted again writes one note). Audited
    (``claim.record_phone``) when written. Flush, never commit."""
    claim = review.visible_claim(claim_id, user, lock=True)
    review.may_work(claim, user)
    errors: dict[str, tuple[str, str]] = {}
    typed = (phone or "").strip()
    if not id_card_seen:
        errors["id_card_seen"] = (
            "Chỉ ghi số điện thoại mới khi người lao động đến cơ quan BHXH và xuất trình CMND/CCCD: hãy "
            "đánh dấu ô xác nhận.",
            "Record a new phone number only for a person who came to the office and showed their ID card: tick the "
            "box that says so.",
        )
    if not typed:
        errors["phone"] = ("Hãy ghi số điện thoại mới.", "Give the new phone number.")
    elif wrong := phone_error(typed):
        errors["phone"] = wrong
    if errors:
        raise review.Invalid(errors)
    new = phone_digits(typed)
    employee = db.session.scalar(select(Employee).where(Employee.id == claim.employee_id).with_for_update())
    assert employee is not None, "claims.employee_id is a foreign key"
    if employee.phone == new:
        return review.ActionResult(claim, changed=False)
    changes = {"phone": [employee.phone, new]}
    employee.phone = new
    data = {"by": "office", "received_on": programme_today().isoformat(), "id_card_seen": True, "changes": changes}
    event = claims.note(claim, ClaimNote.CORRECT, user, data=data)
    audit(user, "claim.record_phone", "claim", claim.id, {"event_id": event.id, "employee_id": employee.id})
    return review.ActionResult(claim, changed=True, events=[event])


# ---------------------------------------------------------------------------------------------------- cash


def _cash_refused(exc: cash.CashRefused) -> CaseworkRefused:
    """The cash service's refusal; a receipt number's or a reason's own problem is said on its field (cash offered
    before the program's limit of failures needs the reason the form asks for)."""
    pair = (exc.message_vi, exc.message_en)
    fields = {"receipt_number": pair} if exc.code.startswith("receipt_") else None
    if exc.code.startswith("reason_") or exc.code == "too_few_failures":
        fields = {"reason": pair}
    refused = CaseworkRefused(*pair, code=exc.code, fields=fields)
    if exc.code in ("receipt_blank", "receipt_malformed") or exc.code.startswith("reason_"):
        refused.status = 422  # what was typed is wrong (a 409 is for the state of things: a receipt used already)
    return refused


def offer_cash(claim_id: int, user: User, reason: str | None) -> review.ActionResult:
    """Pay the claim in cash at the office (:func:`disburse.payments.cash.offer_cash`): after the program's limit of
    failed payments, or earlier when the caseworker writes why. A claim already paid in cash and on its way to the
    office's list (approved, or on a list: the same offer posted again) changes nothing (``changed`` False)."""
    claim = review.visible_claim(claim_id, user, lock=True)
    review.may_work(claim, user)
    if cash.offered_already(claim):
        return review.ActionResult(claim, changed=False)
    try:
        event = cash.offer_cash(claim.id, user, early=bool(reason), reason=reason or None)
    except cash.CashRefused as exc:
        raise _cash_refused(exc) from None
    return review.ActionResult(claim, changed=True, events=[event])


#: The reason a switch to cash gives the person's offer of bank details it dismisses (the system's words are written
#: in Vietnamese, as a caseworker's are: the claim's history shows them as written).
CASH_DISMISSES_OFFER = "Chuyển sang nhận tiền mặt tại cơ quan BHXH"


def cash_dismissal(reason: str | None) -> str:
    """The dismissal's reason: the switch to cash, and the caseworker's reason for it if any, within the limit."""
    written = " ".join((reason or "").split())
    text = f"{CASH_DISMISSES_OFFER}: {written}" if written else f"{CASH_DISMISSES_OFFER}."
    return (
        text if len(text) <= person_details.MAX_DISMISS_REASON else text[: person_details.MAX_DISMISS_REASON - 1] + "…"
    )


def offer_cash_over_offer(claim_id: int, user: User, reason: str | None, offer_seen: int | None) -> review.ActionResult:
    """:func:`offer_cash` as the case page switches a claim to cash: the person's open offer of bank details, which
    the switch would leave behind unseen, is dismissed in the same transaction under the caller's name, but only the
    one the caller saw (``offer_seen``, its note's id): when another is open (sent since), ``offer_unseen`` and
    nothing is done, for the caller to look at the new details first. The caller's savepoint (or rollback) undoes the
    dismissal when the switch itself is refused."""
    claim = review.visible_claim(claim_id, user, lock=True)
    review.may_work(claim, user)
    current = person_details.open_offer(claim)
    if current is not None and offer_seen != current.id:
        raise CaseworkRefused(
            "Người lao động vừa gửi thông tin tài khoản mới: hãy xem lại trước khi chuyển sang nhận tiền mặt.",
            "The person has just sent new bank details: look at them before switching to cash.",
            code="offer_unseen",
        )
    dismissed = dismiss_offer(claim.id, user, current.id, cash_dismissal(reason)) if current is not None else None
    switched = offer_cash(claim.id, user, reason)
    events = [*(dismissed.events if dismissed is not None else []), *switched.events]
    return review.ActionResult(switched.claim, changed=bool(events) or switched.changed, events=events)


def approve_in_cash(
    claim_id: int, user: User, reason: str, checked: Sequence[str] = (), *, seen: int | None = None
) -> review.ActionResult:
    """Approve a claim in review to be paid in cash at the office (:func:`disburse.payments.cash.cash_in_review`, then
    :func:`disburse.verification.review.approve`): for a person without a bank account, whose missing details would
    otherwise keep the claim from approval. Both or neither: the caller's savepoint undoes the switch when approval
    is refused (undecided duplicates, say). A claim already approved in cash (the same post again) changes nothing.
    ``checked`` and ``seen``: as :func:`disburse.verification.review.approve` takes them."""
    claim = review.visible_claim(claim_id, user, lock=True)
    review.may_work(claim, user)
    review.decided_on_what_is(claim, seen, ClaimAction.APPROVE, user)
    if claim.payout == "cash" and ClaimState(claim.state) in (ClaimState.APPROVED, ClaimState.PAYMENT_PENDING):
        return review.ActionResult(claim, changed=False)
    try:
        switched = cash.cash_in_review(claim.id, user, reason)
    except cash.CashRefused as exc:
        raise _cash_refused(exc) from None
    approved = review.approve(claim.id, user, checked=checked)
    return review.ActionResult(claim, changed=True, events=[switched, *approved.events])


def _live_cash_payment(claim: Claim) -> Payment | None:
    """The claim's cash payment queued, sent or paid, if any."""
    payment = payments.live_payment_for_claim(claim.id)
    batch = db.session.get(PaymentBatch, payment.batch_id) if payment and payment.batch_id is not None else None
    return payment if batch is not None and batch.channel == "cash" else None


def open_cash_payment(claim: Claim) -> Payment | None:
    """The claim's cash payment waiting at the office for the person (queued or sent), if any."""
    payment = _live_cash_payment(claim)
    return payment if payment is not None and payment.state in ("queued", "sent") else None


#: A registered phone changed within these days is not one to confirm new bank details by: whoever changed it (a
#: Form 03 sent with a stolen unit account, say) may be the one who sent the details, and would answer the call.
RECENT_PHONE_CHANGE_DAYS = 30


@dataclass(frozen=True)
class PhoneChange:
    """The latest change of a person's registered phone: when, from what, and by whom (a unit's Form 03, with its
    code; or an office, with the caseworker's email)."""

    at: datetime
    previous: str | None
    unit_code: str | None
    by_email: str | None


def recent_phone_change(employee_id: int, days: int = RECENT_PHONE_CHANGE_DAYS) -> PhoneChange | None:
    """The person's registered phone's latest change within ``days`` (any claim of theirs: the phone is the
    person's), as the corrections recorded it (``correct`` notes with ``changes.phone``: a unit's Form 03, an
    office's record of a new number); None when it did not change in that time."""
    event = db.session.scalar(
        select(ClaimEvent)
        .join(Claim, Claim.id == ClaimEvent.claim_id)
        .where(
            Claim.employee_id == employee_id,
            ClaimEvent.action == ClaimNote.CORRECT.value,
            ClaimEvent.data["changes"].has_key("phone"),
            ClaimEvent.created_at >= datetime.now(UTC) - timedelta(days=days),
        )
        .order_by(ClaimEvent.created_at.desc(), ClaimEvent.id.desc())
        .limit(1)
    )
    if event is None:
        return None
    data = event.data or {}
    actor = db.session.get(User, event.actor_id) if event.actor_id is not None else None
    previous = (data.get("changes", {}).get("phone") or [None])[0]
    unit_code = data.get("unit_code") if data.get("form") == "03" else None
    return PhoneChange(event.created_at, previous, unit_code, actor.email if actor else None)


def paid_cash_payment(claim: Claim) -> Payment | None:
    """The claim's cash payment already handed over at the office (its receipt number, its day), if any."""
    payment = _live_cash_payment(claim)
    return payment if payment is not None and payment.state == "paid" else None


@dataclass(frozen=True)
class PaymentPeriod:
    """The claim's programme's last payable day, and whether it may still pay today (the programme clock)."""

    last_day: date
    open: bool


def payment_period(claim: Claim) -> PaymentPeriod:
    """:class:`PaymentPeriod` of the claim's programme: the cash pages say when paying ends, and that it has."""
    program = db.session.get(Program, claim.program_id)
    assert program is not None
    return programme_period(program)


def programme_period(program: Program) -> PaymentPeriod:
    return PaymentPeriod(program.last_payable_day, payments.payable(program))


def _no_cash_payment() -> CaseworkRefused:
    return CaseworkRefused(
        "Hồ sơ không có khoản chi tiền mặt nào đang chờ chi tại cơ quan BHXH.",
        "The claim has no cash payment waiting at the office.",
        code="no_cash_payment",
    )


def record_cash_receipt(claim_id: int, user: User, receipt_number: str) -> review.ActionResult:
    """Record that the person was paid at the counter against ``receipt_number``
    (:func:`disburse.payments.cash.record_cash_payment`) for the claim's open cash payment. Any caseworker of the
    claim's office records it, whoever holds the case: the one at the cash desk pays whoever comes. The receipt the
    payment is already paid against changes nothing (``changed`` False: a second click on "confirm")."""
    claim = review.visible_claim(claim_id, user)
    payment = _live_cash_payment(claim)
    if payment is None:
        raise _withdrawn(claim) or _no_cash_payment()
    try:
        cash.record_cash_payment(payment.provider_reference, receipt_number, user)
    except cash.AlreadyRecorded:
        return review.ActionResult(claim, changed=False)
    except cash.CashRefused as exc:
        raise _cash_refused(exc) from None
    return review.ActionResult(claim, changed=True)


def _withdrawn(claim: Claim) -> CaseworkRefused | None:
    """When the claim's latest cash payment was taken off the office's list (a colleague did it while the receipt was
    being typed, say): what happened, and what to do if the money was handed over all the same."""
    latest = _latest_cash_payment(claim)
    if latest is None or (latest.state, latest.failure_code) != ("failed", payment_reasons.CASH_WITHDRAWN):
        return None
    note = db.session.scalar(
        select(PaymentEvent.data["note"].astext)
        .where(PaymentEvent.payment_id == latest.id, PaymentEvent.to_state == "failed")
        .order_by(PaymentEvent.id.desc())
        .limit(1)
    )
    return CaseworkRefused(
        f"Khoản chi tiền mặt {latest.provider_reference} đã được rút khỏi danh sách chi tiền mặt "
        f"(lý do: {note or '—'}). Nếu đã đưa tiền cho người lao động, hãy đưa hồ sơ trở lại danh sách chi tiền mặt "
        "từ trang hồ sơ rồi ghi biên lai; nếu chưa, đừng chi.",
        f"The cash payment {latest.provider_reference} was taken off the cash list (reason: {note or '—'}). If the "
        "money was handed over, put the claim back on the cash list from its page, then record the receipt; if not, "
        "do not pay.",
        code="no_cash_payment",
    )


def _latest_cash_payment(claim: Claim) -> Payment | None:
    """The claim's latest cash payment, whatever its state (its open one, if it has one)."""
    return db.session.scalar(
        select(Payment)
        .join(PaymentBatch, PaymentBatch.id == Payment.batch_id)
        .where(Payment.claim_id == claim.id, PaymentBatch.channel == "cash")
        .order_by(Payment.attempt.desc())
        .limit(1)
    )


def withdraw_cash_payment(claim_id: int, user: User, reason: str, *, seen: int | None = None) -> review.ActionResult:
    """Take the claim's open cash payment off its office's list (:func:`disburse.payments.cash.withdraw_cash_payment`):
    the claim then waits for details (a bank account, or the next cash list). A decision on the case, like offering
    cash: only whoever may work the case (:func:`disburse.verification.review.may_work`), not while another
    caseworker holds it. The claim is not locked here: the cash service locks the payment, then the claim, as the
    receipt does (the other order could deadlock with a receipt recorded at the same moment).

    The claim's latest cash payment is asked for, open or not: one already taken off the list with this very reason
    (the same post again, after the first or while it waited for the first's lock on the payment) changes nothing
    (``changed`` False); one paid, or taken off with another reason, is no cash payment waiting. ``seen``: the
    payment the page showed (its id). When the claim has been put on a cash list again since, the post is about the
    old payment: done if it was taken off with this reason, else refused; the new one is never taken off by it."""
    claim = review.visible_claim(claim_id, user)
    review.may_work(claim, user)
    payment = _latest_cash_payment(claim)
    if payment is None:
        raise _no_cash_payment()
    if seen is not None and seen != payment.id:
        shown = db.session.get(Payment, seen)
        if shown is not None and shown.claim_id == claim.id and cash.withdrawn_with(shown.id, reason):
            return review.ActionResult(claim, changed=False)
        raise CaseworkRefused(
            "Danh sách chi tiền mặt của hồ sơ đã thay đổi từ khi bạn mở trang này; hãy mở lại trang hồ sơ.",
            "The claim's cash payment has changed since you opened this page; open the case again.",
            code="cash_payment_changed",
        )
    try:
        cash.withdraw_cash_payment(payment.provider_reference, user, reason)
    except cash.CashRefused as exc:
        if exc.code not in ("not_payable", "already_paid"):
            raise _cash_refused(exc) from None
        if cash.withdrawn_with(payment.id, reason):
            return review.ActionResult(claim, changed=False)
        raise _no_cash_payment() from None
    return review.ActionResult(claim, changed=True)


def max_payment_failures(claim: Claim) -> int:
    program = db.session.get(Program, claim.program_id)
    assert program is not None
    return program.max_payment_failures


# ------------------------------------------------------------------------------------------- Form 04 at the desk


@dataclass(frozen=True)
class DeskLookup:
    """What the registry says about the person at the desk: the support picture
    (:func:`disburse.claims.support.support_for`) and the fields Form 04 is prefilled with."""

    support: dict[str, Any]
    prefill: dict[str, Any]


def desk_lookup(si_code: str, user: User, program_code: str) -> DeskLookup | None:
    """The person with ``si_code`` if the registry has them and the caller's scope covers them (the look-up API's
    rule: the person's own district, their unit's and their claim's); None otherwise."""
    from disburse.auth.scopes import Scope
    from disburse.claims.support import support_for

    support = support_for(si_code, program_code)
    if support is None or not can_see(user, Scope(**support["scope"])):
        return None
    employee = db.session.scalar(select(Employee).where(Employee.si_code == si_code))
    assert employee is not None
    prefill = {
        "si_code": employee.si_code,
        "national_id": employee.national_id,
        "full_name": employee.full_name,
        "date_of_birth": employee.date_of_birth,
        "phone": employee.phone or "",
        "address": employee.address or "",
        "status": employee.ui_status,
        # The registry's current or last unit, else the unit of the person's claim (e.g. an earlier Form 04).
        "unit_code": support["unit_code"] or (support["claim"] or {}).get("unit_code") or "",
        "unused_months": employee.unused_months,
        "payout": "bank" if employee.bank_code else "cash",
        "bank_code": employee.bank_code or "",
        "bank_account": employee.bank_account or "",
    }
    return DeskLookup(support, prefill)


def take_application(program_code: str, user: User, body: dict[str, Any]) -> Claim:
    """Form 04 taken at the desk (:func:`disburse.claims.applications.apply`) under the caseworker's name."""
    from disburse.claims import applications

    return applications.apply(get_program(program_code), body, actor=user)
