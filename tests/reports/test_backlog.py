"""The dashboards' backlog figures (disburse.reports.backlog): what the beat sweep stores for the country, a province
and a district equals a direct count over claims (the pre-sweep live queries, ages bucketed in Python with
working_days_between) on the Monday after Tết 2021 and the day after; a sweep replaces the figures whole, twice
changes nothing, and two at once take turns; the beat task and its interval."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import text

from disburse.background import beat_schedule
from disburse.claims import service
from disburse.claims.states import ClaimAction
from disburse.extensions import db
from disburse.programs.calendar import working_days_between
from disburse.reports import dashboard
from disburse.reports.backlog import AGE_BUCKETS, age_limits, live, refresh, stored
from disburse.reports.service import Area
from disburse.verification import sweepers
from tests.factories import create_claim, create_employee, create_employer, create_program, create_user

#: The Monday after Tết 2021: 10–16 February were days off, so a claim received on Tuesday 9 February is 4 working
#: days old (9 by weekdays alone) and one received on 1 February 10 (15 by weekdays).
TODAY = date(2021, 2, 22)
DISTRICTS = {"017": "01", "001": "01", "760": "79"}
#: Received-on dates around TODAY: the bucket edges (5/6, 10/11, 20/21 working days), Tết, a weekend, after today.
RECEIVED = [
    date(2021, 2, 23),  # after the programme's today: the youngest bucket
    TODAY,
    date(2021, 2, 20),  # a Saturday
    date(2021, 2, 12),  # Tết
    date(2021, 2, 9),
    date(2021, 2, 8),  # 5 working days
    date(2021, 2, 5),  # 6
    date(2021, 2, 1),  # 10
    date(2021, 1, 29),  # 11
    date(2021, 1, 22),  # 16
    date(2021, 1, 19),  # 19
    date(2021, 1, 18),  # 20
    date(2021, 1, 15),  # 21
    date(2020, 12, 1),
]
AREAS = [Area(), Area("01"), Area("79"), Area("01", "017"), Area("79", "760")]


def _bucket(age: int) -> int:
    """The dashboards' bucketing before the sweep, verbatim: the first bucket the age is in, else the first."""
    for index, (_, first, last) in enumerate(AGE_BUCKETS):
        if age >= first and (last is None or age <= last):
            return index
    return 0


def _bucket_by_limits(received: date, today: date) -> int:
    for index, since in enumerate(age_limits(today)):
        if received >= since:
            return index
    return len(AGE_BUCKETS) - 1


def test_the_age_limits_bucket_every_day_as_working_days_between_does():
    """Every today from December 2020 to March 2021 (Tết 2021, New Year, weekends) and National Day 2021, every
    received-on date from 70 days before to 3 days after."""
    days = [date(2020, 12, 1) + timedelta(days=n) for n in range(120)]
    days += [date(2021, 8, 25) + timedelta(days=n) for n in range(20)]
    for today in days:
        for back in range(-3, 70):
            received = today - timedelta(days=back)
            assert _bucket_by_limits(received, today) == _bucket(working_days_between(received, today)), (
                received,
                today,
            )


@pytest.fixture
def open_cases(db_session):
    """A program of its own with open cases of every kind in three districts of two provinces, received on the
    :data:`RECEIVED` dates by Form 02 or Form 04 (one only listed), SLA dates before, on and after TODAY, and review
    reasons (one claim with two); closed claims past their SLA date, which do not count."""
    program = create_program()
    units = {code: create_employer(district_code=code) for code in DISTRICTS}
    codes = list(DISTRICTS)
    n = 0

    def claim(state: str, **values):
        nonlocal n
        unit = units[codes[n % len(codes)]]
        n += 1
        made = create_claim(
            state, program=program, employee=create_employee(employer_id=unit.id, district_code=unit.district_code)
        )
        for name, value in values.items():
            setattr(made, name, value)
        return made

    reasons = [["name_mismatch"], ["possible_duplicate"], ["name_mismatch", "bank_account_shape"], []]
    for i, received in enumerate(RECEIVED):
        claim("needs_review", confirmed_on=received, reasons=reasons[i % len(reasons)], payment_due_on=received)
        claim("payment_failed", confirmed_on=received, payment_due_on=received + timedelta(days=14))
        claim("awaiting_payment_details", applied_on=received, confirmed_on=date(2020, 1, 1), payment_due_on=None)
    # Received = listed: created today, after TODAY.
    claim("needs_review", confirmed_on=None, applied_on=None, payment_due_on=None, reasons=[])
    for state, due in (("approved", TODAY - timedelta(days=1)), ("verifying", TODAY), ("payment_pending", None)):
        claim(state, payment_due_on=due)
    for state in ("paid", "rejected", "declined"):
        claim(state, payment_due_on=date(2021, 1, 4), confirmed_on=date(2021, 1, 4))
    db_session.flush()
    return program


