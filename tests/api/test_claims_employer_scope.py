"""``GET /api/v1/claims?employer=``: a unit outside the caller's scope is a 404 ``not_found``, the same answer as a
unit that does not exist, as ``?district=`` answers it (it was a 200 with an empty list, which told that the unit
exists and read as "nothing to do there"). Every role: an employer's scope is its own unit. Real PostgreSQL, the real
route."""

from __future__ import annotations

from typing import Any

import pytest

from disburse.auth.service import create_token
from tests.factories import create_claim, create_employee, create_employer, create_user

NOT_FOUND = {"error": "not_found", "message": "Not found.", "fields": {}}


def _headers(user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(user)}", "Accept-Language": "en"}


def _claims(client: Any, user: Any, unit_code: str) -> tuple[int, Any]:
    answer = client.get(f"/api/v1/claims?employer={unit_code}&limit=200", headers=_headers(user))
    return answer.status_code, answer.get_json()


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        ("caseworker", {"district": "017"}),  # the unit is in Ba Đình, another district of Hà Nội
        ("supervisor", {"province": "79"}),  # Hồ Chí Minh City's supervisor, a Hà Nội unit
        ("employer", "own"),  # another unit than its own
    ],
)
def test_a_unit_outside_the_scope_is_a_404_as_an_unknown_one(client, db_session, role, scope):
    outside = create_employer(district_code="001")
    create_claim("needs_review", employee=create_employee(employer_id=outside.id))
    if scope == "own":
        scope = {"employer_unit": create_employer(district_code="001").unit_code}
    user = create_user(role, **scope)
    assert _claims(client, user, outside.unit_code) == (404, NOT_FOUND)
    assert _claims(client, user, "ZZ99999999") == (404, NOT_FOUND)  # no such unit: the same answer


def test_a_unit_in_scope_lists_its_claims(client, db_session):
    unit = create_employer(district_code="017")
    claim = create_claim("needs_review", employee=create_employee(employer_id=unit.id))
    create_claim("needs_review", employee=create_employee(employer_id=create_employer(district_code="017").id))
    for user in (
        create_user("caseworker", district="017"),
        create_user("supervisor", province="01"),
        create_user("admin"),
        create_user("employer", employer_unit=unit.unit_code),
    ):
        status, body = _claims(client, user, unit.unit_code)
        assert status == 200, body
        assert [row["id"] for row in body["claims"]] == [claim.id]
    # A unit code in another case is the same unit (codes are compared in capitals).
    status, body = _claims(client, create_user("admin"), unit.unit_code.lower())
    assert status == 200 and [row["id"] for row in body["claims"]] == [claim.id]
