"""``disburse payments batches`` lists the orders their provider holds back under each batch, with how often: in
English a count of one in the singular ("held back 1 time"; it said "giữ lại / held back 1 lần / times", the two
languages' words side by side and the count between them). The sandbox bank over real HTTP holds back an order above
the fund's limit per transfer (as tests/payments/test_sending_withheld.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from disburse.claims.states import ClaimState
from disburse.payments import sending
from disburse.payments.models import Payment
from tests.factories import create_claim, create_program
from tests.payments.helpers import bank_batch
from tests.sandbox_bank import Bank

pytestmark = pytest.mark.usefixtures("db_session")

LIMIT = 3_000_000
BIG = 3_300_000


def _listed(app) -> list[str]:
    result = app.test_cli_runner().invoke(args=["payments", "batches"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_the_batches_say_how_often_an_order_was_held_back_one_time_in_the_singular(
    app, db_session, make_bank: Callable[..., Bank], receiver, use_bank, monkeypatch
):
    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_BANK_FAILURES_ALERT", 2)
    use_bank(make_bank(max_amount_vnd=LIMIT))
    program = create_program()
    claim = create_claim(ClaimState.APPROVED, program=program, amount_vnd=BIG)
    batch = bank_batch(program)
    assert len(sending.send_batch(batch.id).withheld) == 1
    reference = db_session.scalars(select(Payment.provider_reference).where(Payment.claim_id == claim.id)).one()

    line = next(line for line in _listed(app) if f" {reference}: " in line)
    assert line.strip().startswith(f"- {reference}: giữ lại 1 lần / held back 1 time, gửi lại sau / sent again after")
    assert "1 times" not in line and "ALERT" not in line

    # Its wait over, handed over again and held back again: twice, the alert's threshold.
    db_session.execute(
        text("UPDATE payments SET withheld_until = now() - interval '1 second' WHERE claim_id = :id"), {"id": claim.id}
    )
    assert sending.chase("sandbox", older_than=timedelta(0)).withheld == 1
    listed = _listed(app)
    line = next(line for line in listed if f" {reference}: " in line)
    assert line.strip().startswith(f"!! {reference}: giữ lại 2 lần / held back 2 times, gửi lại sau / sent again")
    assert "ALERT" in line
    assert any("1 order held back by the provider 2 times or more" in line for line in listed), listed
