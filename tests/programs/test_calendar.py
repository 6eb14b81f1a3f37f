"""The Vietnamese working-day calendar (holidays library, country VN) and the programme clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from disburse.programs.calendar import (
    VIETNAM_TZ,
    add_working_days,
    holidays_in,
    is_working_day,
    programme_today,
    working_days_between,
)

TET_2021 = [date(2021, 2, d) for d in range(10, 17)]


def test_the_2021_tet_break_is_not_worked() -> None:
    assert set(TET_2021) <= holidays_in(2021)
    assert not any(is_working_day(d) for d in TET_2021)
    assert is_working_day(date(2021, 2, 9))  # Tuesday before the break
    assert is_working_day(date(2021, 2, 17))  # Wednesday after it


def test_national_day_2021() -> None:
    assert not is_working_day(date(2021, 9, 2))  # Thursday
    assert not is_working_day(date(2021, 9, 3))  # Friday
    assert is_working_day(date(2021, 9, 1))
    assert is_working_day(date(2021, 9, 6))


@pytest.mark.parametrize("day", [date(2021, 10, 23), date(2021, 10, 24), date(2021, 12, 25), date(2021, 12, 26)])
def test_weekends_are_not_worked(day: date) -> None:
    assert day.weekday() >= 5
    assert not is_working_day(day)


def test_a_substituted_saturday_is_worked_and_its_monday_is_not() -> None:
    # 2019: Monday 29/04 off, made up on Saturday 04/05 (the library carries both).
    assert not is_working_day(date(2019, 4, 29))
    assert is_working_day(date(2019, 5, 4))
    assert not is_working_day(date(2019, 5, 11))


def test_five_working_day_review_deadline_from_the_list_date() -> None:
    # Form 01 sent Wednesday 20/10/2021 → Form 02 due Wednesday 27/10/2021 (Thu, Fri, Mon, Tue, Wed).
    assert add_working_days(date(2021, 10, 20), 5) == date(2021, 10, 27)
    assert working_days_between(date(2021, 10, 20), date(2021, 10, 27)) == 5


def test_adding_working_days_across_tet_and_national_day() -> None:
    assert add_working_days(date(2021, 2, 9), 1) == date(2021, 2, 17)
    assert add_working_days(date(2021, 2, 17), -1) == date(2021, 2, 9)
    assert add_working_days(date(2021, 9, 1), 1) == date(2021, 9, 6)
    # Ten working days of a Form 04 received on Monday 30/08/2021: 31/08, 01/09, 06–10/09, 13–15/09.
    assert add_working_days(date(2021, 8, 30), 10) == date(2021, 9, 15)


def test_counting_rules_at_the_edges() -> None:
    friday, saturday, sunday, monday = date(2021, 10, 22), date(2021, 10, 23), date(2021, 10, 24), date(2021, 10, 25)
    assert add_working_days(friday, 1) == monday
    assert add_working_days(saturday, 1) == monday
    assert add_working_days(sunday, 0) == sunday
    assert add_working_days(sunday, -1) == friday
    assert add_working_days(monday, -1) == friday
    assert working_days_between(friday, friday) == 0
    assert working_days_between(friday, sunday) == 0
    assert working_days_between(friday, monday) == 1
    assert working_days_between(monday, friday) == -1
    assert working_days_between(sunday, friday) == -1
    # The whole of 2021: 261 weekdays, 11 of them holidays (01/01, 10–12/02, 15–16/02, 21/04, 30/04, 03/05, 02–03/09).
    assert working_days_between(date(2020, 12, 31), date(2021, 12, 31)) == 261 - 11


dates = st.dates(min_value=date(2018, 1, 1), max_value=date(2027, 12, 31))


@settings(max_examples=300, deadline=None)
@given(start=dates, n=st.integers(min_value=-80, max_value=80))
def test_add_and_between_are_inverse(start: date, n: int) -> None:
    end = add_working_days(start, n)
    assert working_days_between(start, end) == n
    if n:
        assert is_working_day(end)
        assert (end > start) == (n > 0)


@settings(max_examples=300, deadline=None)
@given(a=dates, b=dates)
def test_between_then_add_lands_on_any_working_day(a: date, b: date) -> None:
    n = working_days_between(a, b)
    assert (n > 0 and b > a) or (n < 0 and b < a) or n == 0
    if is_working_day(b) or a == b:
        assert add_working_days(a, n) == b


def test_programme_today_follows_disburse_today(app: Flask) -> None:
    with app.app_context():
        previous = app.config.get("DISBURSE_TODAY")
        try:
            app.config["DISBURSE_TODAY"] = "2021-10-20"
            assert programme_today() == date(2021, 10, 20)
            app.config["DISBURSE_TODAY"] = "20/10/2021"
            with pytest.raises(ValueError, match="ISO date"):
                programme_today()
            app.config["DISBURSE_TODAY"] = None
            assert programme_today() in {datetime.now(VIETNAM_TZ).date() + timedelta(days=d) for d in (-1, 0)}
        finally:
            app.config["DISBURSE_TODAY"] = previous


def test_programme_today_outside_an_app_is_the_date_in_vietnam() -> None:
    before = datetime.now(VIETNAM_TZ).date()
    assert programme_today() in {before, before + timedelta(days=1)}
