"""The one parser of days people write (formatting.parse_day: registry import messages, Form 04, the API, the web
forms): any day from 1900 to 2100 written dd/mm/yyyy (one-digit day or month too) or YYYY-MM-DD comes back as that
day; anything else is refused with a message in both languages, and nothing crashes."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from disburse.formatting import BadDay, parse_day

DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


def _writings(day: date) -> set[str]:
    """Every way the parser takes to write ``day``."""
    return {
        day.isoformat(),
        *(
            f"{d}/{m}/{day.year}"
            for d in {f"{day.day:02d}", str(day.day)}
            for m in {f"{day.month:02d}", str(day.month)}
        ),
    }


@given(day=DAYS, data=st.data(), spaces=st.tuples(st.sampled_from(["", " ", "\t"]), st.sampled_from(["", "  "])))
def test_any_day_written_either_way_comes_back(day, data, spaces):
    written = data.draw(st.sampled_from(sorted(_writings(day))))
    assert parse_day(spaces[0] + written + spaces[1]) == day


_PIECES = st.text(alphabet="0123456789/-. ３١", max_size=12)


@given(text=st.one_of(_PIECES, st.text(max_size=20), DAYS.map(lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}")))
def test_anything_else_is_refused_with_a_message_and_nothing_crashes(text):
    try:
        day = parse_day(text)
    except BadDay as refused:
        assert refused.vi and refused.en and refused.vi != refused.en
    else:
        assert text.strip() in _writings(day) and date(1900, 1, 1) <= day <= date(2100, 12, 31)


@pytest.mark.parametrize(
    ("text", "vi", "en"),
    [
        ("05/31/1990", "tháng trước ngày", "month first"),
        ("31/05/90", "năm hai chữ số", "two-digit year"),
        ("31/02/1990", "không có trong lịch", "not in the calendar"),
        ("1990-02-30", "không có trong lịch", "not in the calendar"),
        ("31/05/2101", "từ 1900 đến 2100", "from 1900 to 2100"),
        ("31-05-1990", "dd/mm/yyyy", "dd/mm/yyyy"),
        ("", "dd/mm/yyyy", "dd/mm/yyyy"),
    ],
)
def test_each_refusal_says_why(text, vi, en):
    with pytest.raises(BadDay) as refused:
        parse_day(text)
    assert vi in refused.value.vi and en in refused.value.en
