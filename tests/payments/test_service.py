"""The one transition path for payments: one at a time and many in one statement, both against the machine."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from disburse.payments import service
from disburse.payments.models import Payment
from disburse.payments.states import TRANSITIONS, InvalidPaymentTransition, PaymentAction, PaymentState
from tests.factories import create_claim, create_payment, create_user


def _events(payment_id: int) -> list[tuple[str | None, str, str | None]]:
    return [(e.from_state, e.to_state, e.code) for e in service.payment_events(payment_id)]


@pytest.mark.parametrize(("from_state", "action"), sorted(TRANSITIONS, key=str))
def test_every_allowed_action_moves_one_payment_and_writes_its_event(db_session, from_state, action):
    payment = create_payment(state=from_state)
    before = _events(payment.id)
    actor = create_user("caseworker")
    code = "AC04" if action in service.NEEDS_CODE else None

    event = service.transition(payment.id, action, actor, reason=code, data={"source": "test"})

    db_session.refresh(payment)
    to_state = TRANSITIONS[(from_state, action)]
    assert payment.state == to_state
    assert _events(payment.id) == [*before, (from_state.value, to_state.value, code)]
    assert (event.actor_id, event.data) == (actor.id, {"source": "test"})
    # The moments stay with the payment: a return after settlement keeps when it was sent and settled.
    was_sent = from_state in (PaymentState.SENT, PaymentState.PAID)
    assert (payment.sent_at is not None) == (to_state is PaymentState.SENT or was_sent)
    assert (payment.settled_at is not None) == (to_state is PaymentState.PAID or from_state is PaymentState.PAID)
    if code:
        assert payment.failure_code == code


def test_a_refused_action_changes_nothing(db_session):
    payment = create_payment(state=PaymentState.PAID)
    with pytest.raises(InvalidPaymentTransition):
        service.transition(payment, PaymentAction.CANCEL)
    db_session.refresh(payment)
    assert payment.state == "paid"


def test_a_failure_needs_the_provider_code(db_session):
    payment = create_payment(state=PaymentState.SENT)
    with pytest.raises(service.CodeRequired):
        service.transition(payment, PaymentAction.FAIL)
    with pytest.raises(service.CodeRequired):
        service.transition_many(PaymentAction.RETURN, ids=[payment.id], reason=" ")


def test_many_payments_move_in_one_statement_and_say_what_did_not(db_session):
    queued = [create_payment() for _ in range(3)]
    paid = create_payment(state=PaymentState.PAID)

    result = service.transition_many(PaymentAction.SEND, ids=[p.id for p in queued] + [paid.id, 10**12])

    assert sorted(result.moved_ids) == sorted(p.id for p in queued)
    assert result.not_moved == {paid.id: "paid", 10**12: None}
    for payment in queued:
        stored = db_session.get(Payment, payment.id)
        assert stored.state == "sent" and stored.sent_at is not None
        assert _events(payment.id)[-1] == ("queued", "sent", None)

    failed = service.transition_many(
        PaymentAction.FAIL, id_range=(min(result.moved_ids), max(result.moved_ids)), reason="AC06"
    )
    assert sorted(failed.moved_ids) == sorted(result.moved_ids)
    assert {db_session.get(Payment, i).failure_code for i in failed.moved_ids} == {"AC06"}


def test_the_named_queries(db_session):
    claim = create_claim("payment_pending")
    first = create_payment(claim, PaymentState.SENT)
    assert service.live_payment_for_claim(claim.id).id == first.id
    assert service.payment_by_reference(first.provider_reference).id == first.id
    service.transition(first, PaymentAction.FAIL, reason="AC04")
    assert service.live_payment_for_claim(claim.id) is None
    second = create_payment(claim, attempt=2)
    assert [p.id for p in service.payments_of_claim(claim.id)] == [first.id, second.id]


def test_a_claim_never_has_two_live_payments(db_session):
    claim = create_claim("payment_pending")
    create_payment(claim)
    with pytest.raises(IntegrityError):
        create_payment(claim, attempt=2)
