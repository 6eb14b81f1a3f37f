"""The Vietnamese working-day calendar and the programme clock.

A working day (ngày làm việc) is Monday to Friday, minus the public holidays and the substituted days off that the
``holidays`` library carries for Vietnam (country ``VN``: the official Tết breaks, e.g. 10–16 Feb 2021, and 2–3 Sep
2021), plus the Saturdays the government swaps in as working days to make up for a substituted day off (e.g.
Saturday 04/05/2019 for Monday 29/04/2019), which the library also carries. Holiday sets are built once per year.

Counting rules (both functions are exact inverses of each other, see :func:`working_days_between`):

* ``add_working_days(start, n)``: the n-th working day after ``start`` (``start`` itself is not counted), so
  ``add_working_days(Fri, 1)`` is the next Monday; a negative ``n`` counts backwards (the |n|-th working day before
  ``start``); ``n = 0`` returns ``start`` unchanged, even when it is not a working day.
* ``working_days_between(a, b)``: the working days in ``(a, b]`` when ``a ≤ b`` (0 when ``a == b``); when
  ``b < a`` it is negative: minus the working days in ``[b, a)``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

import holidays
from flask import current_app, has_app_context

#: Asia/Ho_Chi_Minh. Vietnam has kept UTC+7 without daylight saving since 1975, so a fixed offset is exact and needs
#: no tz database (Windows and slim containers have none).
VIETNAM_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=64)
def _year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(public holidays and substituted days off, weekend days that are working days) of one year."""
    calendar = holidays.country_holidays("VN", years=year)
    days_off = frozenset(day for day in calendar if day.year == year)
    weekend_workdays = frozenset(day for day in getattr(calendar, "weekend_workdays", ()) if day.year == year)
    return days_off, weekend_workdays


def holidays_in(year: int) -> frozenset[date]:
    """Vietnam's public holidays and substituted days off in ``year`` (weekend dates included)."""
    return _year(year)[0]


def is_working_day(day: date) -> bool:
    days_off, weekend_workdays = _year(day.year)
    if day.weekday() >= 5:
        return day in weekend_workdays
    return day not in days_off


def add_working_days(start: date, n: int) -> date:
    """The date ``n`` working days after ``start`` (``start`` not counted); before it when ``n`` is negative."""
    step = _ONE_DAY if n >= 0 else -_ONE_DAY
    day, remaining = start, abs(n)
    while remaining:
        day += step
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    """Working days in ``(a, b]``; when ``b`` is before ``a``, minus the working days in ``[b, a)``.

    So ``working_days_between(start, add_working_days(start, n)) == n`` for every start and n, and
    ``add_working_days(a, working_days_between(a, b)) == b`` whenever ``b`` is a working day (or ``b == a``).
    A deadline is overdue by ``working_days_between(due_on, today)`` working days when that is positive.
    """
    if b >= a:
        return sum(1 for offset in range(1, (b - a).days + 1) if is_working_day(a + timedelta(days=offset)))
    return -sum(1 for offset in range((a - b).days) if is_working_day(b + timedelta(days=offset)))


def programme_today() -> date:
    """The programme clock's "today": ``DISBURSE_TODAY`` when configured, else today's date in Vietnam."""
    if has_app_context():
        configured = current_app.config.get("DISBURSE_TODAY")
        if isinstance(configured, date):
            return configured
        if configured:
            try:
                return date.fromisoformat(str(configured))
            except ValueError:
                raise ValueError(
                    f"DISBURSE_TODAY must be an ISO date such as 2021-10-20 (got {configured!r})"
                ) from None
    return datetime.now(VIETNAM_TZ).date()
