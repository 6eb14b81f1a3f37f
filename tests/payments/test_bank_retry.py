"""A payment that failed on the bank's side (a timeout, the fund's account short of money, a cut-off): paid again as
it is, after a wait that doubles, never counted as the person's failure, and never out of sight of the payment SLA
sweep and the backlog figures. Real PostgreSQL; the sandbox bank over real HTTP where a provider is needed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from disburse.claims import service as claims
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.states import ClaimAction, ClaimState
from disburse.payments import sending
from disburse.payments import service as payments
from disburse.payments.models import Payment
from disburse.payments.providers import ProviderStatus, StatusUpdate
from disburse.payments.status import apply_updates
from disburse.reports.backlog import live
from disburse.reports.service import Area
from disburse.sandbox.bank import Sandbox
from disburse.verification import review, sweepers
from tests.factories import create_claim, create_payment, create_program, create_user
from tests.payments.helpers import bank_wait_over, deliver_callbacks
from tests.sandbox_bank import PAYER, SECRET

pytestmark = pytest.mark.usefixtures("db_session")


def _seed(first: str, second: str) -> int:
    """A seed with which the sandbox bank (half its transfers failing) times out on ``first`` and pays ``second``."""
    for seed in range(1, 10_000):
        bank = Sandbox(None, 0.0, 0.5, 0.0, [SECRET], seed=seed)  # type: ignore[arg-type]  # decisions only
        if bank.outcome(first)[1] == "rjct.bank.timeout" and bank.outcome(second)[0] == "succ":
            return seed
    raise AssertionError("no seed")


def test_a_bank_timeout_at_the_sandbox_bank_is_paid_after_the_wait_and_never_asks_for_new_details(
    client, db_session, make_bank, receiver, use_bank
):
    program = create_program()
    claim = create_claim(ClaimState.APPROVED, program=program)
    first, second = (f"{program.code[:12]}-{claim.id}-{attempt}" for attempt in (1, 2))
    bank = make_bank(failure_rate=0.5, seed=_seed(first, second))
    use_bank(bank)

    batch = payments.create_batch(program, "bank", "sandbox")
    assert batch is not None
    assert sending.send_batch(batch.id).accepted
    seen = deliver_callbacks(client, receiver, bank)

    db_session.expire_all()
    claim = db_session.get(Claim, claim.id)
    failed = db_session.scalars(select(Payment).where(Payment.provider_reference == first)).one()
    assert (failed.state, failed.failure_code) == ("failed", "rjct.bank.timeout")
    assert (claim.state, claim.payment_failures, claim.bank_failures) == ("approved", 0, 1)
    assert claim.retry_after is not None
    assert payments.create_batch(program, "bank", "sandbox") is None  # the next batching run leaves it

    bank_wait_over(db_session, claim.id)
    again = payments.create_batch(program, "bank", "sandbox")
    assert again is not None and again.item_count == 1
    assert sending.send_batch(again.id).accepted
    deliver_callbacks(client, receiver, bank, seen)

    db_session.expire_all()
    claim = db_session.get(Claim, claim.id)
    assert (claim.state, claim.payment_failures, claim.bank_failures, claim.retry_after) == ("paid", 0, 1, None)
    actions = db_session.scalars(select(ClaimEvent.action).where(ClaimEvent.claim_id == claim.id)).all()
    assert "request_details" not in actions and actions.count("retry_payment") == 1
    settled = bank.sql(
        "SELECT reference_id FROM sandbox.ledger WHERE kind = 'settlement' AND account = :payer", payer=PAYER
    )
    assert [row[0] for row in settled] == [second]


def test_a_claim_waiting_for_the_bank_is_seen_by_the_payment_sla_sweep_and_the_backlog(db_session):
    today = date(2021, 11, 15)
    program = create_program()
    claim = create_claim(ClaimState.PAYMENT_PENDING, program=program, payment_due_on=today - timedelta(days=1))
    payment = create_payment(claim, "sent")
    apply_updates("sandbox", [StatusUpdate(payment.provider_reference, ProviderStatus.REJECTED, "TM01")], source="poll")
    db_session.refresh(claim)
    assert claim.state == "approved" and claim.retry_after is not None
    detail = review.claim_detail(claim.id, create_user("caseworker", district=claim.district_code))
    assert (detail["payment_failures"], detail["bank_failures"]) == (0, 1)  # what the claim API answers too
    assert detail["retry_after"] == claim.retry_after.isoformat()

    noted, _ = sweepers.note_payment_sla(program, today)

    assert noted == 1
    breach = db_session.scalars(
        select(ClaimEvent).where(ClaimEvent.claim_id == claim.id, ClaimEvent.action == "sla_breach")
    ).one()
    assert breach.data["deadline"] == sweepers.DEADLINE_PAYMENT
    assert live(program.id, Area(), today)[("sla_breach", "approved", "")] == (1, claim.amount_vnd)


def test_the_wait_is_kept_only_while_the_claim_is_approved(db_session):
    claim = create_claim(ClaimState.PAYMENT_PENDING)
    payment = create_payment(claim, "sent")
    apply_updates("sandbox", [StatusUpdate(payment.provider_reference, ProviderStatus.REJECTED, "MS03")], source="poll")
    db_session.refresh(claim)
    waiting_until = claim.retry_after
    assert waiting_until is not None

    claims.transition(claim, ClaimAction.REJECT, reason="Không đủ điều kiện (thử nghiệm)")

    db_session.refresh(claim)
    assert (claim.state, claim.retry_after) == ("rejected", None)
    with pytest.raises(IntegrityError, match="ck_claims_retry_after_only_approved"), db_session.begin_nested():
        db_session.execute(
            text("UPDATE claims SET retry_after = :at WHERE id = :id"), {"at": waiting_until, "id": claim.id}
        )


def test_one_claims_wait_is_the_same_through_the_one_claim_path_and_the_bulk_path(db_session, app):
    base_s, cap_s = claims.retry_backoff()
    one, many = (create_claim(ClaimState.PAYMENT_PENDING, bank_failures=2) for _ in range(2))

    claims.transition(one, ClaimAction.PAYMENT_FAILED, reason="x", bank_side=True)
    claims.transition(one, ClaimAction.RETRY_PAYMENT)
    claims.transition_many(ClaimAction.PAYMENT_FAILED, ids=[many.id], reason="x", bank_side=True)
    claims.transition_many(ClaimAction.RETRY_PAYMENT, ids=[many.id])

    db_session.expire_all()
    one, many = db_session.get(Claim, one.id), db_session.get(Claim, many.id)
    assert (one.bank_failures, one.payment_failures) == (many.bank_failures, many.payment_failures) == (3, 0)
    assert claims.retry_wait(3, base_s, cap_s) == timedelta(seconds=min(cap_s, base_s * 4))
    now = db_session.execute(text("SELECT now()")).scalar_one()
    assert many.retry_after - now == claims.retry_wait(3, base_s, cap_s)
    assert abs((one.retry_after - now) - claims.retry_wait(3, base_s, cap_s)) < timedelta(minutes=1)
