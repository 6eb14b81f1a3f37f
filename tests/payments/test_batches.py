"""Approved claims become queued payments in batches with control totals, once: never two live payments."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from disburse.claims import service as claims
from disburse.claims.models import Claim
from disburse.payments import service
from disburse.payments.models import Payment, PaymentEvent
from disburse.payments.states import PaymentAction
from tests.factories import create_claim, create_duplicate_group, create_user, nq116


def test_approved_claims_become_a_batch_with_its_totals(db_session):
    bank = [create_claim("approved", amount_vnd=amount) for amount in (1_800_000, 2_100_000, 3_300_000)]
    cash = create_claim("approved", payout="cash", bank_code=None, bank_account=None)
    waiting = create_claim("needs_review")

    batch = service.create_batch(nq116(), "bank", "sandbox")

    assert batch is not None and (batch.item_count, batch.total_vnd) == (3, 7_200_000)
    payments = db_session.scalars(select(Payment).where(Payment.batch_id == batch.id).order_by(Payment.claim_id)).all()
    assert [p.claim_id for p in payments] == sorted(c.id for c in bank)
    assert {(p.state, p.attempt, p.provider) for p in payments} == {("queued", 1, "sandbox")}
    assert all(p.provider_reference == f"NQ116-{p.claim_id}-1" for p in payments)
    assert all(len(p.provider_reference) <= 35 for p in payments)
    assert {db_session.get(Claim, c.id).state for c in bank} == {"payment_pending"}
    assert (
        db_session.get(Claim, cash.id).state == "approved" and db_session.get(Claim, waiting.id).state == "needs_review"
    )
    events = db_session.scalar(
        select(func.count()).select_from(PaymentEvent).where(PaymentEvent.payment_id.in_([p.id for p in payments]))
    )
    assert events == 3
    orders = service.batch_orders(batch.id)
    assert [o.amount_vnd for o in orders] == [p.amount_vnd for p in payments]
    assert service.create_batch(nq116(), "bank", "sandbox") is None  # nothing left: no empty batch
    # Runs that find nothing (the beat's, every few seconds) take no number: the next batch's reference follows on.
    for _ in range(3):
        assert service.create_batch(nq116(), "bank", "sandbox") is None
    create_claim("approved")
    following = service.create_batch(nq116(), "bank", "sandbox")
    assert following is not None and following.id == batch.id + 1, (batch.reference, following)


def test_a_failed_payment_is_paid_again_as_the_next_attempt_never_twice_at_once(db_session):
    claim = create_claim("approved")
    first = service.create_batch(nq116(), "bank", "sandbox")
    (payment,) = db_session.scalars(select(Payment).where(Payment.batch_id == first.id)).all()
    service.transition(payment, PaymentAction.SEND)
    service.transition(payment, PaymentAction.FAIL, reason="rjct.payee_fa.closed")
    for action in ("payment_failed", "request_details", "details_received"):
        claims.transition(claim.id, action)
    second = service.create_batch(nq116(), "bank", "sandbox")
    (again,) = db_session.scalars(select(Payment).where(Payment.batch_id == second.id)).all()
    assert (again.attempt, again.provider_reference) == (2, f"NQ116-{claim.id}-2")

    # The database itself refuses a second live payment for the claim, whatever code tries.
    with pytest.raises(IntegrityError, match="uq_payments_one_live_per_claim"), db_session.begin_nested():
        db_session.execute(
            text(
                "INSERT INTO payments (claim_id, attempt, amount_vnd, provider, provider_reference, state) "
                "VALUES (:c, 3, 1, 'sandbox', 'X-twice', 'queued')"
            ),
            {"c": claim.id},
        )


def test_one_person_under_two_si_codes_is_paid_once_unless_a_caseworker_said_both_may_be(db_session):
    """Approval asks for a duplicate group to be decided first; the batch has its own guard, whatever approved the
    claims: the later claim of a national ID waits while an earlier one is approved, on its way or paid."""
    from disburse.verification import review

    first, second = create_duplicate_group("needs_review")
    for claim in (first, second):  # approved around the review (as a bug or a direct SQL write would)
        claims.transition(claim, "approve")

    batch = service.create_batch(nq116(), "bank", "sandbox")
    assert batch is not None and batch.item_count == 1
    assert {c.id: db_session.get(Claim, c.id).state for c in (first, second)} == {
        first.id: "payment_pending",
        second.id: "approved",
    }
    (payment,) = db_session.scalars(select(Payment).where(Payment.batch_id == batch.id)).all()
    service.transition(payment, PaymentAction.SEND)
    service.transition(payment, PaymentAction.SETTLE)
    claims.transition(first, "payment_succeeded")
    assert service.create_batch(nq116(), "bank", "sandbox") is None  # paid once: the second waits

    lan = create_user("caseworker")
    review.resolve_duplicate(second.id, lan, second.id, override=True, note="Hai người khác nhau, trùng số CCCD.")
    again = service.create_batch(nq116(), "bank", "sandbox")
    assert again is not None and again.item_count == 1
    assert db_session.get(Claim, second.id).state == "payment_pending"


def test_the_batch_guard_lets_an_unrelated_person_and_a_refused_twin_through(db_session):
    alone = create_claim("approved")
    kept, refused = create_duplicate_group("needs_review")
    claims.transition(refused, "reject", reason="Trùng.")
    claims.transition(kept, "approve")
    batch = service.create_batch(nq116(), "bank", "sandbox")
    assert batch is not None
    batched = set(db_session.scalars(select(Payment.claim_id).where(Payment.batch_id == batch.id)))
    assert batched == {alone.id, kept.id}
