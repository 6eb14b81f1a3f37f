"""Deadline and SLA sweepers, run as beat runs them (the task bodies, the programme clock from DISBURSE_TODAY):
every deadline the day before, on and after it, with the Tết break of 10–16/02/2021 inside a working-day count;
each event written once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from disburse.claims import service as claims
from disburse.claims.lists import build_lists
from disburse.claims.models import Claim, ClaimEvent
from disburse.programs.calendar import add_working_days
from disburse.verification import service as verification
from disburse.verification import sweepers
from tests.factories import create_claim, create_person, create_program
from workers import sweepers as tasks

#: Friday before Tết 2021 (the break is Wednesday 10 to Tuesday 16 February).
BEFORE_TET = date(2021, 2, 5)


@pytest.fixture
def clock(app, monkeypatch):
    """Set the programme clock (DISBURSE_TODAY) as the sweeps read it."""

    def set_today(day: date) -> None:
        monkeypatch.setitem(app.config, "DISBURSE_TODAY", day.isoformat())

    return set_today


def events(claim_id: int, action: str) -> list[ClaimEvent]:
    return [e for e in claims.claim_events(claim_id) if e.action == action]


def state(db_session, claim_id: int) -> str:
    return db_session.scalar(select(Claim.state).where(Claim.id == claim_id).execution_options(populate_existing=True))


def test_tet_is_inside_the_counts():
    assert add_working_days(BEFORE_TET, 5) == date(2021, 2, 19)
    assert add_working_days(BEFORE_TET, 10) == date(2021, 2, 26)


def test_overdue_employers_the_day_after_review_due_on(db_session, clock):
    program = create_program()
    person = create_person()
    build_lists(program, today=BEFORE_TET)
    claim = db_session.scalar(select(Claim).where(Claim.program_id == program.id, Claim.employee_id == person.id))
    assert claim.review_due_on == date(2021, 2, 19), "5 working days after 05/02/2021, over Tết"
    confirmed_in_time = create_claim("employer_confirmed", program=program, review_due_on=date(2021, 2, 19))

    for day in (date(2021, 2, 18), date(2021, 2, 19)):
        clock(day)
        assert tasks.employer_overdue.run() == 0
        assert state(db_session, claim.id) == "listed"
    clock(date(2021, 2, 20))
    assert tasks.employer_overdue.run() == 1
    assert state(db_session, claim.id) == "employer_overdue"
    assert tasks.employer_overdue.run() == 0
    [event] = events(claim.id, "mark_overdue")
    assert (event.from_state, event.to_state, event.actor_id) == ("listed", "employer_overdue", None)
    assert event.data == {"deadline": "employer_review", "noted_on": "2021-02-20"}
    assert state(db_session, confirmed_in_time.id) == "employer_confirmed"


def test_overdue_employers_in_chunks(db_session):
    program = create_program()
    listed = [create_claim("listed", program=program, review_due_on=date(2021, 10, 27)) for _ in range(5)]
    cursor, moved = None, 0
    for _ in range(5):
        done, cursor = sweepers.mark_overdue_employers(program, date(2021, 10, 28), after=cursor, chunk=2)
        moved += done
        if cursor is None:
            break
    assert moved == 5 and cursor is None
    assert {state(db_session, c.id) for c in listed} == {"employer_overdue"}


def test_form04_applications_past_their_working_days(db_session, clock):
    program = create_program()
    waiting = create_claim("applied", program=program, applied_on=BEFORE_TET)
    reviewed = create_claim("needs_review", program=program, track="B", applied_on=BEFORE_TET)
    paid = create_claim("paid", program=program, track="B", applied_on=BEFORE_TET)
    later = create_claim("applied", program=program, applied_on=date(2021, 2, 8))
    for day in (date(2021, 2, 25), date(2021, 2, 26)):
        clock(day)
        assert tasks.application_sla.run() == 0
    clock(date(2021, 2, 27))
    assert tasks.application_sla.run() == 2
    for claim in (waiting, reviewed):
        [note] = events(claim.id, "sla_breach")
        assert note.data == {"deadline": "application_payment", "due_on": "2021-02-26", "noted_on": "2021-02-27"}
        assert note.from_state == note.to_state == state(db_session, claim.id)
    assert events(paid.id, "sla_breach") == [] and events(later.id, "sla_breach") == []
    clock(date(2021, 3, 1))  # the application of Monday 08/02 is due on Monday 01/03
    assert tasks.application_sla.run() == 0
    clock(date(2021, 3, 2))
    assert tasks.application_sla.run() == 1
    assert [n.data["due_on"] for n in events(later.id, "sla_breach")] == ["2021-03-01"]
    assert len(events(waiting.id, "sla_breach")) == 1, "noted once, however often the sweep runs"


def test_claims_past_their_payment_due_on(db_session, clock):
    program = create_program()
    claim = create_claim("employer_confirmed", program=program, employee=create_person(), confirmed_on=BEFORE_TET)
    verification.verify(ids=[claim.id], today=date(2021, 2, 8))
    db_session.refresh(claim)
    assert (claim.state, claim.payment_due_on) == ("approved", date(2021, 2, 26))
    pending = create_claim("payment_pending", program=program, payment_due_on=date(2021, 2, 26))
    paid = create_claim("paid", program=program, payment_due_on=date(2021, 2, 26))
    for day in (date(2021, 2, 25), date(2021, 2, 26)):
        clock(day)
        assert tasks.payment_sla.run() == 0
    clock(date(2021, 2, 27))
    assert tasks.payment_sla.run() == 2
    assert tasks.payment_sla.run() == 0
    for noted in (claim, pending):
        [note] = events(noted.id, "sla_breach")
        assert note.data == {"deadline": "payment_due", "due_on": "2021-02-26", "noted_on": "2021-02-27"}
    assert events(paid.id, "sla_breach") == []


def test_an_sla_breach_is_noted_once_even_by_two_sweeps_that_both_saw_it_due(db_session):
    program = create_program()
    claim = create_claim("approved", program=program, payment_due_on=date(2021, 11, 8))
    # Two sweeps that selected the claim before either wrote: the unique index keeps the second note out.
    item = [(claim.id, {"deadline": sweepers.DEADLINE_PAYMENT, "due_on": "2021-11-08"})]
    assert claims.note_many("sla_breach", item) == [claim.id]
    assert claims.note_many("sla_breach", item) == []
    assert len(events(claim.id, "sla_breach")) == 1


@settings(max_examples=60, deadline=None)
@given(
    today=st.dates(min_value=date(2020, 12, 1), max_value=date(2022, 12, 31)),
    working_days=st.integers(min_value=0, max_value=25),
)
def test_the_last_late_base_date_agrees_with_the_calendar(today, working_days):
    last = sweepers.last_base_breached(today, working_days)
    assert add_working_days(last, working_days) < today
    assert add_working_days(last + timedelta(days=1), working_days) >= today


def test_the_waiting_sweep_sends_ranges_of_claims_waiting_longer_than_the_grace(db_session):
    program = create_program()
    waiting = [create_claim(s, program=program) for s in ("employer_confirmed", "applied", "employer_overdue")]
    create_claim("listed", program=program)
    create_claim("needs_review", program=program)
    assert sweepers.waiting_ranges(program) == [], "just changed: their own tasks are on the way"
    db_session.execute(
        text("UPDATE claims SET updated_at = now() - interval '1 hour' WHERE program_id = :p"), {"p": program.id}
    )
    ids = sorted(c.id for c in waiting)
    assert sweepers.waiting_ranges(program, batch=2) == [(ids[0], ids[1], 2), (ids[2], ids[2], 1)]
    assert sweepers.waiting_ranges(program, grace=timedelta(hours=2)) == []


def test_a_sweep_runs_alone(app, db_session):
    with sweepers.sweep_lock("test-alone") as first:
        with sweepers.sweep_lock("test-alone") as second:
            assert (first, second) == (True, False)
        with sweepers.sweep_lock("test-other") as other:
            assert other
    with sweepers.sweep_lock("test-alone") as again:
        assert again
    with sweepers.sweep_lock("employer_overdue"):
        assert tasks.employer_overdue.run() == -1


def test_every_sweep_is_on_beat_and_routed_to_the_periodic_queue(app):
    from disburse.background import BEAT_SCHEDULE, TASK_QUEUES, QueueNames

    assert app.extensions["celery"].conf.beat_schedule == BEAT_SCHEDULE
    scheduled = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    sweeps = {name for name in TASK_QUEUES if name.startswith("sweepers.")}
    notifications = {"notifications.send", "notifications.reminders", "notifications.digests"}
    assert scheduled == sweeps | {"payments.batch", "payments.reconcile"} | notifications
    assert all(TASK_QUEUES[name] == QueueNames.NOTIFICATIONS for name in notifications)
    assert all(TASK_QUEUES[name] == QueueNames.PERIODIC for name in sweeps | {"payments.reconcile"})
    assert TASK_QUEUES["verification.verify"] == QueueNames.VERIFICATION
