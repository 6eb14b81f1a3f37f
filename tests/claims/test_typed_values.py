"""The rules for a value a person types, one per kind of value wherever it is typed or imported: a phone number
(Form 03, Form 04 at the desk and by the API, the person's page), and an SI code whose words fit where it came from
(a web form says what to type; a file also says how a spreadsheet loses leading zeros)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from disburse.claims.applications import _check_shapes
from disburse.claims.employer_forms import adjustment_errors
from disburse.claims.outcomes import PHONE_MESSAGE, RowResult, phone_digits, phone_error, si_code_error
from disburse.claims.person_details import input_errors
from disburse.reference.service import KnownBanks

#: Phones as people type them: digits in groups, with the separators people use, and now and then something else.
_PHONES = st.one_of(
    st.text(alphabet="0123456789 .-", max_size=16),
    st.from_regex(r"0[0-9]{2,3}[ .]?[0-9]{3,4}[ .]?[0-9]{3,4}", fullmatch=True),
    st.text(max_size=16),
)


def _form_03(phone: str) -> tuple[str, str] | None:
    result = RowResult(row=1, si_code="0100000001")
    adjustment_errors(result, {"si_code": "0100000001", "action": "correct", "phone": phone}, KnownBanks(frozenset()))
    wrong = [(e.message_vi, e.message_en) for e in result.errors if e.field == "phone"]
    return wrong[0] if wrong else None


def _form_04(phone: str) -> tuple[str, str] | None:
    errors: list = []
    _check_shapes({"phone": phone}, errors)
    wrong = [(e.message_vi, e.message_en) for e in errors if e.field == "phone" and e.code == "phone_format"]
    return wrong[0] if wrong else None


def _person_page(phone: str) -> tuple[str, str] | None:
    return input_errors(
        si_code="0100000001",
        national_id="001090000001",
        date_of_birth=date(1990, 1, 31),
        bank_code="",
        bank_account="",
        phone=phone,
    ).get("phone")


@given(_PHONES)
def test_every_form_takes_the_same_phones_and_says_the_same_words(phone):
    """Form 03, Form 04 and the person's page take and refuse the same phone numbers, with the same words."""
    if not phone.strip():
        return  # blank: optional on two forms, required on Form 04 (test_form_04_phone_left_blank_says_required)
    expected = phone_error(phone)
    assert _form_03(phone) == expected
    assert _form_04(phone) == expected
    assert _person_page(phone) == expected


def test_the_phone_rule_is_vietnamese_mobiles_and_landlines():
    taken = ("0912345678", "0912 345 678", "0912.345.678", "024 3883 1234", "(024) 3883-1234", "0283-822-1234")
    for phone in taken:
        assert phone_error(phone) is None, phone
    for refused in ("abc", "12345", "912345678", "091234567", "024388312345", "84912345678", "0912x45678", "+8491"):
        assert phone_error(refused) == PHONE_MESSAGE, refused
    # With Vietnam's country code, as people also write it: stored as at home.
    for abroad, home in (
        ("+84 912 345 678", "0912345678"),
        ("0084912345678", "0912345678"),
        ("+8424 3883 1234", "02438831234"),
    ):
        assert phone_error(abroad) is None and phone_digits(abroad) == home, abroad
    assert PHONE_MESSAGE[0].startswith("Số điện thoại gồm 10 hoặc 11 chữ số, bắt đầu bằng 0")
    assert PHONE_MESSAGE[1].startswith("The phone number has 10 or 11 digits starting with 0")


def test_form_04_phone_left_blank_says_required():
    errors: list = []
    _check_shapes({"phone": "  "}, errors)
    phone = [(e.code, e.message_vi, e.message_en) for e in errors if e.field == "phone"]
    assert phone == [("required", "Cần ghi số điện thoại.", "Phone is required.")]


@given(st.text(alphabet="0123456789", min_size=1, max_size=9) | st.text(min_size=1, max_size=12))
def test_si_code_words_fit_where_the_code_came_from(si_code):
    """One rule, two wordings: a web form's words say what to type; only a file's mention spreadsheets."""
    typed, from_file = RowResult(row=1, si_code=si_code), RowResult(row=1, si_code=si_code)
    assert si_code_error(typed, si_code, typed=True) == si_code_error(from_file, si_code)
    if not typed.errors:
        return
    (web,), (file,) = typed.errors, from_file.errors
    assert web.field == file.field == "si_code" and web.code == file.code == "si_code_format"
    if any(not "0" <= c <= "9" for c in si_code):  # which characters are not digits, wherever it came from
        assert web.message_vi == file.message_vi and "ký tự khác" in web.message_vi and "Excel" not in web.message_vi
        return
    assert web.message_vi.startswith("Mã số BHXH gồm 10 chữ số") and "Excel" not in web.message_vi
    assert web.message_en.startswith("The SI code has 10 digits") and "Excel" not in web.message_en
    short_of_digits = si_code.isascii() and si_code.isdigit() and len(si_code) < 10
    assert ("Excel" in file.message_vi and "Excel" in file.message_en) == short_of_digits
