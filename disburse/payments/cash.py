"""The ``cash`` provider: paid at the office against a receipt number, and the cash offer after failed payments.

Cash has no bank in between. A cash batch (``payment_batches.channel = 'cash'``, made by
:func:`disburse.payments.service.create_batch` from approved claims whose payout is cash) is *sent* when its list is
issued to the offices: each district social-security office gets the people of its district
(:func:`cash_list`), pays each one at the counter and hands over a numbered receipt, and a caseworker records that
receipt number (:func:`record_cash_payment`): the payment is ``paid`` and its claim ``paid``. Our own records are
the only truth about a cash payment, so :class:`CashProvider` answers a status question from them and has no
callbacks.

- **Which day.** A payment belongs to the list of the day (Vietnam time) its batch was handed over
  (``payment_batches.sent_at``; the payment's own ``sent_at`` when the batch has none recorded). A payment stays on
  the lists until it is paid: without a day, :func:`cash_list` gives every open one of the district, whenever sent.
- **Receipt numbers** are the number printed on the receipt, its series included (for example ``AA/21E 0001234``):
  printable characters, 1 to 40 once trimmed, inner runs of spaces (non-breaking ones too) kept as one space, stored in
  upper case. One receipt pays one
  payment: a number already recorded on another payment is refused. The check runs under a transaction-level
  advisory lock on the number, so two caseworkers recording the same number at once take turns and the second is
  refused with a clear message; the unique partial index ``uq_payments_receipt_number`` holds it in the database
  too, whoever writes.
- **The cash offer.** After ``max_payment_failures`` failed payments (a program parameter) a claim waiting for
  payment details is switched to cash at the office (:func:`offer_cash`); a caseworker may do so earlier.
- **Cash from review.** A claim in review paid by bank transfer whose person has no account (or none that can be
  paid) is switched to cash at the office before it is approved (:func:`cash_in_review`), with a reason.
- **Off the list.** A caseworker takes a cash payment not yet paid off its office's list with a written reason
  (:func:`withdraw_cash_payment`: the person asked to be paid by transfer, or cannot come). The payment fails with
  :data:`~disburse.payments.reasons.CASH_WITHDRAWN` and the claim waits for details like any failed payment: new
  bank details pay it by transfer, or :func:`offer_cash` puts it back on the next cash list. Nothing else ever takes
  a cash payment off a list, so none is paid twice: the receipt and the withdrawal lock the same payment row.

Every refusal is a :class:`CashRefused` with a code and a Vietnamese and an English message, raised before anything
is written. Services flush and never commit: the caller commits once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text

from disburse.auth.models import User
from disburse.bulk import any_of
from disburse.claims import service as claims
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.outcomes import drop_bank_reasons
from disburse.claims.states import STATE_LABELS, ClaimAction, ClaimNote, ClaimState
from disburse.extensions import db
from disburse.formatting import dmy, vietnamese_name_key
from disburse.payments import reasons
from disburse.payments import service as payments
from disburse.payments.models import Payment, PaymentBatch, PaymentEvent
from disburse.payments.providers import (
    Acknowledgement,
    PaymentOrder,
    PermanentError,
    ProviderStatus,
    StatusUpdate,
)
from disburse.payments.states import LABELS as PAYMENT_STATES
from disburse.payments.states import PaymentAction, PaymentState
from disburse.payments.status import Applied, claims_failed
from disburse.programs.calendar import VIETNAM_TZ
from disburse.programs.models import Program
from disburse.reference.models import District
from disburse.registry.models import Employee
from disburse.transitions import Actor

#: A receipt number as stored: at most this long, once trimmed and upper-cased.
MAX_RECEIPT = 40
_RECEIPT_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('disburse.payments.cash.receipt'), hashtext(:receipt))")
#: Runs of spaces, the non-breaking and wide ones too (Unicode's space separators), kept as one space.
_SPACES = re.compile("[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
#: What a receipt's series and number are written with (after :func:`clean_receipt_number`'s spaces and case).
_RECEIPT = re.compile(r"[A-Z0-9/.\- ]+")


class CashRefused(Exception):
    """A cash request that cannot be done; nothing changed. ``code`` names the case, the messages say it to people."""

    def __init__(self, code: str, vi: str, en: str) -> None:
        super().__init__(f"{vi} / {en}")
        self.code, self.message_vi, self.message_en = code, vi, en


class AlreadyRecorded(CashRefused):
    """The receipt is the one the payment was already paid against (a second click on "confirm", the command run
    again): nothing to do, nothing changed. Callers say it is recorded and count the request done."""

    def __init__(self, payment: Payment) -> None:
        reference, receipt = payment.provider_reference, payment.receipt_number
        super().__init__(
            "already_recorded",
            f"Khoản chi trả {reference} đã được ghi nhận chi trả theo biên lai số {receipt}; không ghi thêm.",
            f"Payment {reference} is already recorded as paid against receipt number {receipt}; nothing more was "
            "recorded.",
        )
        self.payment = payment


# ------------------------------------------------------------------------------------------------- the provider


class CashProvider:
    """The :class:`~disburse.payments.providers.Provider` for cash at the office (needs an app context)."""

    name = "cash"

    def send(self, batch_reference: str, orders: Sequence[PaymentOrder]) -> Acknowledgement:
        """Handing a cash batch over is issuing its list to the offices (``disburse payments cash-list``): always
        taken; every payment then waits at its office for the person and a receipt."""
        return Acknowledgement(
            accepted=True,
            correlation_id=batch_reference,
            message=(
                f"Danh sách chi tiền mặt {batch_reference} ({len(orders)} người) đã chuyển cho các cơ quan BHXH / "
                f"Cash list {batch_reference} ({len(orders)} people) issued to the offices"
            ),
        )

    def status(self, references: Sequence[str]) -> list[StatusUpdate]:
        """What our records say: paid with a receipt → paid, returned → returned, otherwise pending; a reference
        that is not one of our cash payments → unknown."""
        rows = {
            payment.provider_reference: payment
            for payment in db.session.scalars(
                select(Payment)
                .join(PaymentBatch, PaymentBatch.id == Payment.batch_id)
                .where(any_of(Payment.provider_reference, references), PaymentBatch.channel == "cash")
            )
        }
        return [_status_of(reference, rows.get(reference)) for reference in references]

    def parse_event(self, body: bytes, headers: Mapping[str, str]) -> list[StatusUpdate]:
        raise PermanentError(
            "Chi tiền mặt không có thông báo từ bên ngoài: biên lai do cán bộ ghi nhận (disburse payments cash-paid) / "
            "Cash has no callbacks: receipts are recorded by a caseworker (disburse payments cash-paid)"
        )


def _status_of(reference: str, payment: Payment | None) -> StatusUpdate:
    if payment is None:
        return StatusUpdate(reference, ProviderStatus.UNKNOWN)
    if payment.state == PaymentState.PAID and payment.receipt_number:
        return StatusUpdate(
            reference,
            ProviderStatus.PAID,
            at=payment.settled_at,
            event_id=f"cash:{reference}:{payment.receipt_number}"[:100],
            amount_vnd=payment.amount_vnd,
        )
    if payment.state == PaymentState.RETURNED:
        return StatusUpdate(reference, ProviderStatus.RETURNED, reason_code=payment.failure_code)
    return StatusUpdate(reference, ProviderStatus.PENDING)


# ------------------------------------------------------------------------------------------------- the cash list


@dataclass(frozen=True)
class CashListRow:
    """One person to pay at the counter."""

    reference: str
    full_name: str
    si_code: str
    #: The national ID with every character but the last four masked ("********1234").
    national_id: str
    #: With the ID card's last four digits, what the cashier checks the card against (None: the registry has none).
    date_of_birth: date | None
    amount_vnd: int
    #: The day (Vietnam time) the payment's batch was handed over.
    sent_on: date
    #: Blank on the list: the caseworker writes the receipt number here.
    receipt_number: str | None = None
    #: The claim it pays (the cash desk's page opens its receipt form).
    claim_id: int | None = None


def mask_national_id(national_id: str | None) -> str:
    """Every character but the last four replaced by '*'."""
    value = national_id or ""
    return "*" * max(len(value) - 4, 0) + value[-4:]


def check_district(district_code: str) -> District:
    district = db.session.get(District, district_code)
    if district is None:
        raise CashRefused(
            "unknown_district",
            f"Không có quận/huyện mã '{district_code}'.",
            f"There is no district with code '{district_code}'.",
        )
    return district


def cash_list(program: Program, district_code: str, day: date | None = None, query: str = "") -> list[CashListRow]:
    """The people to pay in cash at the district's office: the program's payments of cash batches for claims of
    the district that are sent and not yet paid, handed over on ``day`` (Vietnam time), or every open one when
    ``day`` is None; in Vietnamese name order (given name, family name, middle names), then SI code. ``query``: the
    person at the counter, by SI code (its first digits), payment reference, or a part of the name, diacritics
    ignored."""
    from disburse.claims.unit import name_contains  # the unit pages' search (that module reads payments)

    check_district(district_code)
    query = " ".join(query.split())
    handed_over = func.coalesce(PaymentBatch.sent_at, Payment.sent_at)
    statement = (
        select(Payment, Employee, handed_over)
        .join(PaymentBatch, PaymentBatch.id == Payment.batch_id)
        .join(Claim, Claim.id == Payment.claim_id)
        .join(Employee, Employee.id == Claim.employee_id)
        .where(
            PaymentBatch.program_id == program.id,
            PaymentBatch.channel == "cash",
            Payment.state == PaymentState.SENT.value,
            Claim.district_code == district_code,
        )
    )
    if day is not None:
        start = datetime.combine(day, time(), VIETNAM_TZ)
        statement = statement.where(handed_over >= start, handed_over < start + timedelta(days=1))
    if query.isascii() and query.isdigit():
        statement = statement.where(Employee.si_code.startswith(query, autoescape=True))
    elif query:
        statement = statement.where(
            or_(Payment.provider_reference == query.upper(), name_contains(Employee.full_name, query))
        )
    rows = [
        CashListRow(
            reference=payment.provider_reference,
            full_name=employee.full_name,
            si_code=employee.si_code,
            national_id=mask_national_id(employee.national_id),
            date_of_birth=employee.date_of_birth,
            amount_vnd=payment.amount_vnd,
            sent_on=sent.astimezone(VIETNAM_TZ).date(),
            claim_id=payment.claim_id,
        )
        for payment, employee, sent in db.session.execute(statement).all()
    ]
    return sorted(rows, key=lambda row: (vietnamese_name_key(row.full_name), row.si_code, row.reference))


def open_cash_elsewhere(program: Program, district_code: str) -> list[tuple[str, int]]:
    """The other programmes with cash payments still open (sent, not paid) at the district's office, and how many:
    (code, count) in code order. One grouped count over the district's claims."""
    statement = (
        select(Program.code, func.count())
        .select_from(Payment)
        .join(PaymentBatch, PaymentBatch.id == Payment.batch_id)
        .join(Claim, Claim.id == Payment.claim_id)
        .join(Program, Program.id == PaymentBatch.program_id)
        .where(
            PaymentBatch.program_id != program.id,
            PaymentBatch.channel == "cash",
            Payment.state == PaymentState.SENT.value,
            Claim.district_code == district_code,
        )
        .group_by(Program.code)
        .order_by(Program.code)
    )
    return [(str(code), int(n)) for code, n in db.session.execute(statement).all()]


