"""Cash at the office: the office's list of a day, receipts that pay payment and claim, every refusal changing
nothing, and the cash offer after failed bank payments; the commands end to end."""

from __future__ import annotations

import csv
import unicodedata
from datetime import UTC, date, datetime

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from disburse.casework import service as casework
from disburse.claims import service as claims
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.states import ClaimAction
from disburse.extensions import db
from disburse.formatting import vietnamese_key, vietnamese_name_key
from disburse.payments import sending
from disburse.payments import service as payments
from disburse.payments.cash import (
    _RECEIPT_LOCK,
    MAX_WITHDRAW_REASON,
    AlreadyRecorded,
    CashProvider,
    CashRefused,
    cash_list,
    offer_cash,
    record_cash_payment,
    withdraw_cash_payment,
)
from disburse.payments.cli import payments_cli
from disburse.payments.models import Payment, PaymentBatch, PaymentEvent
from disburse.payments.providers import PermanentError, Provider, ProviderStatus
from disburse.payments.states import PaymentAction
from disburse.programs.calendar import VIETNAM_TZ
from disburse.programs.models import Program
from disburse.registry.models import Employee
from tests.factories import create_claim, create_employee, create_employer, create_program, create_user

DONG_ANH, OTHER = "017", "018"
#: 15/10/2021 01:30 in Vietnam is still the 14th in UTC: the list's day is Vietnam's.
EARLY_ON_THE_15TH = datetime(2021, 10, 14, 18, 30, tzinfo=UTC)
ON_THE_16TH = datetime(2021, 10, 16, 3, 0, tzinfo=UTC)


def _cash_claim(program: Program, name: str, district: str = DONG_ANH, **overrides: object) -> Claim:
    employer = create_employer(district_code=district)
    employee = create_employee(full_name=name, employer_id=employer.id, district_code=district)
    values = {"payout": "cash", "bank_code": None, "bank_account": None, **overrides}
    return create_claim("approved", program=program, employee=employee, **values)


def _issue(program: Program, sent_at: datetime | None = None) -> PaymentBatch:
    """A cash batch of every approved cash claim, handed over as the sender does (the batch and its payments marked
    sent, then the provider called), on the day ``sent_at`` says."""
    made = payments.create_batch(program, "cash", "cash")
    assert made is not None
    batch = payments.get_batch_for_update(made.id)
    assert batch is not None and payments.mark_batch_sent(batch)
    ack = CashProvider().send(batch.reference, payments.batch_orders(batch.id))
    assert ack.accepted and ack.correlation_id == batch.reference
    if sent_at is not None:
        batch.sent_at = sent_at
    db.session.flush()
    return batch


def _payment(claim: Claim) -> Payment:
    payment = payments.live_payment_for_claim(claim.id)
    assert payment is not None
    return payment


def _snapshot() -> tuple[object, ...]:
    """Everything a cash request could change."""
    return (
        db.session.execute(
            select(Payment.id, Payment.state, Payment.receipt_number, Payment.settled_at).order_by(Payment.id)
        ).all(),
        db.session.execute(select(Claim.id, Claim.state, Claim.payout, Claim.bank_account).order_by(Claim.id)).all(),
        db.session.scalar(select(func.count()).select_from(PaymentEvent)),
        db.session.scalar(select(func.count()).select_from(ClaimEvent)),
    )


def _refused(code: str, call: object, *args: object, **kwargs: object) -> CashRefused:
    before = _snapshot()
    with pytest.raises(CashRefused) as refused:
        call(*args, **kwargs)  # type: ignore[operator]
    assert refused.value.code == code
    assert refused.value.message_vi and refused.value.message_en
    db.session.expire_all()
    assert _snapshot() == before
    return refused.value


# -------------------------------------------------------------------------------------------------------- the list


