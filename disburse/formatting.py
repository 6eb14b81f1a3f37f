"""How numbers, money and dates look to people: "2.100.000 ₫" and dd/mm/yyyy in Vietnamese, "VND 2,100,000" in
English (docs/glossary.md, "Message style"); and how names are put in order, the Vietnamese way."""

from __future__ import annotations

import errno
import json
import unicodedata
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache
from typing import Any

from babel.numbers import get_decimal_symbol, get_group_symbol, get_minus_sign_symbol
from flask import Flask, g, has_request_context
from flask_babel import get_locale

from disburse.programs.calendar import VIETNAM_TZ


def _locale() -> str:
    if not has_request_context():  # commands and workers: Vietnamese, the programme's language
        return "vi"
    # Flask-Babel keeps the request's locale on g._flask_babel once chosen (force_locale changes it there too);
    # reading it there, and its name once per locale object, saves its lookup on each of a page's hundreds of
    # figures.
    chosen = getattr(g.get("_flask_babel"), "babel_locale", None) or get_locale()
    named = g.get("figures_locale")
    if named is None or named[0] is not chosen:
        named = g.figures_locale = (chosen, str(chosen) if chosen else "vi")
    return named[1]


def say(vi: str, en: str) -> str:
    """A message the services give in both languages, in the page's language (Vietnamese outside a request)."""
    return en if _locale() == "en" else vi


@lru_cache(maxsize=8)
def _symbols(locale: str) -> dict[int, str]:
    """Python's own grouping (``,``), decimal point and minus as the locale writes them (Babel's CLDR data)."""
    return str.maketrans(
        {",": get_group_symbol(locale), ".": get_decimal_symbol(locale), "-": get_minus_sign_symbol(locale)}
    )


def _grouped(value: float | int, digits: int, locale: str) -> str:
    """``value`` with thousands grouped and ``digits`` decimals, exactly as Babel's ``format_decimal`` with the
    pattern ``#,##0.0…`` writes it (half-even rounding of the decimal the float prints as), at a tenth of its cost: a
    national dashboard page writes some 400 figures. Held to Babel by tests/test_formatting.py."""
    exact = value if isinstance(value, int) else Decimal(str(value))
    return format(exact, f",.{digits}f" if digits or not isinstance(value, int) else ",").translate(_symbols(locale))


def vnd(amount: int | None, locale: str | None = None) -> str:
    """The amount as people read it: in the request's language, or in ``locale`` ('vi', 'en') when given (a
    command's message in both languages)."""
    if amount is None:
        return "—"
    locale = locale or _locale()
    digits = _grouped(amount, 0, locale)
    return f"VND {digits}" if locale == "en" else f"{digits} ₫"


def number(value: float | int | None, digits: int = 0, locale: str | None = None) -> str:
    """``value`` grouped in the request's language, or in ``locale`` (a message given in both languages)."""
    if value is None:
        return "—"
    return _grouped(value, digits, locale or _locale())


def signed(value: int, money: bool = False) -> str:
    """A change as people read it, in the request's language: "+1.234", "−3" (a minus sign, not a hyphen), "0"; with
    ``money`` a sum of đồng ("+2.100.000 ₫", "−VND 1,800,000" reads worse than "VND −1,800,000": the sign goes on the
    digits)."""
    sign = "+" if value > 0 else "\u2212" if value < 0 else ""
    if not money:
        return sign + number(abs(value))
    shown = vnd(abs(value))
    return shown.replace("VND ", "VND " + sign) if shown.startswith("VND ") else sign + shown


def counted(value: int, singular: str, plural: str | None = None) -> str:
    """``value`` in English with the noun that agrees with it: "1 order", "2 orders", "1,000 people" (``plural``
    when it is not ``singular`` + "s"). A command's message said "1 orders" and "1 recoveries"."""
    return f"{number(value, locale='en')} {singular if value == 1 else plural or singular + 's'}"


