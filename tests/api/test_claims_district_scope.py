"""``GET /api/v1/claims?district=``: a district outside the caller's scope is a 404 ``not_found``, the same answer as
a district that does not exist, as ``GET /api/v1/progress?district=`` and ``POST /api/v1/claims/assign-next`` answer it
(it was a 200 with an empty list). Real PostgreSQL, the real routes."""

from __future__ import annotations

from typing import Any

import pytest

from disburse.auth.service import create_token
from tests.factories import create_claim, create_employee, create_employer, create_user


def _headers(user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(user)}", "Accept-Language": "en"}


def _three(client: Any, user: Any, district: str) -> list[tuple[int, Any]]:
    """The queue, the area's progress and assign-next for ``district``: (status, body) each."""
    headers = _headers(user)
    answers = [
        client.get(f"/api/v1/claims?district={district}", headers=headers),
        client.get(f"/api/v1/progress?district={district}", headers=headers),
        client.post("/api/v1/claims/assign-next", json={"count": 1, "district": district}, headers=headers),
    ]
    return [(answer.status_code, answer.get_json()) for answer in answers]


@pytest.mark.parametrize(
    ("role", "scope", "outside"),
    [
        ("caseworker", {"district": "017"}, "001"),  # Ba Đình: another district of Hà Nội
        ("supervisor", {"province": "79"}, "001"),  # Hồ Chí Minh City's supervisor, a Hà Nội district
    ],
)
def test_a_district_outside_the_scope_is_a_404_as_an_unknown_one(client, db_session, role, scope, outside):
    create_claim("needs_review", employee=create_employee(employer_id=create_employer(district_code=outside).id))
    user = create_user(role, **scope)
    answered = _three(client, user, outside)
    unknown = _three(client, user, "999")
    not_found = {"error": "not_found", "message": "Not found.", "fields": {}}
    assert answered == unknown == [(404, not_found)] * 3


def test_a_district_in_scope_and_admins_see_its_queue(client, db_session):
    claim = create_claim("needs_review", employee=create_employee(employer_id=create_employer(district_code="017").id))
    for user in (
        create_user("caseworker", district="017"),
        create_user("supervisor", province="01"),
        create_user("admin"),
    ):
        answer = client.get("/api/v1/claims?district=017&state=needs_review&limit=200", headers=_headers(user))
        assert answer.status_code == 200
        assert claim.id in [row["id"] for row in answer.get_json()["claims"]]
    admin = create_user("admin")
    assert client.get("/api/v1/claims?district=999", headers=_headers(admin)).status_code == 404


def test_an_employer_filters_its_own_units_claims_by_district(client, db_session):
    """An employer's scope is its unit, not a district: the filter keeps the unit's claims handled there."""
    unit = create_employer(district_code="017")
    claim = create_claim("listed", employee=create_employee(employer_id=unit.id))
    employer = create_user("employer", employer_unit=unit.unit_code)
    here = client.get("/api/v1/claims?district=017", headers=_headers(employer))
    assert here.status_code == 200 and [row["id"] for row in here.get_json()["claims"]] == [claim.id]
    elsewhere = client.get("/api/v1/claims?district=001", headers=_headers(employer))
    assert elsewhere.status_code == 200 and elsewhere.get_json()["claims"] == []