def test_the_list_holds_exactly_the_offices_open_cash_payments_of_the_day(db_session):
    program = create_program()
    names = ["Trần Thị Ánh", "Nguyễn Văn An", "Lê Văn Bình", "Phạm Thị Anh", "Đỗ Văn An"]
    day_one = [_cash_claim(program, name) for name in names]
    elsewhere = _cash_claim(program, "Hoàng Văn An", district=OTHER)
    bank = create_claim("approved", program=program)
    _issue(program, EARLY_ON_THE_15TH)
    paid_already = day_one.pop(names.index("Phạm Thị Anh"))
    record_cash_payment(_payment(paid_already).provider_reference, "BL-0001")
    day_two = _cash_claim(program, "Bùi Thị An")
    _issue(program, ON_THE_16TH)
    not_yet_sent = _cash_claim(program, "Vũ Văn An")
    assert payments.create_batch(program, "cash", "cash") is not None
    other_program = _cash_claim(create_program(), "Lý Văn An")
    _issue(db.session.get(Program, other_program.program_id), EARLY_ON_THE_15TH)

    listed = cash_list(program, DONG_ANH, date(2021, 10, 15))

    # Given name, then family name (Đ after D), then middle name; "An" before "Anh" before "Ánh" before "Bình".
    assert [row.full_name for row in listed] == ["Đỗ Văn An", "Nguyễn Văn An", "Trần Thị Ánh", "Lê Văn Bình"]
    by_name = {c.id: c for c in day_one}
    for row in listed:
        payment = db.session.scalar(select(Payment).where(Payment.provider_reference == row.reference))
        claim = by_name[payment.claim_id]
        assert row.amount_vnd == payment.amount_vnd == claim.amount_vnd
        assert row.sent_on == date(2021, 10, 15) and row.receipt_number is None
        assert row.national_id == "********" + _national_id(claim.employee_id)[-4:]
        assert row.date_of_birth == db.session.get(Employee, claim.employee_id).date_of_birth is not None
    assert [row.full_name for row in cash_list(program, DONG_ANH, date(2021, 10, 16))] == ["Bùi Thị An"]
    assert cash_list(program, DONG_ANH, date(2021, 10, 14)) == []
    assert {row.reference for row in cash_list(program, DONG_ANH)} == {
        _payment(c).provider_reference for c in [*day_one, day_two]
    }
    assert [row.full_name for row in cash_list(program, OTHER)] == ["Hoàng Văn An"]
    assert _payment(not_yet_sent).state == "queued" and db.session.get(Claim, bank.id).state == "approved"
    assert elsewhere.district_code == OTHER


def _national_id(employee_id: int) -> str:
    employee = db.session.get(Employee, employee_id)
    assert employee is not None
    return employee.national_id


def test_vietnamese_order_letters_then_tones_given_name_first():
    letters = ["a", "à", "ả", "ã", "á", "ạ", "ă", "ằ", "â", "b", "d", "đ", "e", "ê", "o", "ô", "ơ", "u", "ư", "y"]
    assert sorted(reversed(letters), key=vietnamese_key) == letters
    assert sorted(["Dung", "Đào", "Duy", "Anh", "ánh", "Ánh"], key=vietnamese_key) == [
        "Anh",
        "ánh",
        "Ánh",
        "Dung",
        "Duy",
        "Đào",
    ]
    names = ["Trần Văn Bình", "Nguyễn Thị Bình", "Nguyễn Văn An", "Lê An", "Bình"]
    assert sorted(names, key=vietnamese_name_key) == [
        "Lê An",
        "Nguyễn Văn An",
        "Bình",
        "Nguyễn Thị Bình",
        "Trần Văn Bình",
    ]


@given(st.text(st.sampled_from("aăâbdđeêioôơuưy àáảãạ\u0300\u0301\u0303\u0309\u0323AĂĐ"), max_size=12))
def test_a_name_sorts_the_same_whatever_its_unicode_form(name):
    assert vietnamese_name_key(unicodedata.normalize("NFC", name)) == vietnamese_name_key(
        unicodedata.normalize("NFD", name)
    )


def test_an_unknown_district_is_refused(db_session):
    _refused("unknown_district", cash_list, create_program(), "999")


# ------------------------------------------------------------------------------------------------ paying at the desk