def file_size(size: int, locale: str | None = None) -> str:
    """A file's size (or a limit of one) as people read it, never more than it is: "16 MB", "1,5 MB", "977 kB",
    "300 B" (1 MB = 1,048,576 bytes, as Windows counts)."""
    if size >= 1 << 20:
        tenths = size * 10 // (1 << 20)
        return f"{number(tenths // 10 if tenths % 10 == 0 else tenths / 10, tenths % 10 and 1, locale)} MB"
    if size >= 1024:
        return f"{number(size // 1024, 0, locale)} kB"
    return f"{number(size, 0, locale)} B"


def tenths_down(value: float | None) -> float | None:
    """A percentage cut to one decimal, never rounded up: the one rule for every completion figure shown or exported
    (pages, charts, spreadsheets, progress bars). Rounded to the nearest tenth, 9,996 paid of 10,000 would read
    "100,0%" with four people unpaid, and a district at 79,96 % would read as its 80 % target. Cut through the
    decimal the float prints as: a ratio that is a tenth exactly (100 × 573 / 1000) stays that tenth."""
    if value is None:
        return None
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_FLOOR))


def percent(value: float | None) -> str:
    """A percentage with one decimal, rounded down (:func:`tenths_down`): "99,9%" until all are done."""
    return "—" if value is None else number(tenths_down(value), 1) + "%"


def moment(value: datetime | None) -> str:
    """A moment as people read it: dd/mm/yyyy HH:MM:SS, Vietnam's time."""
    return value.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M:%S") if value else "—"


def dmy(value: date | datetime | None) -> str:
    """A day as people read it: dd/mm/yyyy; a moment (a ``paid_at``, a ``created_at``) on Vietnam's calendar, so that
    something done at 06:00 in Hà Nội (23:00 the day before in UTC) is dated the day it was done there."""
    if value is None:
        return "—"
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(VIETNAM_TZ)
    return value.strftime("%d/%m/%Y")


#: The separators a sum of đồng may be grouped with: dots (Vietnamese), commas (English), spaces.
_GROUP_MARKS = ".,\u0020\u00a0\u202f"


def parse_vnd(text: str) -> int | None:
    """A sum in whole đồng as people write it: ``1800000``, ``1.800.000``, ``1,800,000`` or ``1 800 000``, with or
    without ``₫``, ``đ`` or ``VND``; None for anything else. The groups are of three digits with one separator
    throughout, so that "1.5", "1,5", "5.000,50" or "1.0.0.0" (a decimal, or a typo) are never read as another sum
    of đồng."""
    words = text.strip().lower().removeprefix("vnd").removesuffix("vnd").removesuffix("₫").removesuffix("đ").strip()
    separators = {mark for mark in words if mark in _GROUP_MARKS}
    groups = words.split(separators.pop()) if len(separators) == 1 else [words] if not separators else []
    whole = (
        bool(groups)
        and all(group.isascii() and group.isdigit() for group in groups)
        and (len(groups) == 1 or (1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])))
    )
    digits = "".join(groups)
    return int(digits) if whole and len(digits) <= 15 else None


