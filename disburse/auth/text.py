"""People's names and the other short texts an admin or an operator types about users (a token's name): one line,
composed, its spaces tidied, and no hidden character; and e-mails, compared and kept in one form (:func:`email_key`,
:func:`checked_email`).

A control or format character (Unicode categories Cc and Cf) cannot be seen yet changes what is seen: U+202E (right-to-
left override) before "oảB nằV" made a name read "Nguyễn Văn Bảo" in the users list and the audit log, and a zero-width
space makes two names that look the same differ. Such a text is refused, naming the characters by their code points.
Ordinary white space (a tab, a line break, a no-break space pasted from a spreadsheet) is not refused: any run of it
is one space, and none at the ends.

Where the pages' common free-text checks (``disburse.forms.free_text``) should take the same rule, see docs/security.md.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import gettext as _
from wtforms.validators import ValidationError

#: The hidden characters: controls and format characters (bidirectional overrides and isolates, zero-width spaces and
#: joiners, the byte order mark, soft hyphens…).
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf"})
#: Controls that are white space as people type it: tab, line feed, vertical tab, form feed, carriage return, NEL.
_SPACE_CONTROLS = frozenset("\t\n\x0b\x0c\r\x85")


def _hidden_in_text_class() -> str:
    """A regular expression's character class of what a free text (a note, a reason, several lines) may not hold:
    every control but tab, line feed and carriage return, and every format character (Cf: bidirectional overrides
    and isolates, zero-width spaces and joiners, the byte order mark, soft hyphens…). Written with ``\\uXXXX`` and
    ``\\UXXXXXXXX`` escapes, which Python's ``re`` and the Rust ``regex`` crate behind pydantic's ``pattern`` read
    alike. Cc and Cf lie in planes 0, 1 and 14 alone."""
    points = [
        point
        for point in (*range(0x20000), *range(0xE0000, 0xE1000))
        if unicodedata.category(chr(point)) in HIDDEN_CATEGORIES and chr(point) not in "\t\n\r"
    ]
    ranges: list[tuple[int, int]] = []
    for point in points:
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1] = (ranges[-1][0], point)
        else:
            ranges.append((point, point))

    def escaped(point: int) -> str:
        return f"\\u{point:04X}" if point <= 0xFFFF else f"\\U{point:08X}"

    return "[" + "".join(escaped(a) if a == b else f"{escaped(a)}-{escaped(b)}" for a, b in ranges) + "]"


#: What a free text may not hold (:func:`_hidden_in_text_class`), as a character class.
HIDDEN_IN_TEXT = _hidden_in_text_class()
#: A free text of none of them, for ``fullmatch`` (WTForms' ``Regexp`` matches from the start: ``\Z`` ends it) and
#: for JSON Schema's ``pattern`` (``^…$``).
NO_HIDDEN_TEXT = rf"[^{HIDDEN_IN_TEXT[1:-1]}]*\Z"
NO_HIDDEN_PATTERN = rf"^[^{HIDDEN_IN_TEXT[1:-1]}]*$"


def _is_space(character: str) -> bool:
    """Ordinary white space: a space separator (Zs: the space, a no-break space…), a line or paragraph separator, or a
    control that is a tab or a line break (:data:`_SPACE_CONTROLS`); not the file and record separators U+001C–U+001F,
    which Python's ``isspace`` counts."""
    category = unicodedata.category(character)
    return category in ("Zs", "Zl", "Zp") or character in _SPACE_CONTROLS


def tidy(value: str) -> str:
    """``value`` composed (NFC), every run of white space one space, none at the ends."""
    out: list[str] = []
    for character in unicodedata.normalize("NFC", value):
        if _is_space(character):
            if out and out[-1] != " ":
                out.append(" ")
        else:
            out.append(character)
    return "".join(out).strip()


def tidy_filter(value: Any) -> Any:
    """:func:`tidy` as a WTForms filter (a field's value that is not text passes as it is)."""
    return tidy(value) if isinstance(value, str) else value