def test_a_receipt_pays_the_payment_and_its_claim_with_their_events(db_session):
    program = create_program()
    claim = _cash_claim(program, "Nguyễn Thị Lan")
    _issue(program)
    payment = _payment(claim)
    caseworker = create_user("caseworker", district=DONG_ANH)

    paid = record_cash_payment(f" {payment.provider_reference} ", "  aa/21e \u00a0 0001234 ", caseworker)
    db_session.flush()
    db_session.expire_all()

    paid = db_session.get(Payment, payment.id)
    assert (paid.state, paid.receipt_number) == ("paid", "AA/21E 0001234") and paid.settled_at is not None
    events = payments.payment_events(payment.id)
    assert [(e.from_state, e.to_state) for e in events] == [(None, "queued"), ("queued", "sent"), ("sent", "paid")]
    assert events[-1].actor_id == caseworker.id and events[-1].data["receipt_number"] == "AA/21E 0001234"
    claim = db_session.get(Claim, claim.id)
    assert claim.state == "paid" and claim.paid_at is not None
    last = claims.claim_events(claim.id)[-1]
    assert (last.action, last.actor_id, last.data["payment_id"]) == ("payment_succeeded", caseworker.id, payment.id)

    provider: Provider = CashProvider()
    other = _cash_claim(program, "Trần Văn Nam")
    _issue(program)
    status = {u.reference: u for u in provider.status([paid.provider_reference, _payment(other).provider_reference])}
    assert status[paid.provider_reference].status is ProviderStatus.PAID
    assert status[paid.provider_reference].amount_vnd == paid.amount_vnd
    assert status[_payment(other).provider_reference].status is ProviderStatus.PENDING
    assert provider.status(["NOBODY-1-1"])[0].status is ProviderStatus.UNKNOWN
    with pytest.raises(PermanentError):
        provider.parse_event(b"{}", {})


def test_a_queued_cash_payment_is_sent_and_settled_in_one_go(db_session):
    program = create_program()
    claim = _cash_claim(program, "Lê Thị Hoa")
    batch = payments.create_batch(program, "cash", "cash")
    assert batch is not None
    payment = _payment(claim)

    record_cash_payment(payment.provider_reference, "BL-77", create_user("admin"))

    db_session.expire_all()
    assert db_session.get(Payment, payment.id).state == "paid"
    assert [e.to_state for e in payments.payment_events(payment.id)] == ["queued", "sent", "paid"]
    assert db_session.get(Claim, claim.id).state == "paid"


def test_the_sender_hands_a_cash_batch_to_the_offices_and_a_second_send_hands_over_nothing(db_session):
    program = create_program()
    first, second = (_cash_claim(program, n) for n in ("Kiều Văn Sơn", "Kiều Thị Sen"))
    batch = payments.create_batch(program, "cash", "cash")
    assert batch is not None

    sent = sending.send_batch(batch.id)

    assert sent.accepted and sent.orders == 2 and sent.error is None
    batch = db_session.get(PaymentBatch, batch.id)
    assert (batch.state, batch.correlation_id, batch.send_attempts) == ("sent", batch.reference, 1)
    today = batch.sent_at.astimezone(VIETNAM_TZ).date()
    assert {row.full_name for row in cash_list(program, DONG_ANH, today)} == {"Kiều Văn Sơn", "Kiều Thị Sen"}
    record_cash_payment(_payment(first).provider_reference, "BL-SON-1")

    again = sending.send_batch(batch.id)

    assert again.orders == 0 and db_session.get(PaymentBatch, batch.id).send_attempts == 1
    assert (_payment(first).state, _payment(second).state) == ("paid", "sent")
    assert [row.full_name for row in cash_list(program, DONG_ANH)] == ["Kiều Thị Sen"]


def test_every_refusal_says_why_and_changes_nothing(db_session):
    program = create_program()
    paid_claim, open_claim, returned_claim = (_cash_claim(program, n) for n in ("Hà An", "Hà Bình", "Hà Chi"))
    _issue(program)
    paid = _payment(paid_claim)
    record_cash_payment(paid.provider_reference, "BL-1")
    returned = _payment(returned_claim)
    payments.transition(returned, PaymentAction.RETURN, reason="CUST")
    bank_claim = create_claim("approved", program=program)
    bank_batch = payments.create_batch(program, "bank", "sandbox")
    assert bank_batch is not None
    reference = _payment(open_claim).provider_reference

    _refused("unknown_reference", record_cash_payment, "NO-SUCH-REF", "BL-2")
    _refused("unknown_reference", record_cash_payment, "   ", "BL-2")
    _refused("not_cash", record_cash_payment, _payment(bank_claim).provider_reference, "BL-2")
    already = _refused("already_paid", record_cash_payment, paid.provider_reference, "BL-2")
    assert "BL-1" in already.message_vi and "BL-1" in already.message_en
    same = _refused("already_recorded", record_cash_payment, paid.provider_reference, "bl-1")  # done already
    assert isinstance(same, AlreadyRecorded) and same.payment.id == paid.id
    gone = _refused("not_payable", record_cash_payment, returned.provider_reference, "BL-2")
    # The payment's state in words, in each language (it showed 'returned' in the Vietnamese line).
    assert "'Bị hoàn trả'" in gone.message_vi and "'Returned'" in gone.message_en
    _refused("out_of_scope", record_cash_payment, reference, "BL-2", create_user("caseworker", district=OTHER))
    _refused("out_of_scope", record_cash_payment, reference, "BL-2", create_user("employer"))
    _refused("out_of_scope", record_cash_payment, reference, "BL-2", create_user("supervisor", province="01"))


