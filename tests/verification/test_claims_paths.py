"""The claims service's set-based forms that verification and the sweepers use: many claims along a short path in
one statement (one event per step), reassessment, and work notes (an SLA breach noted once)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from disburse.claims import service
from disburse.claims.models import Claim
from disburse.claims.states import TRANSITIONS, ClaimAction, ClaimNote, ClaimState, InvalidClaimTransition
from disburse.transitions import path_steps
from disburse.verification.service import PATHS
from tests.factories import create_claim

A, S = ClaimAction, ClaimState


def _source(db_session, rows):
    """rows: (claim id, path, reason, data) → the temporary table follow_paths_many reads."""
    db_session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS test_paths (id bigint PRIMARY KEY, path int, reason text, data jsonb,"
            " reasons text[], payment_due_on date, unused_months int, amount_vnd bigint) ON COMMIT DROP"
        )
    )
    db_session.execute(text("TRUNCATE test_paths"))
    for claim_id, path, reason, data in rows:
        db_session.execute(
            text("INSERT INTO test_paths (id, path, reason, data) VALUES (:id, :path, :reason, CAST(:data AS jsonb))"),
            {"id": claim_id, "path": path, "reason": reason, "data": data},
        )
    return "test_paths"


def _events(claim_id):
    return [(e.action, e.from_state, e.to_state, e.reason) for e in service.claim_events(claim_id)]


def test_a_path_starts_wherever_the_machine_allows_its_longest_suffix():
    steps = path_steps(TRANSITIONS, PATHS)
    starts = {(s.path, s.start) for s in steps}
    waiting = {"employer_confirmed", "employer_overdue", "applied", "verifying"}
    # approve is also allowed from needs_review (a caseworker's approval): the verification batch passes from_states.
    assert {start for p, start in starts if p == 0} == waiting | {"needs_review"}
    # flag_for_review is also allowed after approval (the close-out after the last payable day): from_states again.
    closed_out = {"approved", "payment_failed", "awaiting_payment_details"}
    assert {start for p, start in starts if p == 1} == waiting | closed_out
    assert {start for p, start in starts if p == 2} == waiting | {
        "needs_review",
        "approved",
        "payment_failed",
        "awaiting_payment_details",
    }
    from_verifying = [s for s in steps if s.start == "verifying"]
    assert all(s.step == 1 and s.last for s in from_verifying)
    two_steps = [s for s in steps if s.start == "employer_confirmed" and s.path == 0]
    assert [(s.step, s.action, s.last) for s in two_steps] == [(1, "start_verification", False), (2, "approve", True)]


def test_from_states_limits_where_a_path_may_start(db_session):
    reviewed = create_claim(S.NEEDS_REVIEW)
    source = _source(db_session, [(reviewed.id, 0, None, None)])
    result = service.follow_paths_many(source, PATHS, from_states=["employer_confirmed", "verifying"])
    assert result.not_moved == {reviewed.id: "needs_review"}
    assert service.follow_paths_many(source, PATHS).moved == [(reviewed.id, "needs_review", "approved")]


def test_claims_move_along_their_paths_and_the_rest_say_why_not(db_session):
    confirmed, overdue, verifying, listed = (
        create_claim(S.EMPLOYER_CONFIRMED),
        create_claim(S.EMPLOYER_OVERDUE),
        create_claim(S.VERIFYING),
        create_claim(S.LISTED),
    )
    source = _source(
        db_session,
        [
            (confirmed.id, 0, None, None),
            (overdue.id, 2, "Không đủ điều kiện", '{"reasons": ["x"]}'),
            (verifying.id, 1, "Cần xác minh", None),
            (listed.id, 0, None, None),
        ],
    )
    before = {c.id: _events(c.id) for c in (confirmed, overdue, verifying, listed)}
    result = service.follow_paths_many(source, PATHS)
    assert sorted(result.moved) == sorted(
        [
            (confirmed.id, "employer_confirmed", "approved"),
            (overdue.id, "employer_overdue", "rejected"),
            (verifying.id, "verifying", "needs_review"),
        ]
    )
    assert result.not_moved == {listed.id: "listed"}
    assert _events(confirmed.id) == [
        *before[confirmed.id],
        ("start_verification", "employer_confirmed", "verifying", None),
        ("approve", "verifying", "approved", None),
    ]
    assert _events(overdue.id)[-2:] == [
        ("start_verification", "employer_overdue", "verifying", None),
        ("reject", "verifying", "rejected", "Không đủ điều kiện"),
    ]
    assert service.claim_events(overdue.id)[-1].data == {"reasons": ["x"]}
    assert _events(verifying.id) == [
        *before[verifying.id],
        ("flag_for_review", "verifying", "needs_review", "Cần xác minh"),
    ]
    assert _events(listed.id) == before[listed.id]


def test_a_refusal_on_a_path_needs_its_reason_and_only_ends_a_path(db_session):
    claim = create_claim(S.EMPLOYER_CONFIRMED)
    source = _source(db_session, [(claim.id, 2, "  ", None)])
    with pytest.raises(service.ReasonRequired):
        service.follow_paths_many(source, PATHS)
    with pytest.raises(ValueError, match="only end"):
        service.follow_paths_many(source, [[A.REJECT, A.APPROVE]])
    db_session.refresh(claim)
    assert claim.state == "employer_confirmed"


_PATH = st.lists(st.sampled_from([a for a in ClaimAction if a is not A.REJECT]), min_size=1, max_size=3).map(tuple)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.sampled_from(list(ClaimState)), path=_PATH)
def test_a_path_in_one_statement_equals_its_steps_one_by_one(db_session, start, path):
    """The longest suffix of the path the machine allows, taken step by step through transition(), gives the same
    state, history and marks as follow_paths_many in one statement."""
    one, many = create_claim(start), create_claim(start)
    suffix = next(
        (path[i:] for i in range(len(path)) if _walkable(start, path[i:])),
        (),
    )
    for action in suffix:
        service.transition(one.id, action)
    result = service.follow_paths_many(_source(db_session, [(many.id, 0, None, None)]), [list(path)])
    assert (many.id in result.not_moved) == (suffix == ())
    a, b = db_session.get(Claim, one.id), db_session.get(Claim, many.id)
    db_session.refresh(a)
    db_session.refresh(b)
    assert (a.state, a.payment_failures, a.paid_at is None) == (b.state, b.payment_failures, b.paid_at is None)
    assert [e[:3] for e in _events(a.id)] == [e[:3] for e in _events(b.id)]


def _walkable(state, actions) -> bool:
    for action in actions:
        if (state, action) not in TRANSITIONS:
            return False
        state = TRANSITIONS[(state, action)]
    return True


def test_reassess_changes_only_figures_that_differ_and_notes_each(db_session):
    same, other = create_claim(S.EMPLOYER_CONFIRMED), create_claim(S.EMPLOYER_CONFIRMED)
    db_session.execute(text("CREATE TEMP TABLE r (id bigint, unused_months int, amount_vnd bigint) ON COMMIT DROP"))
    db_session.execute(
        text("INSERT INTO r VALUES (:a, :months, 2100000), (:b, 140, 3300000), (:a + 100000, 1, 1)"),
        {"a": same.id, "b": other.id, "months": same.unused_months},
    )
    assert service.reassess_many("r") == [other.id]
    db_session.refresh(other)
    assert (other.unused_months, other.amount_vnd, other.state) == (140, 3_300_000, "employer_confirmed")
    note = service.claim_events(other.id)[-1]
    assert (note.action, note.from_state, note.to_state) == ("reassess", "employer_confirmed", "employer_confirmed")
    assert _events(same.id)[-1][0] == "confirm"


def test_a_note_is_written_in_the_current_state_and_an_sla_breach_only_once(db_session):
    claim = create_claim(S.APPROVED)
    breach = {"deadline": "payment_due", "due_on": "2021-11-08"}
    assert service.note_many(ClaimNote.SLA_BREACH, [(claim.id, breach)]) == [claim.id]
    assert service.note_many(ClaimNote.SLA_BREACH, [(claim.id, {**breach, "noted_on": "x"})]) == []
    assert service.note_many(ClaimNote.SLA_BREACH, [(claim.id, {"deadline": "application_payment"})]) == [claim.id]
    assert service.note_many(ClaimNote.CONTACT, [(claim.id, None)], reason="gọi điện") == [claim.id]
    assert service.note_many(ClaimNote.CONTACT, []) == []
    notes = [(e.action, e.from_state, e.to_state) for e in service.claim_events(claim.id)[-3:]]
    assert notes == [("sla_breach", "approved", "approved")] * 2 + [("contact", "approved", "approved")]
    with pytest.raises(ValueError):
        service.note_many("approve", [(claim.id, None)])
    with pytest.raises(InvalidClaimTransition):
        service.transition(claim, A.CONFIRM)