# ------------------------------------------------------------------------------------------ recording a receipt


def clean_receipt_number(value: str | None) -> str:
    """The receipt number as stored (its compatibility form, so full-width digits are digits; trimmed, inner spaces as
    one, upper case); :class:`CashRefused` if it is blank, not 1 to :data:`MAX_RECEIPT` printable characters, or not
    a receipt's letters, digits and ``/ . -`` with a digit among them (a Cyrillic "А" looked like the Latin one and
    made another number of the same receipt; "-" or "x" is no receipt's number)."""
    trimmed = unicodedata.normalize("NFKC", value or "").strip()
    if not trimmed:
        raise CashRefused(
            "receipt_blank",
            "Chưa nhập số biên lai.",
            "The receipt number is blank.",
        )
    cleaned = _SPACES.sub(" ", trimmed).upper()
    if not cleaned.isprintable() or len(cleaned) > MAX_RECEIPT:
        raise CashRefused(
            "receipt_malformed",
            f"Số biên lai phải gồm 1 đến {MAX_RECEIPT} ký tự in được (không xuống dòng, không ký tự điều khiển).",
            f"A receipt number is 1 to {MAX_RECEIPT} printable characters (no line breaks, no control characters).",
        )
    if not _RECEIPT.fullmatch(cleaned) or not any(c.isascii() and c.isdigit() for c in cleaned):
        raise CashRefused(
            "receipt_malformed",
            "Số biên lai gồm chữ cái không dấu, chữ số và các dấu / . - (có ít nhất một chữ số), ví dụ AA/21E 0000123.",
            "A receipt number is unaccented letters, digits and / . - (with at least one digit), e.g. AA/21E 0000123.",
        )
    return cleaned