def test_one_receipt_pays_one_payment(db_session):
    program = create_program()
    first, second = (_cash_claim(program, n) for n in ("Ngô An", "Ngô Bình"))
    _issue(program)
    record_cash_payment(_payment(first).provider_reference, "BL 0001")

    used = _refused("receipt_used", record_cash_payment, _payment(second).provider_reference, "  bl  0001 ")
    assert _payment(first).provider_reference in used.message_en
    # Full-width digits (a Vietnamese keyboard's) are the same digits: the same receipt, used already.
    _refused("receipt_used", record_cash_payment, _payment(second).provider_reference, "BL ０００1")

    record_cash_payment(_payment(second).provider_reference, "BL 0002")
    assert db_session.get(Claim, second.id).state == "paid"


def test_a_receipt_number_being_recorded_elsewhere_is_waited_for(db_session):
    """Two desks recording one receipt number take turns: while another transaction holds the number's lock, the
    service waits (here, until the lock timeout), so the second one sees the first one's payment when it goes on."""
    program = create_program()
    claim = _cash_claim(program, "Tạ Văn Lộc")
    _issue(program)
    reference = _payment(claim).provider_reference
    with db.engine.connect() as other_desk:
        other_desk.execute(_RECEIPT_LOCK, {"receipt": "BL-LOCK-7"})
        before = _snapshot()
        with pytest.raises(OperationalError, match="lock timeout"), db_session.begin_nested():
            db_session.execute(text("SET LOCAL lock_timeout = '300ms'"))
            record_cash_payment(reference, " bl-lock-7 ")
        db_session.expire_all()
        assert _snapshot() == before
        other_desk.rollback()
    record_cash_payment(reference, "BL-LOCK-7")
    assert _payment(claim).receipt_number == "BL-LOCK-7"


_PRINTABLE = st.text(st.characters(categories=["L", "N", "P"]), min_size=1, max_size=10)
_BLANK = st.text(st.sampled_from(" \t\n\r\u00a0\u2003\u3000"), max_size=6)
_CONTROL = st.builds(
    lambda a, c, b: a + c + b, _PRINTABLE, st.characters(categories=["Cc", "Cf", "Zl", "Zp"]), _PRINTABLE
)
_TOO_LONG = st.text(st.characters(categories=["L", "N"]), min_size=41, max_size=80)
#: Look-alikes and no-numbers: a Cyrillic "А" (another number of the same receipt), full stops only, no digit.
_NOT_A_RECEIPT = st.sampled_from(["АА/21E 0000001", "-", "x", "Biên lai số 12", "BL/AB"])
_BAD_RECEIPTS = st.one_of(_BLANK, _CONTROL, _TOO_LONG, _NOT_A_RECEIPT, st.none())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(receipt=_BAD_RECEIPTS)
def test_a_bad_receipt_number_is_refused_and_changes_nothing(db_session, receipt):
    program = db.session.scalar(select(Program).where(Program.code == "TCASHBAD"))
    if program is None:  # one sent cash payment, made once for every example
        program = create_program(code="TCASHBAD")
        _cash_claim(program, "Phan Văn Tú")
        _issue(program)
    payment = db.session.scalar(
        select(Payment).join(PaymentBatch).where(PaymentBatch.program_id == program.id, Payment.state == "sent")
    )
    refusal = _refused(
        "receipt_blank" if not (receipt or "").strip() else "receipt_malformed",
        record_cash_payment,
        payment.provider_reference,
        receipt,
    )
    assert "biên lai" in refusal.message_vi.lower() and "receipt" in refusal.message_en.lower()


# -------------------------------------------------------------------------------------------------- the cash offer


