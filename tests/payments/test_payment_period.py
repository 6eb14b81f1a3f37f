"""After the programme's last payable day (the extension's end, else the payment deadline) no money leaves for it: no
batch is made, by the service, beat's batching task or the command, and no cash is handed over against a receipt.
Each refusal says why in both languages and changes nothing; the last day itself still pays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from disburse.payments import service as payments
from disburse.payments.cash import CashRefused, record_cash_payment
from disburse.payments.cli import EXIT_UNUSABLE
from disburse.payments.models import Payment, PaymentBatch, PaymentEvent
from tests.factories import create_cash_payment, create_claim, create_program
from workers import payments as payment_tasks

DEADLINE = date(2021, 12, 31)
LAST = date(2022, 9, 10)  # Resolution 24/2022's extension of NQ116


@pytest.fixture
def program(db_session):
    return create_program(payment_deadline=DEADLINE, extension_until=LAST)


@pytest.fixture
def clock(app, monkeypatch):
    def set_today(day: date) -> None:
        monkeypatch.setitem(app.config, "DISBURSE_TODAY", day.isoformat())

    return set_today


def _written() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(table))
        for table in (PaymentBatch, Payment, PaymentEvent, ClaimEvent)
    )


def test_the_last_payable_day_is_the_extensions_end_else_the_deadline(db_session):
    assert create_program(payment_deadline=DEADLINE, extension_until=None).last_payable_day == DEADLINE
    assert create_program(payment_deadline=DEADLINE, extension_until=LAST).last_payable_day == LAST


def test_no_batch_after_the_last_payable_day(program):
    claim = create_claim("approved", program=program)
    before = _written()
    with pytest.raises(payments.PaymentPeriodEnded) as refused:
        payments.create_batch(program, "bank", "sandbox", today=LAST + timedelta(days=1))
    assert "10/09/2022" in refused.value.vi and "hết hạn chi trả" in refused.value.vi
    assert "10/09/2022" in refused.value.en and "stopped paying" in refused.value.en
    assert _written() == before and db.session.get(Claim, claim.id).state == "approved"

    made = payments.create_batch(program, "bank", "sandbox", today=LAST)
    assert made is not None and made.item_count == 1


def test_beats_batching_leaves_an_ended_programme_alone(program, clock):
    claim = create_claim("approved", program=program)
    clock(LAST + timedelta(days=1))
    before = _written()
    assert payment_tasks.batch.run() == 0
    assert _written() == before and db.session.get(Claim, claim.id).state == "approved"

    clock(LAST)
    assert payment_tasks.batch.run() >= 1
    assert db.session.get(Claim, claim.id).state == "payment_pending"


def test_the_command_says_why_in_both_languages(app, program, clock):
    create_claim("approved", program=program)
    clock(LAST + timedelta(days=1))
    before = _written()
    result = app.test_cli_runner().invoke(args=["payments", "batch", "--program", program.code])
    assert result.exit_code == EXIT_UNUSABLE
    vi, en = result.output.strip().splitlines()
    assert "đã hết hạn chi trả ngày 10/09/2022" in vi and "stopped paying on 10/09/2022" in en
    assert _written() == before


def test_no_cash_handed_over_after_the_last_payable_day(program, clock):
    payment = create_cash_payment(program=program)
    clock(LAST + timedelta(days=1))
    before = _written()
    with pytest.raises(CashRefused) as refused:
        record_cash_payment(payment.provider_reference, "BL-0001")
    assert refused.value.code == "payment_period_ended"
    assert _written() == before
    assert (db.session.get(Payment, payment.id).state, db.session.get(Payment, payment.id).receipt_number) == (
        "sent",
        None,
    )

    clock(LAST)
    assert record_cash_payment(payment.provider_reference, "BL-0001").state == "paid"


def test_the_cash_list_says_when_the_programme_has_stopped_paying(app, program, clock):
    payment = create_cash_payment(program=program)
    district = db.session.get(Claim, payment.claim_id).district_code
    args = ["payments", "cash-list", "--district", district, "--program", program.code]
    clock(LAST)
    on_time = app.test_cli_runner().invoke(args=args)
    assert on_time.exit_code == 0 and payment.provider_reference in on_time.output
    assert "hết hạn chi trả" not in on_time.output and "stopped paying" not in on_time.output

    clock(LAST + timedelta(days=1))
    late = app.test_cli_runner().invoke(args=args)  # still listed: the office closes these payments from it
    assert late.exit_code == 0 and payment.provider_reference in late.output
    assert "Chương trình đã hết hạn chi trả ngày 10/09/2022" in late.output
    assert "The programme stopped paying on 10/09/2022" in late.output
