"""What providers say, applied (disburse.payments.status): once, in any order, with the claim's way on after a
failure or a return. Real PostgreSQL; the news is built as a provider would send it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.states import ClaimState
from disburse.payments.models import Payment, Recovery
from disburse.payments.providers import ProviderStatus, StatusUpdate
from disburse.payments.states import PaymentState
from disburse.payments.status import apply_updates
from tests.factories import create_claim, create_payment, create_program

PAID, REJECTED, RETURNED = ProviderStatus.PAID, ProviderStatus.REJECTED, ProviderStatus.RETURNED


def _news(payment: Payment, status: ProviderStatus, code: str | None = None, **extra) -> StatusUpdate:
    return StatusUpdate(payment.provider_reference, status, reason_code=code, **extra)


def _states(db_session, payment: Payment) -> tuple[str, str]:
    db_session.expire_all()
    claim = db_session.get(Claim, payment.claim_id)
    return db_session.get(Payment, payment.id).state, claim.state


def test_settled_news_pays_payment_and_claim_once_however_often_it_comes(db_session):
    payment = create_payment(state=PaymentState.SENT)
    news = [_news(payment, ProviderStatus.RECEIVED), _news(payment, PAID), _news(payment, PAID)]

    first = apply_updates("sandbox", news, source="callback")
    again = apply_updates("sandbox", news * 3, source="callback")

    assert (first.settled, again.settled, again.ignored) == (1, 0, 1)
    assert _states(db_session, payment) == ("paid", "paid")
    events = db_session.scalars(select(ClaimEvent.action).where(ClaimEvent.claim_id == payment.claim_id)).all()
    assert events.count("payment_succeeded") == 1


@pytest.mark.parametrize("late", [ProviderStatus.RECEIVED, ProviderStatus.PENDING, ProviderStatus.UNKNOWN])
def test_late_news_never_undoes_a_settlement(db_session, late):
    payment = create_payment(state=PaymentState.SENT)
    apply_updates("sandbox", [_news(payment, PAID)], source="callback")
    result = apply_updates("sandbox", [_news(payment, late)], source="poll")
    assert result.ignored == 1
    assert _states(db_session, payment) == ("paid", "paid")


def test_news_in_one_delivery_is_taken_furthest_first_whatever_its_order(db_session):
    payment = create_payment(state=PaymentState.SENT)
    apply_updates("sandbox", [_news(payment, PAID), _news(payment, ProviderStatus.PENDING)], source="callback")
    assert _states(db_session, payment) == ("paid", "paid")


def test_a_failure_of_the_details_asks_the_employer_for_track_a_and_the_person_for_track_b(db_session):
    a = create_payment(state=PaymentState.SENT)
    b = create_payment(create_claim(ClaimState.PAYMENT_PENDING, track="B"), state=PaymentState.SENT)

    result = apply_updates(
        "sandbox", [_news(a, REJECTED, "rjct.payee_fa.closed"), _news(b, REJECTED, "AC01")], source="callback"
    )

    assert (result.failed, result.awaiting_details, result.retried) == (2, 2, 0)
    for payment, ask in ((a, "employer"), (b, "person")):
        assert _states(db_session, payment) == ("failed", "awaiting_payment_details")
        request = db_session.scalars(
            select(ClaimEvent).where(ClaimEvent.claim_id == payment.claim_id, ClaimEvent.action == "request_details")
        ).one()
        assert request.data["ask"] == ask and request.data["offer_cash"] is False
        failed = db_session.scalars(
            select(ClaimEvent).where(ClaimEvent.claim_id == payment.claim_id, ClaimEvent.action == "payment_failed")
        ).one()
        assert failed.reason in ("Tài khoản người nhận đã đóng", "Số tài khoản không đúng")  # plain words
    assert db_session.get(Payment, a.id).failure_code == "rjct.payee_fa.closed"


def test_a_failure_that_was_the_banks_is_paid_again_as_it_is_in_a_new_attempt(db_session):
    from disburse.payments import service

    program = create_program()
    claim = create_claim(ClaimState.PAYMENT_PENDING, program=program)
    payment = create_payment(claim, state=PaymentState.SENT)

    result = apply_updates("sandbox", [_news(payment, REJECTED, "rjct.bank.timeout")], source="callback")
    assert (result.failed, result.retried) == (1, 1)
    assert _states(db_session, payment) == ("failed", "approved")

    batch = service.create_batch(program, "bank", "sandbox")
    assert batch is not None and batch.item_count == 1
    attempts = db_session.scalars(select(Payment.attempt).where(Payment.claim_id == claim.id).order_by(Payment.id))
    assert list(attempts) == [1, 2]


def test_after_the_programs_limit_of_failures_cash_is_offered(db_session):
    program = create_program(max_payment_failures=2)
    claim = create_claim(ClaimState.PAYMENT_PENDING, program=program, payment_failures=1)
    payment = create_payment(claim, state=PaymentState.SENT)

    result = apply_updates("sandbox", [_news(payment, REJECTED, "rjct.bank.timeout")], source="callback")

    assert (result.retried, result.offered_cash) == (0, 1)
    assert _states(db_session, payment) == ("failed", "awaiting_payment_details")
    db_session.refresh(claim)
    assert claim.payment_failures == 2


def test_a_return_after_settlement_opens_a_recovery_and_the_claim_is_unpaid_again(db_session):
    payment = create_payment(state=PaymentState.SENT)
    apply_updates("sandbox", [_news(payment, PAID)], source="callback")

    result = apply_updates("sandbox", [_news(payment, RETURNED, "rjct.returned")] * 2, source="callback")

    assert (result.returned, result.recoveries) == (1, 1)
    assert _states(db_session, payment) == ("returned", "awaiting_payment_details")
    recovery = db_session.scalars(select(Recovery).where(Recovery.payment_id == payment.id)).one()
    assert (recovery.state, recovery.amount_vnd, recovery.recovered_vnd) == ("owed", payment.amount_vnd, 0)
    assert apply_updates("sandbox", [_news(payment, RETURNED, "rjct.returned")], source="poll").recoveries == 0


def test_a_return_we_hear_of_before_the_settlement_records_both(db_session):
    payment = create_payment(state=PaymentState.SENT)

    apply_updates("sandbox", [_news(payment, RETURNED, "rjct.returned")], source="callback")

    db_session.expire_all()
    settled = db_session.get(Payment, payment.id)
    assert settled.state == "returned" and settled.settled_at is not None
    actions = db_session.scalars(
        select(ClaimEvent.action).where(ClaimEvent.claim_id == payment.claim_id).order_by(ClaimEvent.id)
    ).all()
    assert actions[-3:] == ["payment_succeeded", "payment_returned", "request_details"]
    assert db_session.scalars(select(Recovery).where(Recovery.payment_id == payment.id)).one().state == "owed"


def test_news_for_another_amount_or_an_unknown_reference_changes_nothing(db_session):
    payment = create_payment(state=PaymentState.SENT)

    result = apply_updates(
        "sandbox",
        [_news(payment, PAID, amount_vnd=payment.amount_vnd + 1), StatusUpdate("NO-SUCH-REF", PAID)],
        source="callback",
    )

    assert (result.mismatched, result.unknown, result.settled) == ([payment.provider_reference], ["NO-SUCH-REF"], 0)
    assert _states(db_session, payment) == ("sent", "payment_pending")


def test_news_from_another_provider_about_our_reference_changes_nothing(db_session):
    payment = create_payment(state=PaymentState.SENT)
    result = apply_updates("bankfile", [_news(payment, PAID)], source="file")
    assert result.unknown == [payment.provider_reference]
    assert _states(db_session, payment) == ("sent", "payment_pending")


def test_settlements_skip_only_the_events_foreign_key_checks_and_leave_the_role_as_it_was(db_session):
    """The system's moves run under session_replication_role = replica (the events' rows are locked and updated by
    the same statement); the rollups and append-only guards are ENABLE ALWAYS, and the role is back afterwards."""
    from sqlalchemy import text

    from disburse.payments.models import PaymentEvent

    payments = [create_payment(state=PaymentState.SENT) for _ in range(3)]
    result = apply_updates("sandbox", [_news(p, PAID) for p in payments], source="callback")
    assert result.settled == 3
    assert db_session.execute(text("SHOW session_replication_role")).scalar() == "origin"
    for payment in payments:
        assert _states(db_session, payment) == ("paid", "paid")
        moves = db_session.scalars(select(PaymentEvent.to_state).where(PaymentEvent.payment_id == payment.id)).all()
        assert moves.count("paid") == 1
    orphans = db_session.execute(
        text(
            "SELECT (SELECT count(*) FROM payment_events e LEFT JOIN payments p ON p.id = e.payment_id "
            "WHERE p.id IS NULL) + (SELECT count(*) FROM claim_events e LEFT JOIN claims c ON c.id = e.claim_id "
            "WHERE c.id IS NULL)"
        )
    ).scalar()
    assert orphans == 0
    rollups = db_session.execute(
        text(
            "SELECT count(*) FROM (SELECT program_id, district_code, employer_id, state, count(*) AS n FROM claims "
            "GROUP BY 1, 2, 3, 4 EXCEPT SELECT program_id, district_code, employer_id, state, claims "
            "FROM claim_counters WHERE claims <> 0) d"
        )
    ).scalar()
    assert rollups == 0