def _fail_a_bank_payment(program: Program, claim: Claim) -> None:
    batch = payments.create_batch(program, "bank", "sandbox")
    assert batch is not None
    payment = _payment(claim)
    payments.transition(payment, PaymentAction.SEND)
    payments.transition(payment, PaymentAction.FAIL, reason="rjct.payee_fa.closed")
    claims.transition(claim.id, ClaimAction.PAYMENT_FAILED, data={"payment_id": payment.id})
    claims.transition(claim.id, ClaimAction.REQUEST_DETAILS)


def test_after_max_failures_cash_is_offered_and_the_next_cash_batch_takes_the_claim(db_session):
    program = create_program(max_payment_failures=2)
    claim = create_claim("approved", program=program)
    caseworker = create_user("caseworker", district=claim.district_code)
    _fail_a_bank_payment(program, claim)

    _refused("too_few_failures", offer_cash, claim.id, caseworker)

    claims.transition(claim.id, ClaimAction.DETAILS_RECEIVED)
    _fail_a_bank_payment(program, claim)
    assert db_session.get(Claim, claim.id).payment_failures == 2

    _refused("out_of_scope", offer_cash, claim.id, create_user("caseworker", district=OTHER))
    event = offer_cash(claim.id, caseworker)

    claim = db_session.get(Claim, claim.id)
    assert (claim.state, claim.payout, claim.bank_code, claim.bank_account) == ("approved", "cash", None, None)
    assert (event.action, event.from_state, event.to_state) == (
        "details_received",
        "awaiting_payment_details",
        "approved",
    )
    note = claims.claim_events(claim.id)[-2]
    assert (note.action, note.from_state, note.to_state, note.actor_id) == (
        "correct",
        "awaiting_payment_details",
        "awaiting_payment_details",
        caseworker.id,
    )
    assert note.data["old"] == {"payout": "bank", "bank_code": "VCB", "bank_account": "0011004455667"}
    assert note.data["new"]["payout"] == "cash" and note.data["payment_failures"] == 2
    _refused("claim_not_awaiting_details", offer_cash, claim.id, caseworker)

    assert payments.create_batch(program, "bank", "sandbox") is None
    batch = payments.create_batch(program, "cash", "cash")
    assert batch is not None and batch.item_count == 1
    payment = _payment(claim)
    assert (payment.attempt, payment.batch_id, payment.bank_account) == (3, batch.id, None)


def test_a_caseworker_may_offer_cash_early(db_session):
    program = create_program(max_payment_failures=3)
    claim = create_claim("approved", program=program)
    _fail_a_bank_payment(program, claim)

    offer_cash(claim.id, None, early=True, reason="Người nhận không có tài khoản ngân hàng")

    assert db_session.get(Claim, claim.id).payout == "cash"
    assert claims.claim_events(claim.id)[-2].data["early"] is True
    _refused("claim_not_awaiting_details", offer_cash, claim.id, None, early=True)
    _refused("unknown_claim", offer_cash, 2**40)


# ------------------------------------------------------------------------------------------- off the cash list


