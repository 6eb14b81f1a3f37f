"""The payments tests' shared steps, once: a bank batch of approved claims, the sandbox bank's callbacks handed to our
endpoint and applied, how often the bank moved each reference, and a claim's wait after a bank-side failure let
pass. Each was copied into several test modules, and the copies had begun to differ."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from disburse.claims.states import ClaimState
from disburse.payments import events
from disburse.payments import service as payments
from disburse.payments.models import PaymentBatch
from disburse.programs.models import Program
from tests.factories import create_claim, create_program
from tests.sandbox_bank import PAYER, Bank, Receiver


def bank_batch(program: Program, provider: str = "sandbox") -> PaymentBatch:
    """The bank batch of ``program``'s approved claims for ``provider``; the test made claims for one."""
    batch = payments.create_batch(program, "bank", provider)
    assert batch is not None
    return batch


def approved_batch(
    count: int = 3, *, program: Program | None = None, provider: str = "sandbox", **claim_values: Any
) -> PaymentBatch:
    """A bank batch of ``count`` new approved claims (with ``claim_values``) of ``program``, a new one if none."""
    program = program or create_program()
    for _ in range(count):
        create_claim(ClaimState.APPROVED, program=program, **claim_values)
    return bank_batch(program, provider)


def deliver_callbacks(client: FlaskClient, receiver: Receiver, bank: Bank, already: int = 0) -> int:
    """Let the bank settle and call back; hand each callback after the first ``already`` to our endpoint; apply them.
    Returns how many the receiver has had, the ``already`` of the next delivery."""
    bank.tick()
    received = receiver.received[already:]
    for callback in received:
        response = client.post("/api/v1/providers/sandbox/events", data=callback.body, headers=callback.headers)
        assert response.status_code == 200
    events.apply_stored()
    return already + len(received)


def bank_moves(bank: Bank) -> dict[str, int]:
    """How many times the bank moved each reference (settlement debits of the fund's account)."""
    rows = bank.sql(
        "SELECT reference_id, count(*) FROM sandbox.ledger WHERE kind = 'settlement' AND account = :payer"
        " GROUP BY reference_id",
        payer=PAYER,
    )
    return {reference: n for reference, n in rows}


def bank_wait_over(db_session: Session, claim_id: int) -> None:
    """The claim's wait after a failure on the bank's side over: the test's transaction keeps one now(), so the time
    moves, not the clock."""
    db_session.execute(
        text("UPDATE claims SET retry_after = now() - interval '1 second' WHERE id = :id"), {"id": claim_id}
    )