def _cash_payment(reference: str) -> tuple[Payment, PaymentBatch]:
    """The payment with ``reference``, locked, and its batch; refused unless it is a cash payment."""
    found = payments.payment_by_reference(reference.strip()) if reference and reference.strip() else None
    if found is None:
        raise CashRefused(
            "unknown_reference",
            f"Không có khoản chi trả nào mang mã '{reference}'.",
            f"There is no payment with reference '{reference}'.",
        )
    payment = payments.get_payment_for_update(found.id)
    assert payment is not None  # payments are never deleted
    batch = db.session.get(PaymentBatch, payment.batch_id) if payment.batch_id is not None else None
    if batch is None or batch.channel != "cash":
        raise CashRefused(
            "not_cash",
            f"Khoản chi trả {reference} không phải chi tiền mặt tại cơ quan BHXH.",
            f"Payment {reference} is not a cash payment at the office.",
        )
    return payment, batch


def _check_payable(payment: Payment) -> None:
    if payment.state == PaymentState.PAID:
        raise CashRefused(
            "already_paid",
            f"Khoản chi trả {payment.provider_reference} đã được chi, biên lai số {payment.receipt_number}.",
            f"Payment {payment.provider_reference} is already paid, receipt number {payment.receipt_number}.",
        )
    if (payment.state, payment.failure_code) == (PaymentState.FAILED, reasons.CASH_WITHDRAWN):
        # Taken off the list by a colleague, maybe a moment ago, while this receipt was typed: what happened and what
        # to do, not just that it "failed".
        note = _failure_note(payment.id)
        raise CashRefused(
            "not_payable",
            f"Khoản chi trả {payment.provider_reference} đã được cán bộ rút khỏi danh sách chi tiền mặt (lý do: "
            f"{note or '—'}), không chi được. Nếu đã đưa tiền cho người lao động, hãy đưa hồ sơ trở lại danh sách chi "
            "tiền mặt rồi ghi biên lai; nếu chưa, đừng chi.",
            f"Payment {payment.provider_reference} was taken off the cash list by a caseworker (reason: {note or '—'}) "
            "and cannot be paid. If the money was handed over, put the claim back on the cash list, then record the "
            "receipt; if not, do not pay.",
        )
    if payment.state not in (PaymentState.QUEUED, PaymentState.SENT):
        state_vi, state_en = PAYMENT_STATES[payment.state]
        raise CashRefused(
            "not_payable",
            f"Khoản chi trả {payment.provider_reference} ở trạng thái '{state_vi}', không chi được.",
            f"Payment {payment.provider_reference} is '{state_en}' and cannot be paid.",
        )


