"""Property: the Python rules (:func:`assess`) and the set-based SQL (:data:`ASSESSMENT_SQL`) agree row by row.

Random registries are drawn around every edge that matters (tier boundaries, stop-window edges, each sector, no
employer at all) and assessed both ways on the real NQ116 program row, first over arrays (any combination, even ones
the employees table forbids) and then over real employees/employers rows joined exactly like ``lists build`` does.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from disburse.programs.models import SECTORS, Program
from disburse.programs.rules import (
    ASSESSMENT_SQL,
    Assessment,
    Person,
    ProgramRules,
    assess,
    assess_sql_preview,
    assessment_sql,
)
from tests.factories import nq116

EDGE_DATES = [date(2019, 12, 31), date(2020, 1, 1), date(2021, 9, 30), date(2021, 10, 1)]
EDGE_MONTHS = [0, 1, 11, 12, 59, 60, 83, 84, 107, 108, 131, 132, 600]

stop_dates = st.one_of(st.sampled_from(EDGE_DATES), st.dates(min_value=date(2015, 1, 1), max_value=date(2023, 12, 31)))
months = st.one_of(st.sampled_from(EDGE_MONTHS), st.integers(min_value=0, max_value=600))
sectors = st.sampled_from(SECTORS)

persons = st.builds(
    Person,
    ui_status=st.sampled_from(["participating", "stopped"]),
    ui_stopped_on=st.one_of(st.none(), stop_dates),
    unused_months=months,
    pension_decision=st.booleans(),
    employer_sector=st.one_of(st.none(), sectors),
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(batch=st.lists(persons, min_size=1, max_size=150))
def test_sql_agrees_with_python_over_arrays(db_session: Session, batch: list[Person]) -> None:
    program = nq116()
    rules = ProgramRules.from_program(program)
    expected = [assess(rules, person) for person in batch]
    assert assess_sql_preview(db_session, program.id, batch) == expected
    assert assess_sql_preview(db_session, program.id, batch, assessment_sql(rules)) == expected


# A registry as the employees table allows it: participating people have an employer, stopped people a stop date.
registry_people = st.one_of(
    st.tuples(st.just("participating"), st.none(), months, st.booleans(), st.integers(0, 7)),
    st.tuples(st.just("stopped"), stop_dates, months, st.booleans(), st.one_of(st.none(), st.integers(0, 7))),
)
_si_codes = itertools.count(9_000_000_000)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    employer_sectors=st.lists(sectors, min_size=8, max_size=8),
    people=st.lists(registry_people, min_size=1, max_size=120),
)
def test_sql_agrees_with_python_over_registry_tables(
    db_session: Session,
    employer_sectors: list[str],
    people: list[tuple[str, date | None, int, bool, int | None]],
) -> None:
    program = nq116()
    rules = ProgramRules.from_program(program)
    savepoint = db_session.begin_nested()
    try:
        employer_ids = db_session.execute(
            text(
                """
                INSERT INTO employers (unit_code, name, sector, district_code)
                SELECT 'PROP' || n || '_' || :tag, 'Đơn vị ' || n, sector, '017'
                FROM unnest(CAST(:sectors AS text[])) WITH ORDINALITY AS s(sector, n)
                ORDER BY n
                RETURNING id
                """
            ),
            {"sectors": employer_sectors, "tag": next(_si_codes)},
        ).scalars()
        ids = list(employer_ids)
        si_codes = [str(next(_si_codes)) for _ in people]
        db_session.execute(
            text(
                """
                INSERT INTO employees (si_code, national_id, full_name, district_code, employer_id, ui_status,
                                       ui_stopped_on, unused_months, pension_decision)
                SELECT si, '0' || si || '0', 'Người ' || si, '017', emp, status, stopped, m, pension
                FROM unnest(CAST(:si AS text[]), CAST(:emp AS bigint[]), CAST(:status AS text[]),
                            CAST(:stopped AS date[]), CAST(:m AS int[]), CAST(:pension AS bool[]))
                     AS x(si, emp, status, stopped, m, pension)
                """
            ),
            {
                "si": si_codes,
                "emp": [None if e is None else ids[e] for *_, e in people],
                "status": [p[0] for p in people],
                "stopped": [p[1] for p in people],
                "m": [p[2] for p in people],
                "pension": [p[3] for p in people],
            },
        )
        expected = {
            si: assess(
                rules,
                Person(
                    ui_status=status,
                    ui_stopped_on=stopped,
                    unused_months=m,
                    pension_decision=pension,
                    employer_sector=None if emp is None else employer_sectors[emp],
                ),
            )
            for si, (status, stopped, m, pension, emp) in zip(si_codes, people, strict=True)
        }
        for fragment in (ASSESSMENT_SQL, assessment_sql(rules)):
            rows = db_session.execute(
                text(
                    f"""
                    SELECT e.si_code, {fragment}
                    FROM employees e
                    LEFT JOIN employers r ON r.id = e.employer_id
                    CROSS JOIN programs p
                    WHERE p.code = 'NQ116' AND e.si_code = ANY(CAST(:si AS text[]))
                    """
                ),
                {"si": si_codes},
            ).all()
            got = {
                row.si_code: Assessment(row.support_group, row.outcome, tuple(row.reasons), row.amount_vnd)
                for row in rows
            }
            assert got == expected
    finally:
        savepoint.rollback()


def test_sql_preview_covers_every_outcome(db_session: Session) -> None:
    """A fixed example so that a regression shows a readable diff, not only a shrunk hypothesis case."""
    program = nq116()
    window_day = date(2021, 3, 1)
    batch = [
        Person("participating", None, 24, False, "enterprise"),
        Person("participating", None, 0, False, "public_autonomous"),
        Person("participating", None, 24, False, "armed_forces"),
        Person("participating", None, 132, True, None),
        Person("stopped", window_day, 108, False, None),
        Person("stopped", window_day - timedelta(days=600), 5, True, "enterprise"),
        Person("stopped", None, 5, False, None),
    ]
    got = [
        (a.support_group, a.outcome, a.reasons, a.amount_vnd) for a in assess_sql_preview(db_session, program.id, batch)
    ]
    assert got == [
        ("A", "eligible", (), 2_100_000),
        ("A", "review", ("zero_months",), 1_800_000),
        (None, "not_eligible", ("excluded_sector",), None),
        ("A", "eligible", (), 3_300_000),
        ("B", "eligible", (), 2_900_000),
        (None, "not_eligible", ("pension_decision", "stopped_outside_window"), None),
        (None, "not_eligible", ("stopped_outside_window",), None),
    ]


def _insert_shifted_program(db_session: Session) -> int:
    """A later "116-style" programme: another window, other excluded sectors, other (and more) tiers."""
    program_id = db_session.execute(
        text(
            """
            INSERT INTO programs (code, name_vi, name_en, cutoff_date, stop_window_start, stop_window_end,
                months_counted_to, max_months, excluded_sectors, list_deadline, employer_review_wd,
                adjustment_deadline, payment_after_confirmation_wd, payment_after_adjustment_days,
                track_a_fallback_after, application_deadline, application_payment_wd, payment_deadline,
                extension_until, reduction_start_month, reduction_months, normal_rate_bp, reduced_rate_bp,
                max_payment_failures)
            SELECT 'ALT', name_vi, name_en, cutoff_date, DATE '2018-07-01', DATE '2020-06-30', months_counted_to,
                max_months, ARRAY['armed_forces', 'public_autonomous'], list_deadline, employer_review_wd,
                adjustment_deadline, payment_after_confirmation_wd, payment_after_adjustment_days,
                track_a_fallback_after, application_deadline, application_payment_wd, payment_deadline,
                extension_until, reduction_start_month, reduction_months, normal_rate_bp, reduced_rate_bp,
                max_payment_failures
            FROM programs WHERE code = 'NQ116'
            RETURNING id
            """
        )
    ).scalar_one()
    db_session.execute(
        text(
            "INSERT INTO amount_tiers (program_id, min_months, amount_vnd)"
            " SELECT :id, m, a FROM unnest(ARRAY[0, 1, 12, 13, 300], ARRAY[500000, 700000, 900000, 1100000, 5000000])"
            " AS t(m, a)"
        ),
        {"id": program_id},
    )
    return int(program_id)


@SETTINGS
@given(batch=st.lists(persons, min_size=1, max_size=150))
def test_sql_follows_another_programs_parameters(db_session: Session, batch: list[Person]) -> None:
    savepoint = db_session.begin_nested()
    try:
        program_id = _insert_shifted_program(db_session)
        rules = ProgramRules.from_program(db_session.get_one(Program, program_id))
        assert rules.tiers[-1] == (300, 5_000_000) and rules.excluded_sectors == {"armed_forces", "public_autonomous"}
        expected = [assess(rules, person) for person in batch]
        assert assess_sql_preview(db_session, program_id, batch) == expected
        assert assess_sql_preview(db_session, program_id, batch, assessment_sql(rules)) == expected
    finally:
        savepoint.rollback()
        db_session.expunge_all()
