"""The payment state machine, pair by pair, against a table written from the machine described in
docs/architecture.md (not from TRANSITIONS)."""

from __future__ import annotations

import itertools
from collections import deque

import pytest

from disburse.payments.states import (
    LIVE_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    InvalidPaymentTransition,
    PaymentAction,
    PaymentState,
    next_state,
)

INITIAL = PaymentState.QUEUED

EXPECTED: dict[tuple[str, str], str] = {
    ("queued", "send"): "sent",
    ("queued", "cancel"): "cancelled",
    ("queued", "fail"): "failed",  # the provider refused the order outright
    ("sent", "settle"): "paid",
    ("sent", "fail"): "failed",
    ("sent", "return"): "returned",
    # Marked sent, never taken by any provider (the close-out, after the programme's last payable day): never sent.
    ("sent", "withdraw"): "cancelled",
    ("paid", "return"): "returned",  # sent back by the payee's bank after settlement: a recovery record follows
}

ALL_PAIRS = list(itertools.product(PaymentState, PaymentAction))


@pytest.mark.parametrize(("state", "action"), ALL_PAIRS, ids=[f"{s.value}-{a.value}" for s, a in ALL_PAIRS])
def test_every_state_action_pair(state: PaymentState, action: PaymentAction) -> None:
    expected = EXPECTED.get((state.value, action.value))
    if expected is None:
        with pytest.raises(InvalidPaymentTransition) as refused:
            next_state(state, action)
        assert (refused.value.from_state, refused.value.action) == (state, action)
        assert state.value in str(refused.value) and action.value in str(refused.value)
    else:
        assert next_state(state, action) is PaymentState(expected)
        assert next_state(state.value, action.value) is PaymentState(expected)


def test_the_machine_has_no_transition_the_table_does_not_know() -> None:
    assert {(s.value, a.value): t.value for (s, a), t in TRANSITIONS.items()} == EXPECTED


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValueError):
        next_state("lost", "send")
    with pytest.raises(ValueError):
        next_state("queued", "resend")


def test_a_sent_payment_cannot_be_cancelled() -> None:
    # It may already be at the bank: ask the provider for its status instead.
    with pytest.raises(InvalidPaymentTransition):
        next_state(PaymentState.SENT, PaymentAction.CANCEL)
    # Only its own action ends a sent payment as never sent, and only a sent one (the service checks that no provider
    # took its batch).
    assert next_state(PaymentState.SENT, PaymentAction.WITHDRAW) is PaymentState.CANCELLED
    for state in set(PaymentState) - {PaymentState.SENT}:
        with pytest.raises(InvalidPaymentTransition):
            next_state(state, PaymentAction.WITHDRAW)


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_terminal_states_have_no_way_out(state: PaymentState) -> None:
    for action in PaymentAction:
        with pytest.raises(InvalidPaymentTransition):
            next_state(state, action)


def test_terminal_and_live_states_are_the_documented_ones() -> None:
    assert {s.value for s in TERMINAL_STATES} == {"failed", "returned", "cancelled"}
    # The partial unique index covers exactly these: a paid payment stays live forever, so no second payment.
    assert {s.value for s in LIVE_STATES} == {"queued", "sent", "paid"}
    # Every payment that is not live has ended (a new attempt is a new row).
    assert set(PaymentState) - LIVE_STATES <= TERMINAL_STATES
    assert all(any((s, a) in TRANSITIONS for a in PaymentAction) for s in PaymentState if s not in TERMINAL_STATES)


def _reachable() -> set[PaymentState]:
    seen, queue = {INITIAL}, deque([INITIAL])
    while queue:
        state = queue.popleft()
        for action in PaymentAction:
            if (state, action) in TRANSITIONS:
                after = next_state(state, action)
                if after not in seen:
                    seen.add(after)
                    queue.append(after)
    return seen


def test_every_state_is_reachable_from_queued_and_paid_is_among_them() -> None:
    reachable = _reachable()
    assert reachable == set(PaymentState)
    assert PaymentState.PAID in reachable