def _failure_note(payment_id: int) -> str | None:
    """The note written on the payment's latest failure (why the office took it off its list)."""
    return db.session.scalar(
        select(PaymentEvent.data["note"].astext)
        .where(PaymentEvent.payment_id == payment_id, PaymentEvent.to_state == "failed")
        .order_by(PaymentEvent.id.desc())
        .limit(1)
    )


def _period_ended(payment: Payment) -> CashRefused:
    """No cash is handed over after the programme's last payable day (docs/rules.md, section 4): said for cash, not
    in the batching's words."""
    claim = db.session.get(Claim, payment.claim_id)
    program = db.session.get(Program, claim.program_id) if claim is not None else None
    assert program is not None  # payments.claim_id and claims.program_id are foreign keys
    last = dmy(program.last_payable_day)
    return CashRefused(
        "payment_period_ended",
        f"Chương trình {program.code} đã hết hạn chi trả ngày {last}: không chi tiền mặt sau ngày này, nên không ghi "
        f"nhận được khoản chi trả {payment.provider_reference}. Nếu chưa đưa tiền cho người lao động, đừng chi.",
        f"Programme {program.code} stopped paying on {last}: no cash is handed over after that day, so payment "
        f"{payment.provider_reference} cannot be recorded. If the money was not handed over, do not pay.",
    )


