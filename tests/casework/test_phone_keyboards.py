"""Every number a member of staff or a unit types on a phone gets the phone's keypad: an SI code, an ID, an account
number or a code of digits ``inputmode="numeric"`` (text fields: their leading zeros are kept), a phone number
``inputmode="tel"``; and the browser suggests none of its own (``autocomplete="off"``: the number is another
person's). Form 03's SI code, account and phone and the caseworker's account and phone pages showed a letter
keyboard, where the public /people/* pages had the keypad."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from disburse.extensions import db
from disburse.registry.models import Employee
from tests.casework.test_pages import DONG_ANH
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_user

pytestmark = pytest.mark.usefixtures("paying_clock")

#: A field's name (a Form 02 row's too: ``rows-0-bank_account``) → the keypad it needs.
KEYPADS = {
    "si_code": "numeric",
    "national_id": "numeric",
    "bank_account": "numeric",
    "district": "numeric",
    "phone": "tel",
}


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.forms: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.forms.append(dict(attrs))
        if tag == "input" and dict(attrs).get("type") not in ("hidden", "radio", "checkbox", "file", "submit"):
            self.inputs.append({**dict(attrs), "form_autocomplete": self.forms[-1].get("autocomplete")})


def _typed(html: str) -> dict[str, dict[str, str | None]]:
    """The page's text inputs whose name says they hold a number of :data:`KEYPADS`, by name."""
    parser = _Inputs()
    parser.feed(html)
    return {str(i["name"]): i for i in parser.inputs if re.sub(r"^rows-\d+-", "", str(i.get("name") or "")) in KEYPADS}


def _check(html: str, expected: set[str]) -> None:
    inputs = _typed(html)
    assert set(inputs) == expected
    for name, attrs in inputs.items():
        assert attrs.get("inputmode") == KEYPADS[re.sub(r"^rows-\d+-", "", name)], (name, attrs)
        assert "off" in (attrs.get("autocomplete"), attrs.get("form_autocomplete")), (name, attrs)


def test_the_caseworker_s_pages_give_the_keypad(client, db_session):
    sign_in(client, create_user("caseworker", district=DONG_ANH, password=PASSWORD))
    waiting = create_claim("awaiting_payment_details")
    person = db.session.get(Employee, waiting.employee_id)

    _check(client.get(f"/caseworker/claims/{waiting.id}/payment-details").get_data(as_text=True), {"bank_account"})
    _check(client.get(f"/caseworker/claims/{waiting.id}/phone").get_data(as_text=True), {"phone"})
    # The desk's Form 04: the look-up, then the form filled in from the registry.
    page = client.get(f"/caseworker/applications/new?si_code={person.si_code}").get_data(as_text=True)
    assert page.count('name="si_code"') == 2
    parser = _Inputs()
    parser.feed(page)
    codes = [i for i in parser.inputs if i.get("name") == "si_code"]
    assert [i.get("inputmode") for i in codes] == ["numeric", "numeric"]
    _check(page, {"si_code", "national_id", "phone", "bank_account"})


def test_a_supervisor_s_district_code_gets_the_keypad(client, db_session):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    for page in ("/caseworker/outreach", "/caseworker/cash-desk"):
        _check(client.get(page).get_data(as_text=True), {"district"})


def test_the_unit_s_forms_give_the_keypad(client, db_session, app, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-25")  # the review window: Forms 02 and 03 taken
    unit = create_employer()
    create_claim("listed", employee=create_employee(employer_id=unit.id))
    sign_in(client, create_user("employer", employer_unit=unit.unit_code, password=PASSWORD))
    _check(
        client.get(f"/employers/{unit.unit_code}/form-03").get_data(as_text=True), {"si_code", "bank_account", "phone"}
    )
    _check(client.get(f"/employers/{unit.unit_code}/form-02").get_data(as_text=True), {"rows-0-bank_account"})