def test_a_payment_taken_off_the_cash_list_is_paid_once_by_transfer_or_on_a_later_list(db_session):
    """The person asks to be paid by transfer: the caseworker takes the payment off the office's list with a
    reason; the office can no longer pay it; the claim waits for details, is put back on the next list, and is paid
    there once. A second claim taken off the list is paid by transfer to the account the person gave."""
    program = create_program(max_payment_failures=3)
    caseworker = create_user("caseworker", district=DONG_ANH)
    relisted, by_bank = _cash_claim(program, "Nguyễn Văn An"), _cash_claim(program, "Trần Thị Bình")
    _issue(program)
    first = {c.id: _payment(c) for c in (relisted, by_bank)}

    for claim in (relisted, by_bank):
        withdraw_cash_payment(
            first[claim.id].provider_reference, caseworker, "  Người lao động  xin nhận qua ngân hàng "
        )
    db.session.expire_all()
    for claim in (relisted, by_bank):
        payment = db_session.get(Payment, first[claim.id].id)
        assert (payment.state, payment.failure_code) == ("failed", "cash.withdrawn")
        events = claims.claim_events(claim.id)
        assert [e.action for e in events[-2:]] == ["payment_failed", "request_details"]
        assert events[-1].data["note"] == "Người lao động xin nhận qua ngân hàng"
        assert db_session.get(Claim, claim.id).state == "awaiting_payment_details"
    _refused("not_payable", record_cash_payment, first[relisted.id].provider_reference, "AA/21E 0000001", caseworker)
    assert cash_list(program, DONG_ANH) == []

    offer_cash(relisted.id, caseworker)
    assert casework.correct_payment_details(by_bank.id, caseworker, "BIDV", "21510001234567").outcome == "corrected"
    assert {db_session.get(Claim, c.id).state for c in (relisted, by_bank)} == {"approved"}
    assert db_session.get(Claim, by_bank.id).payout == "bank"

    batch = _issue(program)
    assert batch.item_count == 1
    again = _payment(relisted)
    assert (again.attempt, again.batch_id) == (2, batch.id)
    record_cash_payment(again.provider_reference, "AA/21E 0000002", caseworker)
    bank = payments.create_batch(program, "bank", "sandbox")
    assert bank is not None and bank.item_count == 1
    assert _payment(by_bank).bank_account == "21510001234567"
    paid = db_session.execute(
        select(Payment.claim_id, func.count()).where(Payment.state == "paid").group_by(Payment.claim_id)
    ).all()
    assert paid == [(relisted.id, 1)]


def test_taking_a_payment_off_the_cash_list_refuses_and_changes_nothing(db_session):
    program = create_program()
    caseworker = create_user("caseworker", district=DONG_ANH)
    elsewhere = create_user("caseworker", district=OTHER)
    claim, paid = _cash_claim(program, "Lê Văn Cường"), _cash_claim(program, "Phạm Thị Dung")
    _issue(program)
    reference = _payment(claim).provider_reference
    record_cash_payment(_payment(paid).provider_reference, "AA/21E 0000003", caseworker)

    _refused("reason_required", withdraw_cash_payment, reference, caseworker, " \n ")
    _refused("reason_too_long", withdraw_cash_payment, reference, caseworker, "x" * (MAX_WITHDRAW_REASON + 1))
    _refused("out_of_scope", withdraw_cash_payment, reference, elsewhere, "Xin nhận qua ngân hàng")
    _refused("unknown_reference", withdraw_cash_payment, "NO-SUCH", caseworker, "Xin nhận qua ngân hàng")
    _refused("already_paid", withdraw_cash_payment, _payment(paid).provider_reference, caseworker, "Nhầm")


# ---------------------------------------------------------------------------------------------------- the commands


