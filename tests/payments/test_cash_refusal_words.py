"""A receipt the cash service refuses says why in the cashier's terms: after the last payable day, that no cash is
handed over after that day (not the batching's "no new payment can be made"), also once the close-out has taken the
payment off the list; and when a colleague has just taken the payment off the cash list (a receipt and a withdrawal
at once: the receipt waits for the withdrawal's lock, then finds the payment failed), that it was taken off, why, and
what to do, not that the payment "failed"."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from disburse.extensions import db
from disburse.payments.cash import CashRefused, record_cash_payment, withdraw_cash_payment
from disburse.payments.models import Payment
from disburse.verification import sweepers
from tests.factories import create_cash_payment, create_program, create_user

LAST = date(2022, 9, 10)
AFTER = LAST + timedelta(days=1)


@pytest.fixture
def program(db_session):
    return create_program(payment_deadline=date(2021, 12, 31), extension_until=LAST)


@pytest.fixture
def clock(app, monkeypatch):
    def set_today(day: date) -> None:
        monkeypatch.setitem(app.config, "DISBURSE_TODAY", day.isoformat())

    return set_today


def _refused(reference: str) -> CashRefused:
    with pytest.raises(CashRefused) as refused:
        record_cash_payment(reference, "BL-0001")
    return refused.value


def test_a_receipt_after_the_last_payable_day_says_no_cash_is_handed_over_after_it(program, clock):
    payment = create_cash_payment(program=program)
    clock(AFTER)
    refused = _refused(payment.provider_reference)
    assert refused.code == "payment_period_ended"
    assert "đã hết hạn chi trả ngày 10/09/2022: không chi tiền mặt sau ngày này" in refused.message_vi
    assert "stopped paying on 10/09/2022: no cash is handed over after that day" in refused.message_en
    assert "không lập thêm khoản chi trả" not in refused.message_vi and "no new payment" not in refused.message_en

    sweepers.close_out(program, AFTER)  # the payment is taken off the list: the same words, not "failed"
    assert db.session.get(Payment, payment.id).state == "failed"
    after_close = _refused(payment.provider_reference)
    assert (after_close.code, after_close.message_vi) == ("payment_period_ended", refused.message_vi)


def test_a_receipt_for_a_payment_a_colleague_just_took_off_the_list_says_so(program, clock):
    clock(LAST)
    payment = create_cash_payment(program=program, district_code="017")
    colleague = create_user("caseworker", district="017")
    withdraw_cash_payment(payment.provider_reference, colleague, "Người lao động đã mở tài khoản")
    refused = _refused(payment.provider_reference)
    assert refused.code == "not_payable"  # the casework service still tells a repeated withdrawal by it
    assert "đã được cán bộ rút khỏi danh sách chi tiền mặt (lý do: Người lao động đã mở tài khoản)" in (
        refused.message_vi
    )
    assert "Thất bại" not in refused.message_vi and "đừng chi" in refused.message_vi
    assert "taken off the cash list by a caseworker" in refused.message_en and "failed" not in refused.message_en
