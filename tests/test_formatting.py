"""Money, numbers and dates as people read them, in a request (its language) and outside one (commands, workers:
Vietnamese)."""

from __future__ import annotations

import errno
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from babel.numbers import format_decimal
from flask_babel import force_locale
from hypothesis import given, settings
from hypothesis import strategies as st

from disburse import formatting
from disburse.formatting import dmy, file_size, number, os_reason, parse_vnd, percent, vnd


def test_outside_a_request_the_figures_are_vietnamese(app):
    with app.app_context():
        assert (vnd(2_100_000), number(1234567), percent(89.44), dmy(date(2021, 10, 2))) == (
            "2.100.000 ₫",
            "1.234.567",
            "89,4%",
            "02/10/2021",
        )


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)))
def test_a_moment_is_dated_on_vietnams_calendar_whatever_its_time_zone(moment):
    """Something paid at 06:00 in Hà Nội is 23:00 the day before in UTC: the page says the Vietnamese day."""
    hanoi = moment.astimezone(timezone(timedelta(hours=7)))
    assert dmy(moment) == dmy(hanoi) == f"{hanoi.day:02d}/{hanoi.month:02d}/{hanoi.year}"


def test_a_payment_made_early_in_the_morning_in_hanoi_is_dated_that_day():
    assert dmy(datetime(2026, 12, 4, 23, 19, tzinfo=UTC)) == "05/12/2026"
    assert dmy(date(2026, 12, 4)) == "04/12/2026"  # a day is a day


def test_in_an_english_request_the_figures_are_english(app):
    # force_locale, not the session's "locale": a request context pushed over an app context another test left
    # pushed shares its ``g``, where Flask-Babel keeps the locale it worked out there (this failed after other tests).
    with app.test_request_context("/", headers={"Accept-Language": "en"}), force_locale("en"):
        assert (vnd(2_100_000), number(1234567)) == ("VND 2,100,000", "1,234,567")


def test_a_message_in_both_languages_names_each_language(app):
    with app.app_context():
        assert (vnd(2_100_000, "vi"), vnd(2_100_000, "en"), vnd(None, "en")) == ("2.100.000 ₫", "VND 2,100,000", "—")


@settings(max_examples=400, deadline=None)
@given(
    value=st.one_of(st.integers(-(10**15), 10**15), st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)),
    digits=st.integers(0, 3),
    locale=st.sampled_from(["vi", "en"]),
)
def test_figures_are_written_exactly_as_babel_writes_them(app, value, digits, locale):
    """The fast formatter is Babel's ``format_decimal`` with the ``#,##0.0…`` pattern, figure for figure: grouping,
    decimal point, minus sign and half-even rounding, in both languages."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    with app.test_request_context("/"), force_locale(locale):  # as above
        assert number(value, digits) == format_decimal(value, format=pattern, locale=locale)
        if isinstance(value, int):
            expected = format_decimal(value, locale=locale)
            assert vnd(value) == (f"VND {expected}" if locale == "en" else f"{expected} ₫")


@settings(max_examples=300, deadline=None)
@given(amount=st.integers(min_value=0, max_value=10**15 - 1), locale=st.sampled_from(["vi", "en"]))
def test_every_sum_as_the_pages_show_it_reads_back_as_itself(app, amount, locale):
    """What a page shows (``vnd``, either language), and the bare digits, are read back as the same đồng."""
    with app.app_context():
        shown = vnd(amount, locale)
    assert parse_vnd(shown) == parse_vnd(str(amount)) == amount


@pytest.mark.parametrize(
    "typed",
    ["1.5", "1,5", "5.000,50", "1.000.000,00", "1.0.0.0.0.0.0", "12.3456", "1.800 000", "-5", "１２３", "₫", "", "1e6"],
)
def test_a_sum_that_is_not_whole_dong_in_groups_of_three_is_never_read_as_another(typed):
    """A decimal, a stray separator or a typo is refused, not read as a sum the person did not mean ("1.5" was 15 ₫,
    "5.000,50" 500.050 ₫)."""
    assert parse_vnd(typed) is None


@pytest.mark.parametrize(
    ("size", "vi", "en"),
    [
        (16 * 1024 * 1024, "16 MB", "16 MB"),
        (1024 * 1024 * 1024, "1.024 MB", "1,024 MB"),
        (int(1.96 * 1024 * 1024), "1,9 MB", "1.9 MB"),  # never more than it is: a limit rounded up would be passed
        (1_000_000, "976 kB", "976 kB"),  # under 1 MB: not "0 MB"
        (4096, "4 kB", "4 kB"),
        (300, "300 B", "300 B"),
    ],
)
def test_a_file_size_reads_as_people_count_it(size, vi, en):
    assert (file_size(size, locale="vi"), file_size(size, locale="en")) == (vi, en)


@pytest.mark.parametrize(
    ("error", "vietnamese"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file or directory"), "không có tệp hay thư mục này"),
        (PermissionError(errno.EACCES, "Permission denied"), "không có quyền"),
        (IsADirectoryError(errno.EISDIR, "Is a directory"), "đây là một thư mục"),
        (OSError(errno.ENOSPC, "No space left on device"), "ổ đĩa đã hết chỗ"),
    ],
)
def test_the_systems_refusal_is_said_in_vietnamese_and_in_its_own_english(error, vietnamese):
    assert os_reason(error) == (vietnamese, error.strerror)


def test_a_refusal_without_a_vietnamese_wording_is_given_in_the_systems_words():
    assert os_reason(OSError(errno.EIO, "Input/output error")) == ("Input/output error", "Input/output error")
    assert os_reason(OSError("no errno at all")) == ("no errno at all", "no errno at all")


def test_no_message_quotes_the_systems_english_by_itself():
    """Every message that gives an OSError's reason takes it from os_reason (strerror is English: a Vietnamese line
    said "Không đọc được tệp 'x': No such file or directory.")."""
    package = Path(formatting.__file__).parent
    quoting = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "formatting.py" and ".strerror" in path.read_text(encoding="utf-8")
    ]
    assert quoting == []
