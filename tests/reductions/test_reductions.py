"""Employer contribution reductions: amounts, rounding, months, exclusions and refresh-on-change."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from disburse.reductions.models import Reduction
from disburse.reductions.service import book_reductions, reduction_amount
from tests.factories import create_employer, create_salary_fund, nq116

OCT_2021 = date(2021, 10, 1)


def rows(db_session) -> dict[tuple[int, date], Reduction]:
    db_session.expire_all()
    return {(r.employer_id, r.month): r for r in db_session.scalars(select(Reduction))}


@pytest.mark.parametrize(
    ("fund", "amount"),
    [
        (0, 0),
        (49, 0),
        (50, 1),  # 0.5 rounds up
        (150, 2),  # 1.5 → 2
        (250, 3),  # 2.5 → 3: half up, not to even
        (123_456_789, 1_234_568),  # 1,234,567.89
        (123_456_749, 1_234_567),  # 1,234,567.49
        (987_654_321_000, 9_876_543_210),
    ],
)
def test_amount_is_one_percent_rounded_half_up(db_session, fund, amount):
    employer = create_employer()
    create_salary_fund(employer, OCT_2021, fund, participants=7)
    result = book_reductions(nq116())
    assert result.created == 1
    row = rows(db_session)[(employer.id, OCT_2021)]
    assert (row.ui_salary_fund_vnd, row.ui_participants, row.amount_vnd) == (fund, 7, amount)
    assert (row.normal_rate_bp, row.reduced_rate_bp) == (100, 0)
    assert reduction_amount(fund, 100, 0) == amount


def test_only_the_programme_months_with_a_fund_are_booked(db_session):
    employer = create_employer()
    months = [date(2021, 9, 1), date(2021, 10, 1), date(2021, 12, 1), date(2022, 9, 1), date(2022, 10, 1)]
    for month in months:
        create_salary_fund(employer, month, 10_000_000)
    book_reductions(nq116())
    assert sorted(m for _, m in rows(db_session)) == [date(2021, 10, 1), date(2021, 12, 1), date(2022, 9, 1)]


@pytest.mark.parametrize("sector", ["public_budget", "state_agency", "political_org", "armed_forces"])
def test_excluded_sectors_get_none(db_session, sector):
    excluded = create_employer(sector=sector)
    autonomous = create_employer(sector="public_autonomous")
    for employer in (excluded, autonomous):
        create_salary_fund(employer, OCT_2021, 10_000_000)
    book_reductions(nq116())
    assert set(rows(db_session)) == {(autonomous.id, OCT_2021)}


def test_rates_come_from_the_program(db_session):
    program = nq116()
    program.normal_rate_bp, program.reduced_rate_bp = 100, 50  # a half reduction in a later programme
    db_session.flush()
    employer = create_employer()
    create_salary_fund(employer, OCT_2021, 1_000_001)
    book_reductions(program)
    row = rows(db_session)[(employer.id, OCT_2021)]
    assert (row.normal_rate_bp, row.reduced_rate_bp, row.amount_vnd) == (100, 50, 5_000)


def test_a_corrected_fund_updates_only_the_changed_rows(db_session):
    employer = create_employer()
    other = create_employer()
    funds = {
        (employer.id, OCT_2021): create_salary_fund(employer, OCT_2021, 50_000_000, participants=10),
        (employer.id, date(2021, 11, 1)): create_salary_fund(employer, date(2021, 11, 1), 60_000_000),
        (other.id, OCT_2021): create_salary_fund(other, OCT_2021, 70_000_000),
    }
    program = nq116()
    assert book_reductions(program).created == 3
    versions = dict(db_session.execute(text("SELECT id, xmin::text FROM reductions")).all())

    corrected = funds[(employer.id, OCT_2021)]
    corrected.ui_salary_fund_vnd, corrected.ui_participants = 55_555_550, 11
    participants_only = funds[(other.id, OCT_2021)]
    participants_only.ui_participants = 12
    db_session.flush()

    result = book_reductions(program)

    assert (result.created, result.updated, result.removed) == (0, 2, 0)
    booked = rows(db_session)
    assert (booked[(employer.id, OCT_2021)].amount_vnd, booked[(employer.id, OCT_2021)].ui_participants) == (
        555_556,
        11,
    )
    assert booked[(other.id, OCT_2021)].ui_participants == 12
    unchanged = booked[(employer.id, date(2021, 11, 1))]
    now = dict(db_session.execute(text("SELECT id, xmin::text FROM reductions")).all())
    assert now[unchanged.id] == versions[unchanged.id], "an unchanged row is not rewritten"
    assert set(now) == set(versions), "rows are updated in place, never replaced"

    again = book_reductions(program)
    assert (again.created, again.updated, again.removed) == (0, 0, 0)


def test_an_employer_reclassified_into_an_excluded_sector_loses_its_rows(db_session):
    employer = create_employer()
    create_salary_fund(employer, OCT_2021, 10_000_000)
    program = nq116()
    book_reductions(program)
    employer.sector = "public_budget"
    db_session.flush()
    result = book_reductions(program)
    assert (result.created, result.updated, result.removed) == (0, 0, 1)
    assert rows(db_session) == {}


def test_small_batches_cover_every_employer(db_session):
    employers = [create_employer() for _ in range(5)]
    for employer in employers:
        create_salary_fund(employer, OCT_2021, 1_000_000)
    calls: list[tuple[int, int | None]] = []
    result = book_reductions(nq116(), batch=2, progress=lambda d, t: calls.append((d, t)))
    assert result.created == 5
    assert {e for e, _ in rows(db_session)} == {e.id for e in employers}
    assert len(calls) >= 3 and calls[-1][0] == calls[-1][1]


def test_negative_fund_is_refused_by_the_pure_rule():
    with pytest.raises(ValueError):
        reduction_amount(-1, 100, 0)


def test_bulk_booking_skips_only_its_own_fk_triggers_and_the_fk_still_holds(db_session):
    employers = [create_employer() for _ in range(3)]
    for employer in employers:
        create_salary_fund(employer, OCT_2021, 10_000_000 * employer.id)
    program = nq116()
    savepoint = db_session.begin_nested()
    checked = book_reductions(program, batch=2, skip_fk_triggers=False)
    checked_rows = {key: (r.amount_vnd, r.ui_participants) for key, r in rows(db_session).items()}
    savepoint.rollback()

    result = book_reductions(program, batch=2)

    # The test role is a superuser: the set-based path, with the same rows as through the triggers.
    assert (checked.set_based_references, result.set_based_references) == (False, True)
    assert {key: (r.amount_vnd, r.ui_participants) for key, r in rows(db_session).items()} == checked_rows
    assert db_session.execute(text("SELECT current_setting('session_replication_role')")).scalar_one() == "origin"
    # An ordinary insert afterwards is still checked by the foreign key.
    with pytest.raises(IntegrityError, match="fk_reductions_employer_id"), db_session.begin_nested():
        db_session.execute(
            text(
                "INSERT INTO reductions (program_id, employer_id, month, ui_salary_fund_vnd, ui_participants, "
                f"normal_rate_bp, reduced_rate_bp, amount_vnd) VALUES ({program.id}, -1, DATE '2021-10-01', 1, 1, "
                "100, 0, 0)"
            )
        )
