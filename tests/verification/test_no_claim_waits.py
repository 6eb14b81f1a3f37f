"""No claim waits: after any sequence of confirmations, batches (some of them killed half-way: their transaction
never commits), declines and deadline sweeps, the sweepers (overdue employers, then the waiting sweep, each range it
sends verified as the worker would) bring every confirmed, overdue or applied claim to approved, needs_review or
rejected. The real-worker version, with a worker killed by SIGKILL, is in tests/workers/test_verification_worker.py."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from disburse.claims import service as claims
from disburse.claims.models import Claim
from disburse.claims.states import ClaimAction, InvalidClaimTransition
from disburse.verification import service as verification
from disburse.verification import sweepers
from tests.factories import create_claim, create_person, create_program
from tests.verification.test_checks import rollups_match

REVIEW_DUE = date(2021, 10, 27)
TODAY = date(2021, 11, 15)
START = ("listed", "listed", "employer_confirmed", "employer_overdue", "applied")

operations = st.lists(
    st.one_of(
        st.tuples(st.just("confirm"), st.integers(0, 7)),
        st.tuples(st.just("decline"), st.integers(0, 7)),
        st.tuples(st.just("batch"), st.integers(0, 7), st.integers(0, 7), st.booleans()),
        st.tuples(st.just("overdue"), st.sampled_from([REVIEW_DUE, REVIEW_DUE + timedelta(days=1)])),
    ),
    max_size=8,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(starts=st.lists(st.sampled_from(START), min_size=1, max_size=8), ops=operations)
def test_the_sweepers_leave_no_claim_waiting(db_session, starts, ops):
    savepoint = db_session.begin_nested()
    try:
        _run(db_session, starts, ops)
    finally:
        savepoint.rollback()


def _run(db_session, starts, ops):
    program = create_program()
    made = [
        create_claim(
            state,
            program=program,
            employee=create_person(),
            review_due_on=REVIEW_DUE,
            applied_on=date(2021, 12, 1) if state == "applied" else None,
            confirmed_on=REVIEW_DUE if state == "employer_confirmed" else None,
        )
        for state in starts
    ]
    ids = [c.id for c in made]
    for op in ops:
        _apply(db_session, program, ids, op)

    # The sweepers, as beat runs them once every deadline has passed.
    cursor = None
    while True:
        _, cursor = sweepers.mark_overdue_employers(program, TODAY, after=cursor, chunk=3)
        if cursor is None:
            break
    db_session.execute(
        text("UPDATE claims SET updated_at = now() - interval '1 hour' WHERE program_id = :p"), {"p": program.id}
    )
    for first, last, _count in sweepers.waiting_ranges(program, batch=3):
        verification.verify(id_range=(first, last), today=TODAY)

    final = db_session.execute(
        select(Claim.state).where(Claim.program_id == program.id).execution_options(populate_existing=True)
    ).scalars()
    assert set(final) <= {"approved", "needs_review", "rejected", "declined"}
    assert sweepers.waiting_ranges(program) == []
    assert rollups_match(db_session)


def _apply(db_session, program, ids, op):
    kind = op[0]
    if kind in ("confirm", "decline"):
        action = ClaimAction.CONFIRM if kind == "confirm" else ClaimAction.DECLINE
        with suppress(InvalidClaimTransition):
            claims.transition(ids[op[1] % len(ids)], action)
    elif kind == "batch":
        lo, hi = sorted((ids[op[1] % len(ids)], ids[op[2] % len(ids)]))
        batch = db_session.begin_nested()
        verification.verify(id_range=(lo, hi), today=TODAY)
        if op[3]:
            batch.commit()
        else:
            batch.rollback()  # the worker died before its commit
    else:
        sweepers.mark_overdue_employers(program, op[1])
