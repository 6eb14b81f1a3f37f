"""A form behind a rate limit, past the limit: the same page again, the values typed kept, a message at the top
saying how long to wait (the limiter's reset time), status 429 and ``Retry-After``; nothing done with what was sent,
and an account number never written to the logs. Every HTML page behind a limit is such a form."""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from disburse.auth.limits import UNLIMITED_ENDPOINTS
from disburse.claims.models import ClaimEvent
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_user

_WAIT = {
    "vi": r"Bạn đã gửi quá nhiều lần trong thời gian ngắn, nên lần này chưa được xử lý\. Hãy đợi (\d+) giây rồi gửi "
    r"lại\.",
    "en": r"You have sent this too many times in a short while, so this one was not dealt with\. Wait (\d+) "
    r"seconds?, then send it again\.",
}


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _person_details(client, app, locale):
    """The people's bank-details page: what a person typed, and the count of offers (nothing may be written)."""
    if locale == "en":
        client.post("/language/en")
    employee = create_employee(date_of_birth=date(1990, 1, 31))
    create_claim("awaiting_payment_details", employee=employee)
    person = db.session.get(Employee, employee.id)
    data = {
        "si_code": person.si_code,
        "national_id": person.national_id,
        "date_of_birth": "31/01/1990",
        "bank_code": "BIDV",
        "bank_account": "21510001234567",
        "phone": "0912 345 678",
    }
    return "/people/payment-details", data, int(app.config["LIMIT_PERSON_DETAILS_PER_ADDRESS"].split()[0])


def _person_status(client, app, locale):
    """The person's status page: every look-up counts per address, found or not."""
    if locale == "en":
        client.post("/language/en")
    employee = create_employee(date_of_birth=date(1990, 1, 31))
    create_claim("approved", employee=employee)
    data = {"si_code": employee.si_code, "national_id": employee.national_id, "date_of_birth": "31/01/1990"}
    return "/people/status", data, int(app.config["LIMIT_PERSON_STATUS_PER_ADDRESS"].split()[0])


def _login(client, app, locale):
    if locale == "en":
        client.post("/language/en")
    data = {"email": "nobody@bhxh.example.vn", "password": "sai-mat-khau-roi"}
    return "/login", data, int(app.config["LIMIT_SIGN_IN_PER_ACCOUNT"].split()[0])


def _account(client, app, locale):
    sign_in(client, create_user("caseworker", password=PASSWORD), locale)
    data = {"current_password": "sai-mat-khau-roi", "new_password": "mat-khau-moi-dai", "confirm_password": "x"}
    return "/account", data, int(app.config["LIMIT_SIGN_IN_PER_ACCOUNT"].split()[0])


_KEPT = {
    "/people/payment-details": ("si_code", "bank_account", "phone"),
    "/people/status": ("si_code", "national_id"),
    "/login": ("email",),
    "/account": (),
}


@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize("page", [_person_details, _person_status, _login, _account])
@pytest.mark.usefixtures("paying_clock")  # the bank-details page takes details while the programme pays
def test_past_the_limit_the_form_comes_back_with_what_was_typed(client, app, db_session, caplog, page, locale):
    url, data, limit = page(client, app, locale)
    for _ in range(limit):
        assert client.post(url, data=data).status_code != 429
    offers = db.session.scalar(select(func.count()).select_from(ClaimEvent))
    caplog.set_level(logging.DEBUG)
    if url == "/people/payment-details":  # a date the form cannot read: shown as sent, not said to be missing
        data = {**data, "date_of_birth": "31-01-1990"}
    response = client.post(url, data=data)
    page_text = _text(response)
    assert response.status_code == 429
    waited = re.search(_WAIT[locale], page_text)
    assert waited is not None, page_text[:2000]
    seconds = int(waited.group(1))
    # A per-minute limit's reset: never more than the minute (it once said 61 seconds).
    assert 1 <= seconds <= 60 and response.headers["Retry-After"] == str(seconds)
    first_field = f'name="{next(iter(data))}"'
    assert page_text.index(waited.group(0)) < page_text.index(first_field)  # at the top, above the form
    for name in _KEPT[url]:
        assert re.search(rf'name="{name}"[^>]*value="{re.escape(data[name])}"', page_text), name
    assert 'value="sai-mat-khau-roi"' not in page_text  # a password is never sent back
    assert 'class="error-message"' not in page_text  # nothing was checked: no field is said to be wrong
    if url == "/people/payment-details":
        assert db.session.scalar(select(func.count()).select_from(ClaimEvent)) == offers
        assert data["bank_account"] not in caplog.text
    # Showing the page again is not another try: the next one is refused too, and the page comes back again.
    again = client.post(url, data=data)
    assert again.status_code == 429 and re.search(_WAIT[locale], _text(again))


def test_every_html_page_behind_a_rate_limit_gives_its_form_back(app):
    """A page behind a limit of its own is marked ``form_again_when_limited`` (the API answers JSON, its own way)."""
    limited = set()
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith("api.") or endpoint in UNLIMITED_ENDPOINTS:
            continue
        layer = view
        while layer is not None:
            if getattr(layer, "__wrapper-limiter-instance", None) is not None:
                limited.add(endpoint)
            layer = getattr(layer, "__wrapped__", None)
    assert limited == {"auth.login", "auth.account", "people.payment_details", "people.status"}
    for endpoint in limited:
        assert getattr(app.view_functions[endpoint], "_disburse_form_again_when_limited", False), endpoint


_EXPIRED = {
    "vi": "Biểu mẫu đã hết hạn nên lần gửi này chưa được xử lý.",
    "en": "The form had expired, so this send was not processed.",
}


@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize("page", [_person_details, _person_status, _login, _account])
@pytest.mark.usefixtures("paying_clock")  # the bank-details page takes details while the programme pays
def test_an_expired_form_comes_back_with_what_was_typed_and_a_fresh_token(
    client, app, db_session, monkeypatch, page, locale
):
    """A CSRF token that no longer holds (the browser's session ended while the page was open) gave a bare error
    page: whatever the person typed was lost. The same page comes back, values kept, nothing done, a fresh token in
    it with which the next send goes through."""
    url, data, _limit = page(client, app, locale)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    events = db.session.scalar(select(func.count()).select_from(ClaimEvent))
    response = client.post(url, data={**data, "csrf_token": "stale"})
    page_text = _text(response)
    assert response.status_code == 400
    assert _EXPIRED[locale] in page_text
    assert page_text.index(_EXPIRED[locale]) < page_text.index(f'name="{next(iter(data))}"')
    for name in _KEPT[url]:
        assert re.search(rf'name="{name}"[^>]*value="{re.escape(data[name])}"', page_text), name
    assert 'value="sai-mat-khau-roi"' not in page_text
    assert 'class="error-message"' not in page_text  # nothing was checked
    assert "mật khẩu không đúng" not in page_text and "password is not right" not in page_text
    assert db.session.scalar(select(func.count()).select_from(ClaimEvent)) == events
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page_text)
    assert token is not None
    again = client.post(url, data={**data, "csrf_token": token.group(1)})
    assert again.status_code != 400 or _EXPIRED[locale] not in _text(again)