def test_the_commands_list_a_day_write_spreadsheets_and_record_receipts(app, db_session, tmp_path):
    program = create_program()
    claim = _cash_claim(program, '=HYPERLINK("http://x")')
    other = _cash_claim(program, "Nguyễn Văn An")
    _issue(program, EARLY_ON_THE_15TH)
    reference = _payment(other).provider_reference
    caseworker = create_user("caseworker", district=DONG_ANH)
    runner = app.test_cli_runner()
    base = ["cash-list", "--district", DONG_ANH, "--program", program.code]

    shown = runner.invoke(payments_cli, [*base, "--date", "15/10/2021"])
    assert shown.exit_code == 0, shown.output
    assert reference in shown.output and "2 người" in shown.output and "2 people" in shown.output
    assert shown.output.startswith("Danh sách chi tiền mặt tại cơ quan BHXH ")  # the file's title, in both languages
    assert "Cash payment list, social security office of " in shown.output and "Ngày sinh" in shown.output
    # Its columns headed in both languages, as the file's are (the English line was missing).
    vietnamese, english = [line.split() for line in shown.output.splitlines()[2:4]]
    assert vietnamese[:3] == ["STT", "Họ", "và"] and english[:3] == ["No.", "Full", "name"], shown.output
    assert english[-2:] == ["Receipt", "number"]
    assert "********" in shown.output and _national_id(db_session.get(Claim, other.id).employee_id) not in shown.output

    out = tmp_path / "chi-tien-mat.xlsx"
    written = runner.invoke(payments_cli, [*base, "--date", "15/10/2021", "--out", str(out)])
    assert written.exit_code == 0, written.output
    sheet = openpyxl.load_workbook(out).active
    header = [cell.value for cell in sheet[4]]  # under the title (tests/payments/test_cash_list_file.py)
    assert header[1] == "Họ và tên / Full name" and "Số biên lai / Receipt number" in header
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=5, max_row=6)]
    assert {row[1] for row in rows} == {'\'=HYPERLINK("http://x")', "Nguyễn Văn An"}
    receipt_column = header.index("Số biên lai / Receipt number")
    issued = header.index("Ngày lập danh sách / List issued on")
    assert all(row[receipt_column] is None for row in rows) and {row[issued] for row in rows} == {
        datetime(2021, 10, 15)
    }

    as_csv = tmp_path / "chi.csv"
    assert runner.invoke(payments_cli, [*base, "--out", str(as_csv)]).exit_code == 0
    with as_csv.open(encoding="utf-8-sig", newline="") as fh:
        read = list(csv.reader(fh))
    assert len(read) == 3 and read[0][1] == "Họ và tên (full_name)"  # the header and the rows: no title, no total
    assert "0 người" in runner.invoke(payments_cli, [*base, "--date", "16/10/2021"]).output

    paid = runner.invoke(payments_cli, ["cash-paid", reference, "bl-9", "--by", caseworker.email])
    assert paid.exit_code == 0, paid.output
    assert "BL-9" in paid.output and "Paid in cash" in paid.output
    db_session.expire_all()
    assert db_session.get(Claim, other.id).state == "paid" and _payment(claim).state == "sent"

    unpaid = _payment(claim).provider_reference
    refused = runner.invoke(payments_cli, ["cash-withdraw", unpaid, "--reason", " "])
    assert refused.exit_code == 2 and "Give the reason" in refused.output
    withdrawn = runner.invoke(
        payments_cli, ["cash-withdraw", unpaid, "--reason", "Xin chuyển khoản", "--by", caseworker.email]
    )
    assert withdrawn.exit_code == 0, withdrawn.output
    assert "off the cash list" in withdrawn.output
    db_session.expire_all()
    assert db_session.get(Claim, claim.id).state == "awaiting_payment_details"
    events = db_session.scalar(select(func.count()).select_from(ClaimEvent).where(ClaimEvent.claim_id == claim.id))
    again = runner.invoke(
        payments_cli, ["cash-withdraw", unpaid, "--reason", "Xin  chuyển khoản ", "--by", caseworker.email]
    )
    assert again.exit_code == 0 and "already taken off the cash list for this reason" in again.output, again.output
    other_reason = runner.invoke(payments_cli, ["cash-withdraw", unpaid, "--reason", "Khác", "--by", caseworker.email])
    assert other_reason.exit_code == 2 and "cannot be paid" in other_reason.output, other_reason.output
    count = select(func.count()).select_from(ClaimEvent).where(ClaimEvent.claim_id == claim.id)
    assert db_session.scalar(count) == events  # the same command again records nothing
    assert runner.invoke(payments_cli, ["offer-cash", str(claim.id), "--by", caseworker.email]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "vi", "en"),
    [
        (["cash-list", "--district", "017", "--date", "15-10-2021"], "không phải là ngày", "is not a date"),
        (["cash-list", "--district", "017", "--date", "31/02/2021"], "không có trong lịch", "not in the calendar"),
        (["cash-list", "--district", "017", "--date", "10/31/2021"], "ghi tháng trước ngày", "puts the month first"),
        (["cash-list", "--district", "999"], "Không có quận/huyện", "no district"),
        (["cash-list", "--district", "017", "--out", "list.pdf"], ".xlsx hoặc .csv", "must be .xlsx or .csv"),
        (["cash-list", "--district", "017", "--program", "NOPE"], "Không có chương trình", "no program"),
        (["cash-paid", "NO-SUCH-REF", "BL-1"], "Không có khoản chi trả", "no payment"),
        (["cash-paid", "NO-SUCH-REF", "   "], "Chưa nhập số biên lai", "blank"),
        (["cash-paid", "NO-SUCH-REF", "BL-1", "--by", "nobody@example.vn"], "Không có người dùng", "no user"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_traceback(app, db_session, tmp_path, args, vi, en):
    result = app.test_cli_runner().invoke(payments_cli, [a.replace("list.pdf", str(tmp_path / "l.pdf")) for a in args])
    assert result.exit_code == 2, result.output
    assert vi in result.output and en in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, CashRefused)
    assert not (tmp_path / "l.pdf").exists()


def test_cash_paid_twice_names_the_receipt(app, db_session):
    """Run again with the receipt it recorded (as typed differently), the command says so and exits 0, changing
    nothing; another receipt for the paid payment is refused, naming the one it was paid against."""
    program = create_program()
    claim = _cash_claim(program, "Đinh Thị Mai")
    _issue(program)
    reference = _payment(claim).provider_reference
    runner = app.test_cli_runner()
    assert runner.invoke(payments_cli, ["cash-paid", reference, "BL-5"]).exit_code == 0
    recorded = _snapshot()
    same = runner.invoke(payments_cli, ["cash-paid", reference, " bl-5 "])
    assert same.exit_code == 0, same.output
    assert f"Khoản chi trả {reference} đã được ghi nhận chi trả theo biên lai số BL-5" in same.output
    assert f"Payment {reference} is already recorded as paid against receipt number BL-5" in same.output
    db_session.expire_all()
    assert _snapshot() == recorded
    again = runner.invoke(payments_cli, ["cash-paid", reference, "BL-6"])
    assert again.exit_code == 2 and "BL-5" in again.output
    assert db_session.get(Payment, _payment(claim).id).receipt_number == "BL-5"


def test_offer_cash_by_command_early_with_a_reason_or_refused_with_one(app, db_session):
    program = create_program(max_payment_failures=3)
    claim = create_claim("approved", program=program)
    caseworker = create_user("caseworker", district=claim.district_code)
    _fail_a_bank_payment(program, claim)
    db_session.commit()  # a refused command rolls its session back: keep what the test made (undone after the test)
    runner = app.test_cli_runner()

    too_soon = runner.invoke(payments_cli, ["offer-cash", str(claim.id), "--by", caseworker.email])
    assert too_soon.exit_code == 2 and "Traceback" not in too_soon.output
    for blank in ("", "   "):  # "early" without a reason is no reason: the limit holds, as on the page
        no_reason = runner.invoke(
            payments_cli, ["offer-cash", str(claim.id), "--by", caseworker.email, "--early", blank]
        )
        assert no_reason.exit_code == 2, no_reason.output
        db_session.expire_all()
        assert db_session.get(Claim, claim.id).payout == "bank"
    early = runner.invoke(
        payments_cli, ["offer-cash", str(claim.id), "--by", caseworker.email, "--early", "Không có tài khoản"]
    )
    assert early.exit_code == 0, early.output
    assert "paid in cash at the office" in early.output
    db_session.expire_all()
    assert db_session.get(Claim, claim.id).payout == "cash"
    events = select(func.count()).select_from(ClaimEvent).where(ClaimEvent.claim_id == claim.id)
    before = db_session.scalar(events)
    again = runner.invoke(  # run twice: done already, as the page's second click (it was refused, exit 2)
        payments_cli, ["offer-cash", str(claim.id), "--by", caseworker.email, "--early", "Không có tài khoản"]
    )
    assert again.exit_code == 0 and "was already to be paid in cash at the office" in again.output
    db_session.expire_all()
    assert db_session.scalar(events) == before


def test_the_list_names_its_programme_and_another_programmes_open_cash_at_the_office(app, db_session):
    """An operator whose shell names another programme (the demo's DEMO116 beside NQ116) is not shown an empty list
    as if the office had nobody to pay: the command names the programme it read and the others with open cash."""
    listed, other = create_program(), create_program()
    _cash_claim(other, "Trần Thị Ánh")
    _cash_claim(other, "Lê Văn Bình")
    _issue(other, EARLY_ON_THE_15TH)

    shown = app.test_cli_runner().invoke(payments_cli, ["cash-list", "--district", DONG_ANH, "--program", listed.code])

    assert shown.exit_code == 0, shown.output
    assert f"Chương trình {listed.code}: chi tiền mặt tại" in shown.output and "0 người" in shown.output
    assert f"Programme {listed.code}: cash at the office of" in shown.output
    assert f"chưa chi tại văn phòng này: {other.code} (2); dùng --program" in shown.output
    assert f"still open at this office: {other.code} (2); use --program" in shown.output
    # The other programme's own list says nothing of the first, which has no open cash there.
    own = app.test_cli_runner().invoke(payments_cli, ["cash-list", "--district", DONG_ANH, "--program", other.code])
    assert "2 người" in own.output and "Lưu ý: chương trình khác" not in own.output
