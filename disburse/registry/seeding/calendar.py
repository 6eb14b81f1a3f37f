"""The seed's calendar: NQ116's dates, and their shift for a programme moved in time (the demo's)."""

from __future__ import annotations

from datetime import date, timedelta

CUTOFF = date(2021, 9, 30)
STOP_WINDOW = (date(2020, 1, 1), date(2021, 9, 30))
#: The UI scheme started on 1 January 2009: nobody has more unused months than the months since then.
UI_START = date(2009, 1, 1)
REDUCTION_START = date(2021, 10, 1)
REDUCTION_MONTHS = 12


def day_strings(first: date, last: date, shift: int = 0) -> list[str]:
    return [(first + timedelta(days=k + shift)).isoformat() for k in range((last - first).days + 1)]


def shift_date(day: date, shift_days: int) -> date:
    """A date of the NQ116 calendar moved by ``shift_days`` (the demo moves the whole programme to today)."""
    return day + timedelta(days=shift_days)


def shift_month(first_of_month: date, shift_days: int) -> date:
    """A contribution month (its first day) moved with the calendar: the month that holds the moved day."""
    return shift_date(first_of_month, shift_days).replace(day=1)


def salary_fund_months(shift_days: int = 0) -> list[str]:
    """The twelve contribution months of the reduction, ``YYYY-MM`` (2021-10 … 2022-09 unshifted)."""
    start = shift_month(REDUCTION_START, shift_days)
    return [
        f"{start.year + (start.month - 1 + k) // 12}-{(start.month - 1 + k) % 12 + 1:02d}"
        for k in range(REDUCTION_MONTHS)
    ]