def _check_receipt_unused(receipt: str) -> None:
    """Refused if ``receipt`` pays another payment. Holds the receipt's advisory lock until the commit, so a second
    transaction with the same number waits here and then sees the first one's payment."""
    db.session.execute(_RECEIPT_LOCK, {"receipt": receipt})
    other = db.session.scalar(select(Payment.provider_reference).where(Payment.receipt_number == receipt).limit(1))
    if other is not None:
        raise CashRefused(
            "receipt_used",
            f"Biên lai số {receipt} đã dùng cho khoản chi trả {other}.",
            f"Receipt number {receipt} is already recorded for payment {other}.",
        )


def check_scope(actor: Actor, claim: Claim) -> None:
    """Money is handed over at the claim's own office: a caseworker of another district, an employer or a
    supervisor may not record it. Admins and the system (no actor) may."""
    user = db.session.get(User, actor) if isinstance(actor, int) else actor
    if user is None:
        return
    if user.active and (user.role == "admin" or (user.role, user.district_code) == ("caseworker", claim.district_code)):
        return
    raise CashRefused(
        "out_of_scope",
        f"{user.email} không được ghi nhận chi trả của quận/huyện {claim.district_code}.",
        f"{user.email} may not act on payments of district {claim.district_code}.",
    )


def _check_claim(claim: Claim, payment: Payment) -> None:
    if claim.state != ClaimState.PAYMENT_PENDING:
        vi, en = STATE_LABELS[ClaimState(claim.state)]
        raise CashRefused(
            "claim_not_pending",
            f"Hồ sơ của khoản chi trả {payment.provider_reference} đang ở trạng thái '{vi}', không chi được.",
            f"The claim of payment {payment.provider_reference} is '{en}' and cannot be paid.",
        )


def _check_period(claim: Claim, payment: Payment) -> None:
    program = db.session.get(Program, claim.program_id)
    assert program is not None  # claims.program_id is a foreign key
    if not payments.payable(program):
        raise _period_ended(payment)


def record_cash_payment(reference: str, receipt_number: str, actor: Actor = None) -> Payment:
    """Record that the person was paid at the office against ``receipt_number``: the payment (sent, or queued: sent
    and settled in one go) → ``paid`` with the receipt number, and its claim → ``paid``, through both transition
    paths; flush. Every check runs before anything is written: :class:`CashRefused`, nothing changed. The receipt
    the payment is already paid against is :class:`AlreadyRecorded` (another receipt for it is refused)."""
    receipt = clean_receipt_number(receipt_number)
    payment, batch = _cash_payment(reference)
    claim = claims.get_claim_for_update(payment.claim_id)
    assert claim is not None
    check_scope(actor, claim)
    if payment.state == PaymentState.PAID and payment.receipt_number == receipt:
        raise AlreadyRecorded(payment)
    if (payment.state, payment.failure_code) == (PaymentState.FAILED, reasons.CASH_PERIOD_ENDED):
        raise _period_ended(payment)  # the close-out took it off the list: said as the day's end, not as a failure
    _check_payable(payment)
    _check_claim(claim, payment)
    _check_period(claim, payment)
    _check_receipt_unused(receipt)
    data: dict[str, Any] = {"batch_id": batch.id, "receipt_number": receipt}
    if payment.state == PaymentState.QUEUED:
        payments.transition(payment, PaymentAction.SEND, actor, data={"batch_id": batch.id, "at_the_office": True})
    payment.receipt_number = receipt
    db.session.flush()
    payments.transition(payment, PaymentAction.SETTLE, actor, data=data)
    claims.transition(claim, ClaimAction.PAYMENT_SUCCEEDED, actor, data={"payment_id": payment.id, **data})
    return payment


# ---------------------------------------------------------------------------------------------- the cash offer


#: The longest written reason for taking a payment off the cash list.
MAX_WITHDRAW_REASON = 500


