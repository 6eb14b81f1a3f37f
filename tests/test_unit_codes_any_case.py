"""A unit code typed in another case ("dn01000001" for DN01000001) finds the unit wherever a person types one: the
home page's look-up and the unit's page, the review queue's filter, Form 04 at the desk, the employer API, an
employer user's scope. A code the registry holds in two cases is never guessed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from disburse.auth.scopes import visible_unit
from disburse.auth.service import create_token
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.registry.models import unit_by_code
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_user


@pytest.fixture
def unit(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-12-01")
    return create_employer(unit_code="DN01000042", name="Công ty Chữ Hoa")


def test_the_lookup_takes_another_case_but_never_guesses_between_two(unit):
    assert unit_by_code("dn01000042") is unit and unit_by_code("Dn01000042") is unit
    upper, lower = create_employer(unit_code="AB12"), create_employer(unit_code="ab12")
    assert unit_by_code("AB12") is upper and unit_by_code("ab12") is lower  # exact first
    assert unit_by_code("Ab12") is None  # two units differ in case only: neither is guessed
    assert unit_by_code("dn0100004") is None
    assert visible_unit(create_user("caseworker", district="017"), "dn01000042") is unit


def test_pages_and_the_queue_take_the_code_in_another_case(client, unit):
    claim = create_claim("needs_review", employee=create_employee(employer_id=unit.id, district_code="017"))
    sign_in(client, create_user("caseworker", district="017", password=PASSWORD))
    found = client.get("/employers/?unit=dn01000042")
    assert found.status_code == 302 and found.headers["Location"].endswith("/employers/DN01000042")
    assert client.get("/employers/dn01000042").status_code == 200
    queue = client.get("/caseworker/queue?employer=dn01000042")
    assert queue.status_code == 200 and f"/caseworker/claims/{claim.id}" in queue.get_data(as_text=True)


def test_form_04_at_the_desk_counts_the_claim_under_the_unit_typed_in_lower_case(client, unit):
    person = create_employee(
        ui_status="stopped", ui_stopped_on=date(2021, 6, 30), unused_months=30, district_code="017", employer_id=None
    )
    sign_in(client, create_user("caseworker", district="017", password=PASSWORD))
    form = {
        "si_code": person.si_code,
        "national_id": person.national_id,
        "full_name": person.full_name,
        "date_of_birth": "01/01/1990",
        "phone": "0912345678",
        "address": "Số 5 ngõ 12, Đông Anh, Hà Nội",
        "status": "stopped",
        "unit_code": "dn01000042",
        "unused_months": "30",
        "payout": "cash",
    }
    assert client.post("/caseworker/applications/new", data=form).status_code == 302
    claim = db.session.scalar(select(Claim).where(Claim.employee_id == person.id))
    assert claim.employer_id == unit.id
    page = client.get(f"/caseworker/claims/{claim.id}").get_data(as_text=True)
    assert "không có trong dữ liệu" not in page  # the unit named is the claim's unit, not a stranger


def test_the_api_and_an_employer_users_scope_take_it_too(client, unit):
    admin = create_user("admin")
    employer_user = create_user("employer", employer_unit="dn01000042")
    assert employer_user.employer_id == unit.id
    headers = {"Authorization": f"Bearer {create_token(admin)}"}
    assert client.get("/api/v1/employers/dn01000042/progress", headers=headers).status_code == 200
