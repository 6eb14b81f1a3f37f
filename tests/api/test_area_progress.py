"""GET /api/v1/progress?province=&district=: an area's completion and its child areas', from the rollups, and its
employers' contribution reduction; the caller's own area by default; other areas as unknown ones (404)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from disburse.auth.service import create_token
from disburse.reports.rollups import refresh_reduction_totals
from tests.factories import create_claim, create_employee, create_employer, create_program, create_user


@pytest.fixture
def country(db_session):
    """A program with claims in Đông Anh (017, Hà Nội) and in a district of Hồ Chí Minh City (760), and a month of
    reduction for the Đông Anh unit."""
    program = create_program()
    near, far = create_employer(district_code="017"), create_employer(district_code="760")

    def claims(unit, *states):
        for state in states:
            create_claim(
                state, program=program, employee=create_employee(employer_id=unit.id, district_code=unit.district_code)
            )

    claims(near, "paid", "paid", "approved", "needs_review", "rejected")
    claims(far, "paid", "listed")
    db_session.execute(
        text(
            "INSERT INTO reductions (program_id, employer_id, month, ui_salary_fund_vnd, ui_participants,"
            " normal_rate_bp, reduced_rate_bp, amount_vnd) VALUES"
            " (:p, :e, :m1, 100000000, 12, 100, 0, 1000000), (:p, :e, :m2, 90000000, 9, 100, 0, 900000)"
        ),
        {"p": program.id, "e": near.id, "m1": date(2021, 10, 1), "m2": date(2021, 11, 1)},
    )
    refresh_reduction_totals(program.id)  # as the reductions' booking does after writing them
    return program


def _get(client, user, query: str):
    token = create_token(user)
    return client.get(f"/api/v1/progress{query}", headers={"Authorization": f"Bearer {token}"})


def test_the_country_its_provinces_and_the_reduction(client, country):
    body = _get(client, create_user("admin"), f"?program={country.code}").get_json()

    assert body["level"] == "country" and (body["province"], body["district"]) == (None, None)
    assert (body["eligible"], body["paid"], body["needs_review"]) == (6, 3, 1)
    assert body["percent_paid"] == pytest.approx(50.0)
    assert body["reduction"] == {"employers": 1, "employees": 12, "amount_vnd": 1_900_000}
    provinces = {row["code"]: row for row in body["areas"]}
    assert set(provinces) == {"01", "79"}
    assert (provinces["01"]["eligible"], provinces["01"]["paid"]) == (4, 2)
    assert (provinces["79"]["eligible"], provinces["79"]["paid"]) == (2, 1)


def test_a_provincial_supervisor_sees_their_province_and_its_districts_by_default(client, country):
    supervisor = create_user("supervisor", province="01")
    body = _get(client, supervisor, f"?program={country.code}").get_json()
    assert (body["level"], body["province"]) == ("province", "01")
    assert [row["code"] for row in body["areas"]] == ["017"]
    assert _get(client, supervisor, f"?program={country.code}&district=017").get_json()["level"] == "district"
    for query in ("&province=79", "&district=760", "&district=999", "&province=01&district=760"):
        assert _get(client, supervisor, f"?program={country.code}{query}").status_code == 404


def test_a_caseworker_sees_their_district_only(client, country):
    caseworker = create_user("caseworker", district="017")
    body = _get(client, caseworker, f"?program={country.code}").get_json()
    assert (body["level"], body["district"], body["paid"], body["areas"]) == ("district", "017", 2, [])
    for query in ("&province=01", "&district=760"):
        assert _get(client, caseworker, f"?program={country.code}{query}").status_code == 404


def test_employers_use_their_units_progress_and_bad_codes_are_named(client, country):
    assert _get(client, create_user("employer", employer_unit=create_employer().unit_code), "").status_code == 403
    bad = _get(client, create_user("admin"), "?province=1&district=17a&program=x y")
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"province", "district", "program"}
    assert _get(client, create_user("admin"), "?program=NOPE").status_code == 404


def test_percentages_in_answers_have_two_decimals_rounded_down():
    from disburse.reports.service import percent_of

    assert (percent_of(1, 3), percent_of(2, 3), percent_of(99_999, 100_000), percent_of(5, 5)) == (
        33.33,
        66.66,
        99.99,
        100.0,
    )
    assert percent_of(0, 0) is None
