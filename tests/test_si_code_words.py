"""What a Form 02 or 03 row (a file's, a typed one, the API's) is told about an SI code that is not 10 digits."""

from __future__ import annotations

import html

import pytest

from disburse.claims.outcomes import RowResult, si_code_error, si_code_words
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_user


@pytest.mark.parametrize("typed", [False, True])
def test_an_si_code_of_ten_characters_with_a_letter_is_told_which_character(typed):
    """The code "01O5A29570" was told "phải gồm đúng 10 chữ số (đang có 10 ký tự)": ten it has, which says nothing."""
    result = RowResult(row=1, si_code="01O5A29570")
    assert si_code_error(result, "01O5A29570", typed=typed)
    (error,) = result.errors
    assert error.code == "si_code_format"
    assert error.message_vi == "Mã số BHXH chỉ gồm 10 chữ số 0–9; mã này có ký tự khác: “O”, “A”. Chữ O có thể là số 0."
    assert error.message_en == (
        "An SI code is 10 digits 0–9 only; this one has other characters: “O”, “A”. The letter O may be the digit 0."
    )


@pytest.mark.parametrize(("si_code", "said"), [("012345678", "9 ký tự"), ("01234567891", "11 ký tự")])
def test_an_si_code_of_digits_only_is_told_its_length(si_code, said):
    result = RowResult(row=1, si_code=si_code)
    assert si_code_error(result, si_code)
    assert said in result.errors[0].message_vi and "ký tự khác" not in result.errors[0].message_vi


def test_a_code_of_one_character_is_told_so_in_the_singular():
    assert si_code_words("7", typed=True) == (
        "Mã số BHXH gồm 10 chữ số (đang có 1 ký tự).",
        "The SI code has 10 digits (this one has 1 character).",
    )
    assert si_code_words("0123456789") is None


@pytest.mark.usefixtures("paying_clock")  # the bank-details page checks what is typed while the programme pays
def test_every_page_where_one_si_code_is_typed_names_its_other_characters(client, db_session):
    """The worker's status and details pages and the desk's look-up said "gồm 10 chữ số" of "01O5A29570", which has
    ten characters: they now say which are not digits, as Form 03 and Form 04 do."""
    said = "mã này có ký tự khác: “O”, “A”. Chữ O có thể là số 0."
    facts = {"si_code": "01O5A29570", "national_id": "001088001234", "date_of_birth": "09/04/1988"}
    for url in ("/people/status", "/people/payment-details"):
        response = client.post(url, data=facts)
        assert response.status_code == 422 and said in html.unescape(response.get_data(as_text=True)), url
    sign_in(client, create_user("caseworker", district="017", password=PASSWORD))
    response = client.get("/caseworker/applications/new?si_code=01O5A29570")
    assert response.status_code == 422 and said in html.unescape(response.get_data(as_text=True))
