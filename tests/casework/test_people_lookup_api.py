"""POST /api/v1/people/lookup (disburse/casework/api.py), the "find a person" page's list as JSON, over real requests
with tokens: one row per code in the order asked, "not found" within the caller's scope as for an unknown code; the
counts; the employer's 403; bad lists refused naming each code in both languages, nothing looked up or recorded; an
Idempotency-Key's retry answered again without a second look-up."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from disburse.auth.models import AuditLog
from disburse.auth.service import create_token
from disburse.claims.states import ClaimState
from disburse.extensions import db
from tests.factories import create_claim, create_employee, create_employer, create_payment, create_user

pytestmark = pytest.mark.usefixtures("paying_clock")

URL = "/api/v1/people/lookup"
DONG_ANH, QUAN_1 = "017", "760"


def _auth(user: Any, locale: str = "vi") -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(user)}", "Accept-Language": locale}


@pytest.fixture
def world(db_session):
    unit = create_employer(name="Công ty Dệt May Đông Anh", district_code=DONG_ANH)
    paid = create_employee(
        full_name="Đào Mai Anh",
        employer_id=unit.id,
        si_code="0100123456",
        national_id="001190012345",
        date_of_birth=date(1990, 3, 7),
    )
    claim = create_claim(ClaimState.PAID, employee=paid)
    create_payment(claim, state="paid")
    create_employee(full_name="Trần Văn Bình", employer_id=unit.id, si_code="0100123457", national_id="001190012346")
    far_unit = create_employer(district_code=QUAN_1)
    create_employee(employer_id=far_unit.id, district_code=QUAN_1, si_code="7900000001")
    db.session.commit()
    return {"unit": unit, "claim": claim}


def _audits() -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == "people.bulk_lookup")))


def test_one_row_per_code_in_the_order_asked_within_the_scope(client, world):
    user = create_user("caseworker", district=DONG_ANH)
    codes = ["0199999999", "0100123457", "7900000001", "001190012345", " 0100123456 "]
    response = client.post(URL, json={"codes": codes}, headers=_auth(user))
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert [row["code"] for row in answer["rows"]] == [code.strip() for code in codes]
    assert [row["status"] for row in answer["rows"]] == ["not_found", "no_claim", "not_found", "paid", "paid"]
    assert (answer["program"], answer["asked"], answer["found"]) == ("NQ116", 5, 3)
    assert answer["counts"] == {"not_found": 2, "paid": 2, "no_claim": 1}
    paid = answer["rows"][4]
    assert paid["full_name"] == "Đào Mai Anh" and paid["date_of_birth"] == "1990-03-07"
    assert (paid["unit_code"], paid["unit_name"]) == (world["unit"].unit_code, "Công ty Dệt May Đông Anh")
    assert (paid["claim_id"], paid["amount_vnd"]) == (world["claim"].id, world["claim"].amount_vnd)
    assert paid["payment"]["state"] == "paid" and paid["payment"]["channel"] == "bank" and paid["payment"]["at"]
    assert (paid["status_label_vi"], paid["status_label_en"]) == ("Đã chi trả", "Paid")
    out = answer["rows"][2]  # Quận 1's person: the same row as an unknown code's
    assert {k: v for k, v in out.items() if k != "code"} == {k: v for k, v in answer["rows"][0].items() if k != "code"}
    assert out["status_label_en"] == "Not found in your scope"
    [entry] = _audits()
    assert (entry.actor_id, entry.data) == (user.id, {"asked": 5, "found": 3, "via": "api"})


def test_the_other_district_and_a_national_supervisor(client, world):
    far = create_user("caseworker", district=QUAN_1)
    rows = client.post(URL, json={"codes": ["0100123456", "7900000001"]}, headers=_auth(far)).get_json()["rows"]
    assert [row["found"] for row in rows] == [False, True]
    national = create_user("supervisor")
    rows = client.post(URL, json={"codes": ["0100123456", "7900000001"]}, headers=_auth(national)).get_json()["rows"]
    assert [row["found"] for row in rows] == [True, True]


def test_an_employer_may_not(client, world):
    employer = create_user("employer", employer_unit=world["unit"].unit_code)
    response = client.post(URL, json={"codes": ["0100123456"]}, headers=_auth(employer))
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    assert _audits() == []


@pytest.mark.parametrize(
    ("locale", "said"),
    [
        ("vi", "“0100-12345” không phải mã số BHXH (10 chữ số) hay số CMND (9 chữ số) / CCCD (12 chữ số)"),
        ("en", "“0100-12345” is not an SI code (10 digits) nor a national ID number (CMND 9 digits, CCCD 12)"),
    ],
)
def test_a_code_of_the_wrong_shape_is_named_and_nothing_is_looked_up(client, world, locale, said):
    user = create_user("caseworker", district=DONG_ANH)
    response = client.post(URL, json={"codes": ["0100123456", "0100-12345", "123"]}, headers=_auth(user, locale))
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid"
    assert set(body["fields"]) == {"codes.1", "codes.2"}
    assert said in body["fields"]["codes.1"]
    assert _audits() == []


@pytest.mark.parametrize(
    ("codes", "en"),
    [
        ([], "Send 1 to 1,000 codes."),
        ([f"01{n:08d}" for n in range(1001)], "Send 1 to 1,000 codes."),
    ],
)
def test_an_empty_list_or_over_a_thousand_codes_is_refused(client, world, codes, en):
    user = create_user("caseworker", district=DONG_ANH)
    response = client.post(URL, json={"codes": codes}, headers=_auth(user, "en"))
    assert response.status_code == 422
    assert response.get_json()["fields"]["codes"] == en
    vi = client.post(URL, json={"codes": codes}, headers=_auth(user)).get_json()["fields"]["codes"]
    assert vi == "Hãy gửi từ 1 đến 1.000 mã."
    assert _audits() == []


def test_a_thousand_codes_are_answered(client, world):
    user = create_user("caseworker", district=DONG_ANH)
    codes = ["0100123456", *(f"02{n:08d}" for n in range(999))]
    answer = client.post(URL, json={"codes": codes}, headers=_auth(user)).get_json()
    assert len(answer["rows"]) == 1000 and answer["found"] == 1
    assert answer["counts"] == {"not_found": 999, "paid": 1}


def test_an_unknown_programme(client, world):
    user = create_user("caseworker", district=DONG_ANH)
    response = client.post(URL + "?program=XX99", json={"codes": ["0100123456"]}, headers=_auth(user, "en"))
    assert response.status_code == 404
    assert response.get_json()["error"] == "program_not_found"


def test_a_retry_with_the_same_idempotency_key_is_answered_again_without_a_second_look_up(client, world):
    user = create_user("caseworker", district=DONG_ANH)
    headers = {**_auth(user), "Idempotency-Key": "tra-cuu-1"}
    first = client.post(URL, json={"codes": ["0100123456"]}, headers=headers)
    again = client.post(URL, json={"codes": ["0100123456"]}, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    assert len(_audits()) == 1