def withdrawn_with(payment_id: int, reason: str) -> bool:
    """Whether the office took the cash payment off its list with ``reason`` (spaces collapsed, as the cash service
    writes it on the payment's event). Read as columns, after the cash service locked the payment: a withdrawal
    another transaction has just committed is seen."""
    state, code = db.session.execute(select(Payment.state, Payment.failure_code).where(Payment.id == payment_id)).one()
    if (state, code) != ("failed", reasons.CASH_WITHDRAWN):
        return False
    return _failure_note(payment_id) == " ".join(reason.split())


def withdraw_cash_payment(reference: str, actor: Actor, reason: str) -> Payment:
    """Take the cash payment ``reference`` (queued or sent, not paid) off its office's list: the payment fails with
    :data:`~disburse.payments.reasons.CASH_WITHDRAWN`, and the claim follows the failure path (``payment_failed`` →
    ``awaiting_payment_details``), through both transition paths, ``reason`` on the events (``data.note``); flush.
    Every check runs first: :class:`CashRefused`, nothing changed."""
    written = " ".join((reason or "").split())
    if not written:
        raise CashRefused(
            "reason_required",
            "Hãy ghi lý do rút khỏi danh sách chi tiền mặt.",
            "Give the reason for taking the payment off the cash list.",
        )
    if len(written) > MAX_WITHDRAW_REASON:
        raise CashRefused(
            "reason_too_long",
            f"Lý do tối đa {MAX_WITHDRAW_REASON} ký tự.",
            f"The reason is at most {MAX_WITHDRAW_REASON} characters.",
        )
    payment, _batch = _cash_payment(reference)
    claim = claims.get_claim_for_update(payment.claim_id)
    assert claim is not None
    check_scope(actor, claim)
    _check_payable(payment)
    _check_claim(claim, payment)
    data = {"source": "office", "note": written}
    payments.transition(payment, PaymentAction.FAIL, actor, reason=reasons.CASH_WITHDRAWN, data=data)
    claims_failed(
        ClaimAction.PAYMENT_FAILED, [claim.id], reasons.CASH_WITHDRAWN, "office", actor, Applied(), note=written
    )
    return payment


def _check_offer(claim: Claim, program: Program, early: bool) -> None:
    if claim.state != ClaimState.AWAITING_PAYMENT_DETAILS:
        vi, en = STATE_LABELS[ClaimState(claim.state)]
        raise CashRefused(
            "claim_not_awaiting_details",
            f"Hồ sơ {claim.id} đang ở trạng thái '{vi}': chỉ hồ sơ chờ bổ sung thông tin tài khoản mới chuyển sang "
            "nhận tiền mặt.",
            f"Claim {claim.id} is '{en}': only a claim awaiting payment details can be switched to cash.",
        )
    if claim.payout != "cash" and not early and claim.payment_failures < program.max_payment_failures:
        raise CashRefused(
            "too_few_failures",
            f"Hồ sơ {claim.id} mới chi trả không thành công {claim.payment_failures} lần, chưa đủ "
            f"{program.max_payment_failures} lần: hãy ghi lý do chuyển sang nhận tiền mặt sớm.",
            f"Claim {claim.id} has failed {claim.payment_failures} time{'' if claim.payment_failures == 1 else 's'}, "
            f"fewer than {program.max_payment_failures}: give the reason for offering cash early.",
        )


def offered_already(claim: Claim) -> bool:
    """Whether the claim is paid in cash and on its way to the office's list (approved, or on a list): an offer of
    cash made again (a second click, the command run twice) finds it done."""
    return claim.payout == "cash" and ClaimState(claim.state) in (ClaimState.APPROVED, ClaimState.PAYMENT_PENDING)


