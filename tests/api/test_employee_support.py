"""GET /api/v1/employees/<si_code>/support over a real bearer token, with scope checks."""

from __future__ import annotations

import pytest

from disburse.auth.service import create_token, create_user
from tests.factories import create_employee, create_employer


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def person(db_session):
    employer = create_employer(district_code="017")  # Đông Anh, Hà Nội
    return create_employee(employer_id=employer.id, unused_months=70, district_code="017")


def _token_for(role: str, **scope) -> str:
    user = create_user(f"{role}-{len(scope)}-{id(scope)}@example.vn", role, password=None, **scope)
    return create_token(user)


def test_no_token_is_401_json(client, person):
    response = client.get(f"/api/v1/employees/{person.si_code}/support")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_unknown_token_is_401(client, person):
    response = client.get(f"/api/v1/employees/{person.si_code}/support", headers=_auth("dsb_not-a-real-token"))
    assert response.status_code == 401


def test_caseworker_of_the_district_sees_group_amount_and_no_claim(client, person):
    token = _token_for("caseworker", district="017")
    response = client.get(f"/api/v1/employees/{person.si_code}/support", headers=_auth(token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["group"] == "A" and body["eligible"] is True
    assert body["unused_months"] == 70 and body["amount_vnd"] == 2_400_000
    assert body["claim"] is None and body["payment"] is None
    assert "scope" not in body and "employer_id" not in body


@pytest.mark.parametrize(
    ("role", "scope", "status"),
    [
        ("caseworker", {"district": "001"}, 404),  # Ba Đình: another district
        ("supervisor", {"province": "79"}, 404),  # Hồ Chí Minh City
        ("supervisor", {"province": "01"}, 200),  # Hà Nội
        ("supervisor", {}, 200),  # national
        ("admin", {}, 200),
    ],
)
def test_scope_is_enforced(client, person, role, scope, status):
    token = _token_for(role, **scope)
    response = client.get(f"/api/v1/employees/{person.si_code}/support", headers=_auth(token))
    assert response.status_code == status
    if status == 404:  # outside the scope answers exactly as an unknown SI code does
        unknown = client.get("/api/v1/employees/9999999999/support", headers=_auth(token))
        assert (unknown.status_code, unknown.get_json()) == (404, response.get_json())


def test_employer_sees_only_its_own_people(client, person):
    own = _token_for("employer", employer_unit=person.employer.unit_code)
    other_unit = create_employer()
    other = _token_for("employer", employer_unit=other_unit.unit_code)
    assert client.get(f"/api/v1/employees/{person.si_code}/support", headers=_auth(own)).status_code == 200
    assert client.get(f"/api/v1/employees/{person.si_code}/support", headers=_auth(other)).status_code == 404


def test_unknown_si_code_is_404_and_malformed_is_422_with_the_field(client, person):
    token = _token_for("admin")
    assert client.get("/api/v1/employees/9999999999/support", headers=_auth(token)).status_code == 404
    response = client.get("/api/v1/employees/12345/support", headers={**_auth(token), "Accept-Language": "en"})
    assert response.status_code == 422
    # The words of the typed forms (si_code_error): a code of digits alone is told its length.
    assert response.get_json()["fields"]["si_code"] == "The SI code has 10 digits (this one has 5 characters)."
    # Ten Arabic-Indic digits: ten characters, none of them 0–9 (it read "10 digits … has 10 characters").
    arabic = client.get("/api/v1/employees/٠١٣٧٥٩٧٩٠٢/support", headers={**_auth(token), "Accept-Language": "en"})
    assert arabic.status_code == 422 and "digits 0–9" in arabic.get_json()["fields"]["si_code"]


def test_an_si_code_with_letters_is_told_which_characters_as_the_forms_tell_it(client, person):
    """The code "01O5A29570" has its 10 characters: it was told "10 digits 0–9 (this one has 10 characters)", which
    names nothing; the web forms (and Form 04 by the API) name the letters, and say that the letter O may be a 0."""
    token = _token_for("admin")
    said = {}
    for language in ("vi", "en"):
        response = client.get(
            "/api/v1/employees/01O5A29570/support", headers={**_auth(token), "Accept-Language": language}
        )
        assert response.status_code == 422
        said[language] = response.get_json()["fields"]["si_code"]
    assert said["vi"] == "Mã số BHXH chỉ gồm 10 chữ số 0–9; mã này có ký tự khác: “O”, “A”. Chữ O có thể là số 0."
    assert said["en"] == (
        "An SI code is 10 digits 0–9 only; this one has other characters: “O”, “A”. The letter O may be the digit 0."
    )
    # The same words as the desk's Form 04 gives the code (applications.validate, si_code_error typed).
    form = client.post(
        "/api/v1/applications", json={"si_code": "01O5A29570"}, headers={**_auth(token), "Accept-Language": "en"}
    )
    assert form.get_json()["fields"]["si_code"] == said["en"]


def test_unknown_program_is_a_clear_404(client, person):
    token = _token_for("admin")
    response = client.get(f"/api/v1/employees/{person.si_code}/support?program=NOPE", headers=_auth(token))
    assert response.status_code == 404
    assert response.get_json()["error"] == "program_not_found"


def test_inactive_users_token_stops_working(client, person, db_session):
    user = create_user("gone@example.vn", "admin")
    token = create_token(user)
    assert client.get(f"/api/v1/employees/{person.si_code}/support", headers=_auth(token)).status_code == 200
    user.active = False
    db_session.flush()
    assert client.get(f"/api/v1/employees/{person.si_code}/support", headers=_auth(token)).status_code == 401