def _direct(db_session, program_id: int, area: Area, today: date) -> dict:
    """The figures by the dashboards' queries before the sweep (ages bucketed in Python), for ``area``."""
    where = {"country": "true", "province": "d.province_code = :a", "district": "c.district_code = :a"}[area.level]
    params = {"p": program_id, "a": area.district_code or area.province_code, "t": today}
    join = "FROM claims c JOIN districts d ON d.code = c.district_code"
    ages = {state: [0] * len(AGE_BUCKETS) for state in ("needs_review", "payment_failed", "awaiting_payment_details")}
    for state, received in db_session.execute(
        text(
            f"""SELECT c.state, coalesce(c.applied_on, c.confirmed_on, CAST(c.created_at AS date)) {join}
                WHERE c.program_id = :p AND {where}
                  AND c.state IN ('needs_review', 'payment_failed', 'awaiting_payment_details')"""
        ),
        params,
    ):
        ages[state][_bucket(working_days_between(received, today))] += 1
    breaches = db_session.execute(
        text(
            f"""SELECT c.state, count(*), sum(c.amount_vnd) {join}
                WHERE c.program_id = :p AND {where} AND c.payment_due_on < :t
                  AND c.state NOT IN ('paid', 'rejected', 'declined', 'removed') GROUP BY 1"""
        ),
        params,
    ).all()
    reasons = db_session.execute(
        text(
            f"""SELECT r, count(*) {join}, unnest(c.reasons) r
                WHERE c.program_id = :p AND {where} AND c.state = 'needs_review' GROUP BY 1"""
        ),
        params,
    ).all()
    return {
        "ages": ages,
        "breaches": {state: int(n) for state, n, _ in breaches},
        "breach_amount": sum(int(a) for _, _, a in breaches),
        "reasons": {reason: int(n) for reason, n in reasons},
    }


def _assert_stored_equals_direct(db_session, program_id: int, today: date) -> None:
    for area in AREAS:
        direct = _direct(db_session, program_id, area, today)
        ages = dashboard.ageing(program_id, area)
        assert ages["by_state"] == direct["ages"], area
        assert [b["claims"] for b in ages["buckets"]] == [sum(c[i] for c in direct["ages"].values()) for i in range(4)]
        assert ages["as_of"] == today and ages["computed_at"] is not None
        backlog = dashboard.backlog(program_id, area)
        assert backlog["sla_breaches"]["by_state"] == direct["breaches"], area
        assert backlog["sla_breaches"]["claims"] == sum(direct["breaches"].values())
        assert backlog["sla_breaches"]["amount_vnd"] == direct["breach_amount"]
        assert backlog["review_queue"]["by_reason"] == direct["reasons"], area
        assert [b["claims"] for b in backlog["review_queue"]["by_age"]] == direct["ages"]["needs_review"]
        assert backlog["computed_at"] == ages["computed_at"]
        # The one rule: what the sweep stored is what the rule counts for the area alone.
        assert stored(program_id, area).counts == live(program_id, area, today), area


