"""What providers say, applied (disburse.payments.status): once, in any order, with the claim's way on after a
failure or a return. Real PostgreSQL; the news is built as a provider would send it."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from disburse.claims import service as claims
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.states import ClaimAction, ClaimState
from disburse.payments.models import Payment, Recovery
from disburse.payments.providers import ProviderStatus, StatusUpdate
from disburse.payments.states import PaymentState
from disburse.payments.status import apply_updates
from tests.factories import create_claim, create_payment, create_program
from tests.payments.helpers import bank_wait_over

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


def test_a_failure_that_was_the_banks_is_paid_again_as_it_is_after_a_wait_not_at_once(db_session, app):
    from disburse.payments import service

    program = create_program()
    claim = create_claim(ClaimState.PAYMENT_PENDING, program=program)
    payment = create_payment(claim, state=PaymentState.SENT)

    result = apply_updates("sandbox", [_news(payment, REJECTED, "rjct.bank.timeout")], source="callback")
    assert (result.failed, result.retried, result.awaiting_details) == (1, 1, 0)
    assert _states(db_session, payment) == ("failed", "approved")
    db_session.refresh(claim)
    assert (claim.payment_failures, claim.bank_failures) == (0, 1)
    now = db_session.execute(text("SELECT now()")).scalar_one()
    assert claim.retry_after == now + timedelta(seconds=app.config["DISBURSE_PAYMENT_RETRY_BASE_S"])
    retry = db_session.scalars(
        select(ClaimEvent).where(ClaimEvent.claim_id == claim.id, ClaimEvent.action == "retry_payment")
    ).one()
    assert retry.data["code"] == "rjct.bank.timeout"

    assert service.create_batch(program, "bank", "sandbox") is None  # not at the next batching run
    bank_wait_over(db_session, claim.id)
    batch = service.create_batch(program, "bank", "sandbox")
    assert batch is not None and batch.item_count == 1
    attempts = db_session.scalars(select(Payment.attempt).where(Payment.claim_id == claim.id).order_by(Payment.id))
    assert list(attempts) == [1, 2]
    db_session.refresh(claim)
    assert (claim.state, claim.retry_after) == ("payment_pending", None)  # the wait ends with the approved state


@pytest.mark.parametrize("code", ["AC13", "AM02"])
def test_the_funds_own_account_type_or_limit_is_the_banks_failure_not_the_persons(db_session, code):
    """AC13 (the debtor account's type: the fund's) and AM02 (an amount above the bank's limit) say nothing of the
    person's details: paid again as they are, never counted towards the offer of cash nor a request for details."""
    claim = create_claim(ClaimState.PAYMENT_PENDING, program=create_program())
    payment = create_payment(claim, state=PaymentState.SENT)
    result = apply_updates("sandbox", [_news(payment, REJECTED, code)], source="callback")
    assert (result.failed, result.retried, result.awaiting_details) == (1, 1, 0)
    db_session.refresh(claim)
    assert (claim.state, claim.payment_failures, claim.bank_failures) == ("approved", 0, 1)


def test_the_wait_doubles_with_each_bank_side_failure_up_to_the_cap(db_session, app, monkeypatch):
    from disburse.payments import service

    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_RETRY_BASE_S", 300)
    monkeypatch.setitem(app.config, "DISBURSE_PAYMENT_RETRY_CAP_S", 1000)
    program = create_program()
    claim = create_claim(ClaimState.PAYMENT_PENDING, program=program)
    payment = create_payment(claim, state=PaymentState.SENT)
    now = db_session.execute(text("SELECT now()")).scalar_one()
    waits = []
    for code in ("AM04", "TM01", "MS03", "rjct.bank.timeout"):
        apply_updates("sandbox", [_news(payment, REJECTED, code)], source="poll")
        db_session.refresh(claim)
        waits.append((claim.retry_after - now).total_seconds())
        bank_wait_over(db_session, claim.id)
        batch = service.create_batch(program, "bank", "sandbox")
        assert batch is not None
        payment = db_session.scalars(select(Payment).where(Payment.batch_id == batch.id)).one()

    assert waits == [300, 600, 1000, 1000]
    db_session.refresh(claim)
    assert (claim.bank_failures, claim.payment_failures, claim.state) == (4, 0, "payment_pending")


def test_failures_on_the_banks_side_never_lead_to_the_offer_of_cash(db_session):
    program = create_program(max_payment_failures=2)
    claim = create_claim(ClaimState.PAYMENT_PENDING, program=program, payment_failures=1, bank_failures=7)
    payment = create_payment(claim, state=PaymentState.SENT)

    result = apply_updates("sandbox", [_news(payment, REJECTED, "AM04")], source="callback")

    assert (result.retried, result.offered_cash, result.awaiting_details) == (1, 0, 0)
    assert _states(db_session, payment) == ("failed", "approved")
    db_session.refresh(claim)
    assert (claim.payment_failures, claim.bank_failures) == (1, 8)


def test_after_the_programs_limit_of_failures_of_the_details_cash_is_offered(db_session):
    program = create_program(max_payment_failures=2)
    claim = create_claim(ClaimState.PAYMENT_PENDING, program=program, payment_failures=1, bank_failures=3)
    payment = create_payment(claim, state=PaymentState.SENT)

    result = apply_updates("sandbox", [_news(payment, REJECTED, "rjct.payee_fa.closed")], source="callback")

    assert (result.retried, result.offered_cash) == (0, 1)
    assert _states(db_session, payment) == ("failed", "awaiting_payment_details")
    db_session.refresh(claim)
    assert (claim.payment_failures, claim.bank_failures, claim.retry_after) == (2, 3, None)


def test_many_failures_on_the_banks_side_are_logged_for_a_person_and_still_paid_again(db_session, app, caplog):
    alert_at = app.config["DISBURSE_PAYMENT_BANK_FAILURES_ALERT"]
    below = create_claim(ClaimState.PAYMENT_PENDING, bank_failures=alert_at - 2)
    at = create_claim(ClaimState.PAYMENT_PENDING, bank_failures=alert_at - 1)
    news = [_news(create_payment(claim, state=PaymentState.SENT), REJECTED, "AM04") for claim in (below, at)]

    with caplog.at_level(logging.ERROR, logger="disburse.payments.status"):
        result = apply_updates("sandbox", news, source="callback")

    assert (result.retried, result.bank_alerts) == (2, 1)
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1 and f"claim {at.id}: {alert_at} times" in errors[0]
    db_session.expire_all()
    assert {db_session.get(Claim, c.id).state for c in (below, at)} == {"approved"}


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


# ---------------------------------------------------------------------------------------- the provider's own time


def _event(db_session, payment: Payment, to_state: str):
    from disburse.payments.models import PaymentEvent

    return db_session.scalars(
        select(PaymentEvent).where(PaymentEvent.payment_id == payment.id, PaymentEvent.to_state == to_state)
    ).one()


def _now(db_session):
    from sqlalchemy import text

    return db_session.execute(text("SELECT now()")).scalar()


def test_a_settlement_is_dated_when_the_bank_booked_it_not_when_we_heard(db_session):
    from datetime import timedelta

    payment = create_payment(state=PaymentState.SENT)
    booked = _now(db_session) - timedelta(hours=9)

    assert apply_updates("sandbox", [_news(payment, PAID, at=booked)], source="file").settled == 1

    db_session.expire_all()
    assert db_session.get(Payment, payment.id).settled_at == booked
    event = _event(db_session, payment, "paid")
    assert event.data["source"] == "file" and "provider_at" not in event.data
    assert event.data["at"].startswith(booked.astimezone(event.created_at.tzinfo).isoformat()[:19])


def test_news_without_a_time_is_dated_now(db_session):
    payment = create_payment(state=PaymentState.SENT)
    apply_updates("sandbox", [_news(payment, PAID)], source="callback")
    db_session.expire_all()
    assert db_session.get(Payment, payment.id).settled_at == _now(db_session)
    assert _event(db_session, payment, "paid").data == {"source": "callback"}


def test_a_time_without_a_zone_is_vietnams(db_session):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    payment = create_payment(state=PaymentState.SENT)
    vietnam = _now(db_session).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")) - timedelta(hours=1)
    naive = datetime(vietnam.year, vietnam.month, vietnam.day, vietnam.hour, vietnam.minute)

    apply_updates("sandbox", [_news(payment, PAID, at=naive)], source="poll")

    db_session.expire_all()
    assert db_session.get(Payment, payment.id).settled_at == naive.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


@pytest.mark.parametrize(
    ("offset", "believed"),
    [
        ({"minutes": 2}, True),  # a bank clock a little ahead: believed, as its statement will say the same
        ({"hours": 7}, False),  # a local time sent as UTC, or a clock gone wrong
        ({"days": 400}, False),
        ({"days": -2}, False),  # before the payment existed (created now): not believed
        ({"hours": -20}, True),  # earlier on the day before (a booking day given as its midnight)
    ],
    ids=["skew", "hours-ahead", "next-year", "before-the-payment", "day-before"],
)
def test_a_time_we_cannot_believe_is_dated_now_and_kept_on_the_event(db_session, offset, believed):
    from datetime import timedelta

    payment = create_payment(state=PaymentState.SENT)
    now = _now(db_session)
    said = now + timedelta(**offset)

    apply_updates("sandbox", [_news(payment, PAID, at=said)], source="callback")

    db_session.expire_all()
    settled_at = db_session.get(Payment, payment.id).settled_at
    data = _event(db_session, payment, "paid").data
    if believed:
        assert settled_at == said and "provider_at" not in data
    else:
        assert settled_at == now
        assert "provider_at" in data and data["provider_at"][:19] == said.astimezone(now.tzinfo).isoformat()[:19]


def test_a_return_is_dated_by_the_bank_and_settles_a_payment_we_knew_as_sent_at_that_time(db_session):
    from datetime import timedelta

    from sqlalchemy import text

    payment = create_payment(state=PaymentState.SENT)
    came_back = _now(db_session) - timedelta(hours=5)

    apply_updates("sandbox", [_news(payment, RETURNED, "rjct.returned", at=came_back)], source="poll")

    db_session.expire_all()
    assert db_session.get(Payment, payment.id).settled_at == came_back
    back = _event(db_session, payment, "returned")
    stored = db_session.execute(text("SELECT CAST(:v AS timestamptz)"), {"v": back.data["at"]}).scalar()
    assert stored == came_back and back.code == "rjct.returned"


def test_times_go_with_ids_one_each_and_aware():
    from datetime import UTC, datetime

    from disburse.payments import service
    from disburse.payments.states import PaymentAction

    now = datetime.now(UTC)
    for kwargs, words in (
        ({"id_range": (1, 2), "times": [now]}, "times go with ids"),
        ({"ids": [1, 2], "times": [now]}, "one time for each id"),
        ({"ids": [1], "times": [now.replace(tzinfo=None)]}, "timezone-aware"),
        ({"ids": [1, 1], "times": [now, None]}, "twice with different times"),
    ):
        with pytest.raises(ValueError, match=words):
            service.transition_many(PaymentAction.SETTLE, **kwargs)


def test_money_moved_for_a_payment_held_failed_holds_the_claim_until_a_person_checks_the_statement(db_session):
    """The bank says it paid a payment it had rejected: nothing applied (no path undoes a failure), and the claim is
    not paid again meanwhile: a new attempt not yet handed over is cancelled, and the claim goes to review with
    ``bank_reports_money_moved``, which its approval asks to be checked; an attempt at the bank already cannot be
    held (the log names it)."""
    program = create_program()
    waiting, queued_again, at_the_bank = (create_claim(ClaimState.PAYMENT_PENDING, program=program) for _ in range(3))
    first = {c.id: create_payment(c, state=PaymentState.SENT) for c in (waiting, queued_again, at_the_bank)}
    failed = apply_updates("sandbox", [_news(p, REJECTED, "AC01") for p in first.values()], source="callback")
    assert failed.failed == 3
    for claim in (queued_again, at_the_bank):  # corrected details, then the next batching's new attempt
        db_session.refresh(claim)
        assert claim.state == ClaimState.AWAITING_PAYMENT_DETAILS
        claims.transition(claim, ClaimAction.DETAILS_RECEIVED)
        claims.transition(claim, ClaimAction.QUEUE_PAYMENT)
    second = create_payment(queued_again, attempt=2)  # queued
    third = create_payment(at_the_bank, state=PaymentState.SENT, attempt=2)

    late = apply_updates("sandbox", [_news(p, PAID) for p in first.values()], source="file")
    assert (late.settled, len(late.conflicts), late.held) == (0, 3, 2)
    db_session.expire_all()
    assert [db_session.get(Payment, p.id).state for p in first.values()] == ["failed"] * 3
    assert (db_session.get(Payment, second.id).state, db_session.get(Payment, third.id).state) == ("cancelled", "sent")
    for claim in (waiting, queued_again):
        held = db_session.get(Claim, claim.id)
        assert (held.state, held.reasons) == ("needs_review", ["bank_reports_money_moved"])
    assert db_session.get(Claim, at_the_bank.id).state == "payment_pending"