def offer_cash(
    claim: Claim | int, actor: Actor = None, *, early: bool = False, reason: str | None = None
) -> ClaimEvent:
    """Switch a claim awaiting payment details to cash at the office and put it back to ``approved``, so that the
    next cash batch takes it: a ``correct`` note with the old and new payout (the bank details, which failed, are
    cleared and kept on the note), then ``details_received``; flush. A claim already paid in cash (its payment was
    taken off a list, :func:`withdraw_cash_payment`) goes back on the next list: ``details_received`` only.

    A switch from the bank only after ``max_payment_failures`` failed payments, unless ``early`` (a caseworker's
    choice, ``reason`` saying why); never after the programme's last payable day (``payment_period_ended``: no cash
    is handed over then). :class:`CashRefused` otherwise, nothing changed."""
    claim_id = claim if isinstance(claim, int) else claim.id
    locked = claims.get_claim_for_update(claim_id)
    if locked is None:
        raise CashRefused("unknown_claim", f"Không có hồ sơ số {claim_id}.", f"There is no claim {claim_id}.")
    check_scope(actor, locked)
    program = db.session.get(Program, locked.program_id)
    assert program is not None
    _check_offer(locked, program, early)
    ended = payments.period_ended_refusal(program)
    if ended is not None:
        raise CashRefused("payment_period_ended", *ended)
    if locked.payout == "cash":
        return claims.transition(
            locked, ClaimAction.DETAILS_RECEIVED, actor, reason=reason, data={"payout": "cash", "listed_again": True}
        )
    old = {"payout": locked.payout, "bank_code": locked.bank_code, "bank_account": locked.bank_account}
    locked.payout, locked.bank_code, locked.bank_account = "cash", None, None
    drop_bank_reasons(locked)
    db.session.flush()
    new = {"payout": "cash", "bank_code": None, "bank_account": None}
    claims.note(
        locked,
        ClaimNote.CORRECT,
        actor,
        reason=reason,
        data={
            "field": "payout",
            "old": old,
            "new": new,
            "payment_failures": locked.payment_failures,
            "max_payment_failures": program.max_payment_failures,
            "early": early,
        },
    )
    return claims.transition(locked, ClaimAction.DETAILS_RECEIVED, actor, data={"payout": "cash"})


def cash_in_review(claim: Claim | int, actor: Actor, reason: str) -> ClaimEvent:
    """Pay a claim in review in cash at the office instead of by bank transfer (a person without a bank account, or
    whose account cannot be paid): its payout becomes cash, the bank details are cleared and kept on a ``correct``
    note with the old and new payout and ``reason`` (required: why cash), and verification's findings about the
    details leave its list; flush. The claim stays in review, for the caseworker to approve (the case page does both
    at once: :func:`disburse.casework.service.approve_in_cash`); approved, the next cash batch takes it. Only a claim
    in review paid by bank transfer: :class:`CashRefused` otherwise, nothing changed."""
    written = " ".join((reason or "").split())
    if not written:
        raise CashRefused(
            "reason_required",
            "Hãy ghi lý do người lao động nhận tiền mặt tại cơ quan BHXH.",
            "Give the reason the person is paid in cash at the office.",
        )
    claim_id = claim if isinstance(claim, int) else claim.id
    locked = claims.get_claim_for_update(claim_id)
    if locked is None:
        raise CashRefused("unknown_claim", f"Không có hồ sơ số {claim_id}.", f"There is no claim {claim_id}.")
    check_scope(actor, locked)
    if locked.state != ClaimState.NEEDS_REVIEW or locked.payout != "bank":
        vi, en = STATE_LABELS[ClaimState(locked.state)]
        raise CashRefused(
            "claim_not_in_review",
            f"Hồ sơ {locked.id} đang ở trạng thái '{vi}': chỉ hồ sơ cần xác minh, nhận tiền qua chuyển khoản mới "
            "chuyển sang nhận tiền mặt khi duyệt.",
            f"Claim {locked.id} is '{en}': only a claim in review paid by bank transfer is switched to cash on "
            "approval.",
        )
    old = {"payout": locked.payout, "bank_code": locked.bank_code, "bank_account": locked.bank_account}
    locked.payout, locked.bank_code, locked.bank_account = "cash", None, None
    drop_bank_reasons(locked)
    db.session.flush()
    new = {"payout": "cash", "bank_code": None, "bank_account": None}
    data = {"field": "payout", "old": old, "new": new, "by": "office", "in_review": True}
    return claims.note(locked, ClaimNote.CORRECT, actor, reason=written, data=data)


__all__ = [
    "MAX_RECEIPT",
    "MAX_WITHDRAW_REASON",
    "AlreadyRecorded",
    "CashListRow",
    "CashProvider",
    "CashRefused",
    "cash_in_review",
    "cash_list",
    "check_district",
    "clean_receipt_number",
    "mask_national_id",
    "offer_cash",
    "record_cash_payment",
    "withdraw_cash_payment",
]