def test_the_swept_figures_equal_a_direct_count_after_tet_and_the_day_after(db_session, open_cases):
    program_id = open_cases.id
    written = refresh(program_id, TODAY)
    assert (
        written
        == db_session.execute(
            text("SELECT count(*) FROM backlog_counters WHERE program_id = :p"), {"p": program_id}
        ).scalar()
    )
    _assert_stored_equals_direct(db_session, program_id, TODAY)
    country = dashboard.ageing(program_id, Area())
    # Received on 9 February: 4 working days after Tết (9 by weekdays alone), so in 0–5 with the five younger dates.
    assert country["by_state"]["payment_failed"] == [6, 2, 4, 2]
    assert sum(country["by_state"]["needs_review"]) == len(RECEIVED) + 1
    breaches = dashboard.backlog(program_id, Area())["sla_breaches"]["by_state"]
    assert breaches == {"needs_review": 12, "payment_failed": 8, "approved": 1}
    assert dashboard.backlog(program_id, Area())["review_queue"]["by_reason"] == {
        "name_mismatch": 7,
        "possible_duplicate": 4,
        "bank_account_shape": 3,
    }

    tomorrow = TODAY + timedelta(days=1)
    refresh(program_id, tomorrow)
    _assert_stored_equals_direct(db_session, program_id, tomorrow)
    assert dashboard.ageing(program_id, Area())["by_state"]["payment_failed"] == [5, 2, 4, 3]


def test_a_sweep_replaces_the_figures_whole_and_again_changes_nothing(db_session, open_cases):
    program_id = open_cases.id

    def rows():
        return db_session.execute(
            text(
                """SELECT level, area_code, kind, state, key, claims, amount_vnd FROM backlog_counters
                   WHERE program_id = :p ORDER BY 1, 2, 3, 4, 5"""
            ),
            {"p": program_id},
        ).all()

    refresh(program_id, TODAY)
    first, first_at = rows(), stored(program_id, Area()).computed_at
    refresh(program_id, TODAY)
    assert rows() == first and stored(program_id, Area()).computed_at >= first_at

    # Quận 1's open cases all decided: the figures stay those of the last sweep until the next one, which drops them.
    caseworker = create_user("caseworker", district="760")
    quan_1 = [
        claim_id
        for (claim_id,) in db_session.execute(
            text(
                """SELECT id FROM claims WHERE program_id = :p AND district_code = '760'
                   AND state NOT IN ('paid', 'rejected', 'declined', 'removed')"""
            ),
            {"p": program_id},
        )
    ]
    for claim_id in quan_1:
        service.transition(claim_id, ClaimAction.DECLINE, caseworker)
    assert rows() == first
    refresh(program_id, TODAY)
    assert not [row for row in rows() if row.area_code in ("760", "79")]
    assert stored(program_id, Area("79", "760")).counts == {}
    assert dashboard.ageing(program_id, Area("79"))["buckets"][0]["claims"] == 0
    _assert_stored_equals_direct(db_session, program_id, TODAY)


def test_before_the_first_sweep_nothing_is_stored(db_session, open_cases):
    found = stored(open_cases.id, Area())
    assert (found.counts, found.computed_at, found.as_of) == ({}, None, None)
    ages = dashboard.ageing(open_cases.id, Area("01"))
    assert ages["computed_at"] is None and [b["claims"] for b in ages["buckets"]] == [0, 0, 0, 0]
    assert dashboard.backlog(open_cases.id, Area())["sla_breaches"]["claims"] == 0


def test_the_beat_task_sweeps_every_program_as_of_the_programme_day(app, db_session, open_cases, monkeypatch):
    from workers import sweepers as tasks

    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY.isoformat())
    assert tasks.backlog.run() > 0
    assert stored(open_cases.id, Area()).as_of == TODAY
    _assert_stored_equals_direct(db_session, open_cases.id, TODAY)
    with sweepers.sweep_lock("backlog"):
        assert tasks.backlog.run() == -1  # another run holds the lock


def test_the_beat_interval_comes_from_the_configuration():
    assert beat_schedule({})["backlog-figures"] == {"task": "sweepers.backlog", "schedule": 300.0}
    assert beat_schedule({"DISBURSE_BACKLOG_EVERY_S": 60.0})["backlog-figures"]["schedule"] == 60.0


# ------------------------------------------------------------------------------------------ two sweeps at once