class BadDay(ValueError):
    """A text that is not a day :func:`parse_day` takes; ``vi`` and ``en`` say why and how to write it."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(f"{vi} / {en}")
        self.vi = vi
        self.en = en


#: The years a day written by people may have (the registry's, Form 04's and the API's rule).
FIRST_DAY_YEAR, LAST_DAY_YEAR = 1900, 2100
_HOW_VI = "hãy ghi theo dạng ngày/tháng/năm dd/mm/yyyy (ví dụ 31/01/1990) hoặc YYYY-MM-DD (ví dụ 1990-01-31)"
_HOW_EN = "write it as day/month/year dd/mm/yyyy (e.g. 31/01/1990) or YYYY-MM-DD (e.g. 1990-01-31)"


def _digits(parts: list[str], widths: tuple[tuple[int, int], ...]) -> bool:
    return len(parts) == len(widths) and all(
        low <= len(part) <= high and part.isascii() and part.isdigit()
        for part, (low, high) in zip(parts, widths, strict=True)
    )


def parse_day(text: str, first_year: int = FIRST_DAY_YEAR, last_year: int = LAST_DAY_YEAR) -> date:
    """A day as people write it here, dd/mm/yyyy (the day and month may have one digit: 1/5/1990), or as ISO
    YYYY-MM-DD (what programs write; a date cell of a workbook is read so). Anything else raises :class:`BadDay`,
    which says why in both languages: a year of two digits is ambiguous (1990 or 2090?), 05/31/1990 is month first
    (31 is no month), 31/02/1990 is not in the calendar. The registry import checks the same in SQL
    (disburse/registry/imports/check.py), held to this by tests."""
    value = text.strip()
    dmy_parts, iso_parts = value.split("/"), value.split("-")
    if _digits(dmy_parts, ((1, 2), (1, 2), (4, 4))):
        day, month, year = (int(part) for part in dmy_parts)
    elif _digits(iso_parts, ((4, 4), (2, 2), (2, 2))):
        year, month, day = (int(part) for part in iso_parts)
    elif _digits(dmy_parts, ((1, 2), (1, 2), (2, 2))):
        raise BadDay(
            f"Ngày «{value}» có năm hai chữ số, không rõ là năm nào; hãy ghi năm đủ bốn chữ số (ví dụ 31/01/1990).",
            f"The date '{value}' has a two-digit year, which is ambiguous; write the year in four digits "
            "(e.g. 31/01/1990).",
        )
    else:
        raise BadDay(f"«{value}» không phải là ngày; {_HOW_VI}.", f"'{value}' is not a date; {_HOW_EN}.")
    if len(dmy_parts) == 3 and month > 12 and 1 <= day <= 12:
        raise BadDay(
            f"Ngày «{value}» ghi tháng trước ngày ({month} không phải là tháng); {_HOW_VI}.",
            f"The date '{value}' puts the month first ({month} is not a month); {_HOW_EN}.",
        )
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise BadDay(
            f"Ngày «{value}» không có trong lịch; {_HOW_VI}.", f"The date '{value}' is not in the calendar; {_HOW_EN}."
        ) from None
    if not first_year <= parsed.year <= last_year:
        raise BadDay(
            f"Năm của ngày «{value}» phải từ {first_year} đến {last_year}.",
            f"The year of '{value}' must be from {first_year} to {last_year}.",
        )
    return parsed


# ------------------------------------------------------------------------------------------ Vietnamese order

#: The Vietnamese alphabet (a ă â b c d đ e ê … ư v x y), with the Latin letters it lacks (f j w z) where Latin puts
#: them. Each letter is its base and its letter-making mark (breve, circumflex, horn), as NFD writes it.
_ALPHABET = [
    *("a", "a\u0306", "a\u0302", "b", "c", "d", "đ", "e", "e\u0302", "f", "g", "h", "i", "j", "k", "l", "m", "n"),
    *("o", "o\u0302", "o\u031b", "p", "q", "r", "s", "t", "u", "u\u031b", "v", "w", "x", "y", "z"),
]
_LETTER_RANK = {letter: rank for rank, letter in enumerate(_ALPHABET)}
_LETTER_MARKS = frozenset("\u0306\u0302\u031b")
#: How many word keys :func:`vietnamese_key` remembers (a few MB at most).
WORD_KEYS = 20_000
#: The tones in dictionary order: level (none), huyền, hỏi, ngã, sắc, nặng (as Unicode CLDR's Vietnamese collation).
_TONE_RANK = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def _letters(word: str) -> list[tuple[str, int, bool]]:
    """The word's letters as (letter with its letter-making mark, tone rank, upper case)."""
    letters: list[tuple[str, int, bool]] = []
    for char in unicodedata.normalize("NFD", word):
        if unicodedata.combining(char) and letters:
            base, tone, upper = letters[-1]
            if char in _LETTER_MARKS:
                letters[-1] = (base + char, tone, upper)
            else:
                letters[-1] = (base, _TONE_RANK.get(char, 6), upper)
        else:
            letters.append((char.lower(), 0, char != char.lower()))
    return letters


@lru_cache(maxsize=WORD_KEYS)
def vietnamese_key(text: str) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...], tuple[bool, ...]]:
    """A sort key for Vietnamese text: letters first (ă after a, đ after d, ư after u; other characters before the
    letters, by code point), then tones (none, huyền, hỏi, ngã, sắc, nặng), then lower case before upper case.

    Remembered per text (names are made of a few thousand words: a unit's list of 2,682 people is put in order in
    a few milliseconds instead of some 100 ms; the keys are immutable tuples)."""
    letters = _letters(text)
    primary = tuple(
        (1, _LETTER_RANK[letter]) if letter in _LETTER_RANK else (0, ord(letter[0])) for letter, _, _ in letters
    )
    return primary, tuple(tone for _, tone, _ in letters), tuple(upper for _, _, upper in letters)


