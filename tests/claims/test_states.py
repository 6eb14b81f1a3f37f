"""The claim state machine, pair by pair: every (state, action) in the full product is either the transition the
table below names, or an InvalidClaimTransition. The table is written from the procedure in docs/rules.md,
not derived from TRANSITIONS, so a change to the machine must be made in both places on purpose."""

from __future__ import annotations

import itertools
from collections import deque

import pytest

from disburse.claims.states import (
    CLOSED_STATES,
    INITIAL_STATES,
    NOT_IN_ELIGIBLE_GROUP,
    TERMINAL_STATES,
    TRANSITIONS,
    ClaimAction,
    ClaimState,
    InvalidClaimTransition,
    allowed_actions,
    next_state,
)

EXPECTED: dict[tuple[str, str], str] = {
    # Track A: Form 01 list → employer review (Form 02) or overdue → adjustments (Form 03).
    ("listed", "confirm"): "employer_confirmed",
    ("listed", "decline"): "declined",
    ("listed", "remove"): "removed",
    ("listed", "mark_overdue"): "employer_overdue",
    ("employer_overdue", "confirm"): "employer_confirmed",
    ("employer_overdue", "decline"): "declined",
    ("employer_overdue", "remove"): "removed",
    ("employer_overdue", "start_verification"): "verifying",
    ("needs_review", "confirm_late"): "employer_confirmed",  # a late Form 02 (the service says for which claims)
    ("employer_confirmed", "decline"): "declined",
    ("employer_confirmed", "remove"): "removed",
    ("employer_confirmed", "start_verification"): "verifying",
    # Track B: Form 04.
    ("applied", "decline"): "declined",
    ("applied", "start_verification"): "verifying",
    # Checks and the caseworkers' queue.
    ("verifying", "flag_for_review"): "needs_review",
    ("verifying", "approve"): "approved",
    ("verifying", "reject"): "rejected",
    ("verifying", "decline"): "declined",
    ("verifying", "remove"): "removed",
    ("needs_review", "approve"): "approved",
    ("needs_review", "reject"): "rejected",
    ("needs_review", "decline"): "declined",
    ("needs_review", "remove"): "removed",
    # Payment, failure and re-payment.
    ("approved", "queue_payment"): "payment_pending",
    ("approved", "decline"): "declined",
    ("approved", "remove"): "removed",
    ("approved", "reject"): "rejected",
    ("payment_pending", "cancel_payment"): "approved",
    ("payment_pending", "payment_succeeded"): "paid",
    ("payment_pending", "payment_failed"): "payment_failed",
    ("payment_failed", "request_details"): "awaiting_payment_details",
    ("payment_failed", "decline"): "declined",
    ("payment_failed", "reject"): "rejected",
    ("payment_failed", "retry_payment"): "approved",  # the bank's fault (a timeout), not the details'
    ("paid", "payment_returned"): "payment_failed",  # the payee's bank sent the money back
    ("awaiting_payment_details", "details_received"): "approved",
    ("awaiting_payment_details", "decline"): "declined",
    ("awaiting_payment_details", "reject"): "rejected",
    # After the programme's last payable day: nobody will pay it, a caseworker writes the answer (the close-out).
    ("approved", "flag_for_review"): "needs_review",
    ("payment_failed", "flag_for_review"): "needs_review",
    ("awaiting_payment_details", "flag_for_review"): "needs_review",
    # Form 04 from a track A person not yet paid: the same claim becomes the application.
    ("listed", "apply"): "applied",
    ("employer_overdue", "apply"): "applied",
    ("employer_confirmed", "apply"): "applied",
    ("needs_review", "apply"): "applied",
    ("payment_failed", "apply"): "applied",
    ("awaiting_payment_details", "apply"): "applied",
}

ALL_PAIRS = list(itertools.product(ClaimState, ClaimAction))