_WAITING = text(
    """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
       AND classid = CAST(hashtext('disburse.backlog') AS oid) AND objid = :p AND objsubid = 2
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
)


def test_two_sweeps_at_once_take_turns_and_store_one_set(app: Flask):
    """Two sweeps of one program on two connections, started while a third holds the sweep's lock, so that both
    wait and then run back to back. Committed claims (without events, so that they can be deleted again)."""
    with app.app_context():
        program = create_program()
        unit = create_employer(district_code="017")
        db.session.commit()
        program_id, unit_id = program.id, unit.id
        with db.engine.begin() as conn:
            for i, state in enumerate(["needs_review", "payment_failed", "approved", "needs_review"]):
                employee_id = conn.execute(
                    text(
                        """INSERT INTO employees (si_code, national_id, full_name, ui_status, unused_months,
                                                  employer_id, district_code)
                           VALUES (:si, :nid, 'Người Thử Khóa', 'participating', 24, :e, '017') RETURNING id"""
                    ),
                    {"si": f"08{unit_id % 10**5:05d}{i:03d}", "nid": f"08{unit_id % 10**7:07d}{i:03d}", "e": unit_id},
                ).scalar_one()
                conn.execute(
                    text(
                        """INSERT INTO claims (program_id, employee_id, employer_id, district_code, track,
                                               support_group, unused_months, amount_vnd, state, confirmed_on,
                                               payment_due_on, reasons)
                           VALUES (:p, :emp, :e, '017', 'A', 'A', 24, 2100000, :s, :c, :due, ARRAY['name_mismatch'])"""
                    ),
                    {
                        "p": program_id,
                        "emp": employee_id,
                        "e": unit_id,
                        "s": state,
                        "c": date(2021, 2, 1) + timedelta(days=i),
                        "due": date(2021, 2, 18),
                    },
                )
        errors: list[BaseException] = []
        blocker = db.engine.connect()
        try:
            blocker.execute(text("SELECT pg_advisory_lock(hashtext('disburse.backlog'), :p)"), {"p": program_id})

            def sweep() -> None:
                with app.app_context():
                    try:
                        refresh(program_id, TODAY)
                        db.session.commit()
                    except BaseException as exc:
                        errors.append(exc)
                        db.session.rollback()
                    finally:
                        db.session.remove()

            threads = [threading.Thread(target=sweep) for _ in range(2)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            while blocker.execute(_WAITING, {"p": program_id}).scalar() != 2:
                assert time.monotonic() < deadline, "both sweeps should be waiting for the lock"
                time.sleep(0.05)
            blocker.execute(text("SELECT pg_advisory_unlock(hashtext('disburse.backlog'), :p)"), {"p": program_id})
            blocker.commit()
            for thread in threads:
                thread.join(timeout=30)
            assert errors == []
            found = stored(program_id, Area())
            assert found.as_of == TODAY and found.counts == live(program_id, Area(), TODAY)
            # Received 1 and 4 February: 10 and 7 working days before TODAY.
            assert found.counts[("ageing", "needs_review", "6–10")] == (2, 4_200_000)
            assert found.counts[("sla_breach", "approved", "")] == (1, 2_100_000)
            assert found.counts[("review_reason", "needs_review", "name_mismatch")] == (2, 4_200_000)
            assert (
                db.session.execute(
                    text("SELECT row_count FROM backlog_sweeps WHERE program_id = :p"), {"p": program_id}
                ).scalar()
                == db.session.execute(
                    text("SELECT count(*) FROM backlog_counters WHERE program_id = :p"), {"p": program_id}
                ).scalar()
            )
        finally:
            blocker.close()
            db.session.rollback()
            with db.engine.begin() as conn:
                for statement in (
                    "DELETE FROM backlog_counters WHERE program_id = :p",
                    "DELETE FROM backlog_sweeps WHERE program_id = :p",
                    "DELETE FROM claims WHERE program_id = :p",
                    "DELETE FROM claim_counters WHERE program_id = :p",
                    "DELETE FROM district_counters WHERE program_id = :p",
                    "DELETE FROM province_counters WHERE program_id = :p",
                    "DELETE FROM employees WHERE employer_id = :e",
                    "DELETE FROM employers WHERE id = :e",
                    "DELETE FROM programs WHERE id = :p",
                ):
                    conn.execute(text(statement), {"p": program_id, "e": unit_id})
            db.session.remove()