def hidden_characters(value: str) -> list[str]:
    """The hidden characters in ``value`` (:data:`HIDDEN_CATEGORIES`) other than white space, as code points
    ("U+202E"), each once, in the order they first appear."""
    found: list[str] = []
    for character in value:
        if unicodedata.category(character) in HIDDEN_CATEGORIES and not _is_space(character):
            point = f"U+{ord(character):04X}"
            if point not in found:
                found.append(point)
    return found


def shown(value: str | None) -> str:
    """``value`` as a page shows it, every hidden character in it written as its code point in brackets ("Nguyễn
    [U+202E]oảB nằV"), so that a name kept before names were checked cannot pass for another."""
    if not value:
        return ""
    return "".join(
        f"[U+{ord(c):04X}]" if unicodedata.category(c) in HIDDEN_CATEGORIES and not _is_space(c) else c for c in value
    )


def hidden_words(value: str) -> tuple[str, str] | None:
    """Why ``value`` is refused, in (Vietnamese, English), or None when it holds no hidden character."""
    found = hidden_characters(value)
    if not found:
        return None
    points = ", ".join(found)
    return (
        f"Có ký tự ẩn không hợp lệ ({points}): ký tự điều khiển hoặc định dạng, như ký tự đảo chiều chữ, làm chữ hiện "
        "khác với nội dung thật. Hãy gõ lại bằng bàn phím.",
        f"It holds hidden characters ({points}): control or format characters, such as a right-to-left override, make "
        "the text show as something it is not. Type it again on the keyboard.",
    )


class NoHiddenCharacters:
    """A form field's check that its text holds no hidden character (:func:`hidden_characters`), said in the page's
    language with the characters' code points. White space is tidied by the field's filter (:func:`tidy_filter`)."""

    def __call__(self, form: Any, field: Any) -> None:
        value = field.data
        if isinstance(value, str) and (found := hidden_characters(value)):
            raise ValidationError(
                _(
                    "Có ký tự ẩn không hợp lệ (%(chars)s): ký tự điều khiển hoặc định dạng, như ký tự đảo chiều chữ, "
                    "làm chữ hiện khác với nội dung thật. Hãy gõ lại bằng bàn phím.",
                    chars=", ".join(found),
                )
            )


# ---------------------------------------------------------------------------------------------------------- e-mails


def email_key(value: str) -> str:
    """What an e-mail is looked up and compared by: compatibility-composed (NFKC: "ｕｎｉ" typed full-width on a
    Vietnamese or East Asian keyboard is "uni"), without spaces at its ends, in lower case. Every address is kept in its
    NFKC form (:func:`checked_email`; migration 0042 for those kept before), so this is the unique index's
    ``lower(email)``."""
    return unicodedata.normalize("NFKC", value).strip().lower()


def checked_email(value: str) -> tuple[str, tuple[str, str] | None]:
    """An e-mail as it is kept, and why it cannot be one, in (Vietnamese, English), or None: compatibility-composed
    (NFKC) and checked by the maintained ``email-validator`` package, without asking the DNS: an address that cannot
    receive mail is refused ("cb1@test.vn." ending with a dot, two dots in a row, a domain without a dot or a reserved
    one such as .local), and so is one with letters outside ASCII ("cb1@tést.vn"): few mail systems take them, and
    a typo of an address people know (a Vietnamese keyboard left in Telex). Kept as typed otherwise (its case)."""
    from email_validator import EmailNotValidError, validate_email

    typed = unicodedata.normalize("NFKC", value).strip()
    if not typed.isascii():
        odd = ", ".join(dict.fromkeys(f"“{c}”" for c in typed if not c.isascii()))
        return typed, (
            f"E-mail chỉ được có chữ cái không dấu, chữ số và các dấu . _ - + @ (có {odd}).",
            f"An e-mail may hold only letters without diacritics, digits and . _ - + @ (this one has {odd}).",
        )
    try:
        validate_email(typed, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return typed, (
            f"“{typed}” không phải là địa chỉ e-mail nhận được thư (ví dụ canbo@bhxh.gov.vn).",
            f"“{typed}” is not an address that can receive mail (e.g. canbo@bhxh.gov.vn): {exc}",
        )
    return typed, None
