"""Batches handed to the sandbox bank over real HTTP, and the chase of what it has not answered: never twice (our
payments and the bank's own ledger), never lost (a bank that is down, a callback that never came)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from disburse.claims.models import Claim
from disburse.payments import sending
from disburse.payments.models import Payment, PaymentBatch
from disburse.payments.providers import RetryableError
from tests.payments.helpers import approved_batch, bank_moves, deliver_callbacks
from tests.sandbox_bank import Bank

pytestmark = pytest.mark.usefixtures("db_session")


def _states(db_session, batch: PaymentBatch) -> tuple[set[str], set[str]]:
    db_session.expire_all()
    rows = db_session.execute(
        select(Payment.state, Claim.state).join(Claim, Claim.id == Payment.claim_id).where(Payment.batch_id == batch.id)
    ).all()
    return {p for p, _ in rows}, {c for _, c in rows}


def test_a_batch_goes_to_the_bank_and_comes_back_paid(client, db_session, bank, receiver, use_bank):
    use_bank(bank)
    batch = approved_batch(3)

    sent = sending.send_batch(batch.id)

    assert sent.accepted and sent.orders == 3
    db_session.refresh(batch)
    assert (batch.state, batch.send_attempts, batch.correlation_id is not None) == ("sent", 1, True)
    assert _states(db_session, batch) == ({"sent"}, {"payment_pending"})
    deliver_callbacks(client, receiver, bank)
    assert _states(db_session, batch) == ({"paid"}, {"paid"})
    assert set(bank_moves(bank).values()) == {1} and len(bank_moves(bank)) == 3


def test_a_send_repeated_asks_first_and_sends_nothing_the_bank_has(db_session, bank, use_bank):
    use_bank(bank)
    batch = approved_batch(4)
    sending.send_batch(batch.id)

    again = sending.send_batch(batch.id)  # the task delivered again after a worker died mid-call

    assert again.orders == 0
    assert bank.sql("SELECT count(*) FROM sandbox.batches")[0][0] == 1
    db_session.refresh(batch)
    assert batch.send_attempts == 1


def test_a_bank_that_is_down_is_chased_later_under_the_same_references(
    client, db_session, make_bank: Callable[..., Bank], receiver, use_bank
):
    batch = approved_batch(3)
    use_bank("http://127.0.0.1:9")  # nothing listens there

    with pytest.raises(RetryableError):
        sending.send_batch(batch.id)
    db_session.refresh(batch)
    assert batch.state == "sent" and batch.last_error  # may be at the bank: never sent again blindly
    references = sorted(db_session.scalars(select(Payment.provider_reference).where(Payment.batch_id == batch.id)))

    bank = make_bank()
    use_bank(bank)
    chased = sending.chase("sandbox", older_than=timedelta(0))
    assert (chased.asked, chased.resent) == (3, 3)
    assert sorted(bank_moves(bank)) == []  # taken, not settled yet
    deliver_callbacks(client, receiver, bank)
    assert _states(db_session, batch) == ({"paid"}, {"paid"})
    assert sorted(bank_moves(bank)) == references
    # Chased again: the bank has them all, nothing is sent.
    assert sending.chase("sandbox", older_than=timedelta(0)).resent == 0


def test_a_callback_that_never_comes_is_made_up_for_by_the_chase(db_session, bank, use_bank):
    use_bank(bank)
    batch = approved_batch(2)
    sending.send_batch(batch.id)
    bank.sandbox.settle_due()  # settled at the bank; its callbacks are never delivered

    chased = sending.chase("sandbox", older_than=timedelta(0))

    assert (chased.asked, chased.resent, chased.applied["settled"]) == (2, 0, 2)
    assert _states(db_session, batch) == ({"paid"}, {"paid"})


def test_a_batch_the_bank_refuses_whole_fails_nobody_and_is_sent_again_after_its_wait_once_fixed(
    client, db_session, bank, receiver, use_bank
):
    """The bank refuses the message whole (our callback URL is not one it can call: our mistake, nobody's details):
    nobody fails, every order is held back (tests/payments/test_sending_withheld.py follows the wait), and after it
    the batch goes out under the same references and is paid."""
    use_bank(bank, callback_url="ftp://nowhere")
    batch = approved_batch(2)

    sent = sending.send_batch(batch.id)

    assert not sent.accepted and "NACK" in (sent.error or "") and len(sent.withheld) == 2
    db_session.refresh(batch)
    assert batch.last_error and "NACK" in batch.last_error
    assert _states(db_session, batch) == ({"sent"}, {"payment_pending"})  # nobody's failure
    assert not set(
        db_session.scalars(select(Claim.payment_failures).join(Payment).where(Payment.batch_id == batch.id))
    ) - {0}

    use_bank(bank)  # fixed: the callback URL is ours again
    assert sending.chase("sandbox", older_than=timedelta(0)).resent == 0  # not before the wait
    db_session.execute(
        update(Payment).where(Payment.batch_id == batch.id).values(withheld_until=func.now() - timedelta(seconds=1))
    )
    chased = sending.chase("sandbox", older_than=timedelta(0))
    assert chased.resent == 2
    db_session.refresh(batch)
    assert batch.last_error is None
    deliver_callbacks(client, receiver, bank)
    assert _states(db_session, batch) == ({"paid"}, {"paid"})
    assert set(bank_moves(bank).values()) == {1}