def _vietnamese_letters_for_sql() -> tuple[str, str, str]:
    """:func:`vietnamese_key` for a database, as three strings for SQL's ``translate()``: every letter of the
    alphabet with each tone it can take, in both cases, as one (composed) character; each letter's rank in the
    alphabet as a private-use character (after every other character, as the key puts letters after the rest); its
    tone's rank as a digit. Sorted byte by byte (``COLLATE "C"``), the first two translations order text as the key's
    letters and tones do, with no ICU collation (the embedded PostgreSQL is built without ICU)."""
    letters, ranks, tones = [], [], []
    for rank, letter in enumerate(_ALPHABET):
        for mark, tone in (("", 0), *_TONE_RANK.items()):
            for case in (str.lower, str.upper):
                char = unicodedata.normalize("NFC", case(letter + mark))
                if len(char) == 1 and char not in letters:
                    letters.append(char)
                    ranks.append(chr(0xE000 + rank))
                    tones.append(str(tone))
    return "".join(letters), "".join(ranks), "".join(tones)


#: (letters, their ranks, their tones): see :func:`_vietnamese_letters_for_sql`.
VIETNAMESE_SQL_TRANSLATIONS = _vietnamese_letters_for_sql()


def vietnamese_name_key(full_name: str) -> tuple[object, ...]:
    """A person's name in list order, as Vietnamese lists are sorted: by the given name (the last word), then the
    family name (the first word), then the middle name(s), each in Vietnamese letter order."""
    words = full_name.split()
    if not words:
        return ((), (), ())
    given, family, middle = words[-1], words[0] if len(words) > 1 else "", " ".join(words[1:-1])
    return vietnamese_key(given), vietnamese_key(family), vietnamese_key(middle)


def composed(text: str) -> str:
    """``text`` in Unicode's composed form (NFC), as the system stores and compares text: typed with a Vietnamese
    keyboard set to "Unicode tổ hợp", or saved by such a spreadsheet, "ế" is e + two combining marks, which looks
    the same and compares unequal. Text already composed (nearly all of it) is returned as it is, quickly."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def readable_json(value: Any) -> str:
    """A record's data as people can read it: JSON with its Vietnamese letters as they are (no ``\\u0110``
    escapes), keys in order. The page escapes it like any text."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def register_filters(app: Flask) -> None:
    app.jinja_env.filters.update(
        vnd=vnd,
        number=number,
        file_size=file_size,
        percent=percent,
        signed=signed,
        tenths_down=tenths_down,
        dmy=dmy,
        moment=moment,
        readable_json=readable_json,
    )


#: What the operating system's commonest refusals of a file or a port mean, in Vietnamese (its own words, which
#: ``strerror`` gives, are English whatever the message around them).
_OS_REASONS_VI = {
    errno.ENOENT: "không có tệp hay thư mục này",
    errno.EACCES: "không có quyền",
    errno.EPERM: "không được phép",
    errno.EISDIR: "đây là một thư mục",
    errno.ENOTDIR: "một phần của đường dẫn không phải thư mục",
    errno.ENOSPC: "ổ đĩa đã hết chỗ",
    errno.EROFS: "ổ đĩa chỉ cho đọc",
    errno.EEXIST: "đã có tệp này",
    errno.ENAMETOOLONG: "tên tệp quá dài",
    errno.EADDRNOTAVAIL: "máy này không có địa chỉ đó",
    errno.EADDRINUSE: "cổng đang được dùng",
}


def os_reason(exc: OSError) -> tuple[str, str]:
    """Why the operating system refused, as (Vietnamese, English): "không có tệp hay thư mục này" / "No such file or
    directory". A refusal without a Vietnamese wording here is given in the system's own words in both."""
    english = exc.strerror or str(exc)
    return _OS_REASONS_VI.get(exc.errno or -1, english), english