def test_the_expected_table_names_real_states_and_actions() -> None:
    states, actions = {s.value for s in ClaimState}, {a.value for a in ClaimAction}
    for (state, action), to_state in EXPECTED.items():
        assert state in states and to_state in states and action in actions


@pytest.mark.parametrize(("state", "action"), ALL_PAIRS, ids=[f"{s.value}-{a.value}" for s, a in ALL_PAIRS])
def test_every_state_action_pair(state: ClaimState, action: ClaimAction) -> None:
    expected = EXPECTED.get((state.value, action.value))
    if expected is None:
        with pytest.raises(InvalidClaimTransition) as refused:
            next_state(state, action)
        assert (refused.value.from_state, refused.value.action) == (state, action)
        assert state.value in str(refused.value) and action.value in str(refused.value)
        assert action not in allowed_actions(state)
    else:
        assert next_state(state, action) is ClaimState(expected)
        assert next_state(state.value, action.value) is ClaimState(expected)  # the API and the database speak strings
        assert action in allowed_actions(state)


def test_the_machine_has_no_transition_the_table_does_not_know() -> None:
    assert {(s.value, a.value): t.value for (s, a), t in TRANSITIONS.items()} == EXPECTED


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValueError):
        next_state("lost", "approve")
    with pytest.raises(ValueError):
        next_state("listed", "pay_twice")


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_terminal_states_have_no_way_out(state: ClaimState) -> None:
    assert allowed_actions(state) == []
    for action in ClaimAction:
        with pytest.raises(InvalidClaimTransition):
            next_state(state, action)


def test_terminal_and_initial_states_are_the_documented_ones() -> None:
    assert {s.value for s in TERMINAL_STATES} == {"rejected", "declined", "removed"}
    assert {s.value for s in CLOSED_STATES} == {"paid", "rejected", "declined", "removed"}
    assert allowed_actions(ClaimState.PAID) == [ClaimAction.PAYMENT_RETURNED]
    assert {s.value for s in INITIAL_STATES} == {"listed", "applied"}
    assert {s.value for s in NOT_IN_ELIGIBLE_GROUP} == {"rejected", "declined", "removed"}
    # Every state that is not terminal has a way forward.
    assert all(allowed_actions(s) for s in ClaimState if s not in TERMINAL_STATES)


def _reachable(starts: frozenset[ClaimState]) -> set[ClaimState]:
    seen, queue = set(starts), deque(starts)
    while queue:
        state = queue.popleft()
        for action in allowed_actions(state):
            after = next_state(state, action)
            if after not in seen:
                seen.add(after)
                queue.append(after)
    return seen


def test_every_state_is_reachable_from_an_initial_state() -> None:
    assert _reachable(INITIAL_STATES) == set(ClaimState)


@pytest.mark.parametrize("start", sorted(INITIAL_STATES))
def test_paid_is_reachable_from_each_initial_state(start: ClaimState) -> None:
    assert ClaimState.PAID in _reachable(frozenset({start}))


def test_the_happy_paths_walk_to_paid() -> None:
    a = ClaimState.LISTED
    for action in ("confirm", "start_verification", "approve", "queue_payment", "payment_succeeded"):
        a = next_state(a, action)
    assert a is ClaimState.PAID
    b = ClaimState.APPLIED
    for action in (
        "start_verification",
        "flag_for_review",
        "approve",
        "queue_payment",
        "payment_failed",
        "request_details",
        "details_received",
        "queue_payment",
        "payment_succeeded",
    ):
        b = next_state(b, action)
    assert b is ClaimState.PAID


def test_nothing_on_its_way_to_the_bank_can_be_declined_removed_or_rejected() -> None:
    # A payment in flight must settle or fail first; ending the claim then would risk paying a person who declined.
    for action in (ClaimAction.DECLINE, ClaimAction.REMOVE, ClaimAction.REJECT):
        with pytest.raises(InvalidClaimTransition):
            next_state(ClaimState.PAYMENT_PENDING, action)
