"""GET /api/v1/progress?province=&district=: an area's completion and its child areas', from the rollups, and its
employers' contribution reduction; the caller's own area by default; other areas as unknown ones (404)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from disburse.auth.service import create_token
from disburse.claims.states import ClaimState
from disburse.extensions import db
from disburse.reports import backlog, dashboard
from disburse.reports.rollups import refresh_reduction_totals
from disburse.reports.service import Area
from tests.factories import (
    create_cash_payment,
    create_claim,
    create_employee,
    create_employer,
    create_program,
    create_user,
)


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
    bad = _get(client, create_user("admin"), "?province=1x&district=17a&program=x y")
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


# ------------------------------------------------------------------------------ the dashboards' not-yet-paid figures

#: The figures the dashboards show of where the eligible not yet paid are (disburse.reports.dashboard.figures_of).
NOT_YET_PAID = (
    "needs_review",
    "unpaid",
    "checking",
    "approved",
    "payment_pending",
    "payment_pending_amount_vnd",
    "payment_pending_bank",
    "payment_pending_bank_amount_vnd",
    "payment_pending_cash",
    "payment_pending_cash_amount_vnd",
    "payment_failed",
    "awaiting_details",
)
#: The parts of ``unpaid``, in payment as its two channels (the dashboards' UNPAID_GROUPS).
UNPAID_PARTS = dashboard.UNPAID_GROUPS
LAST_PAYABLE_DAY = date(2022, 9, 10)


@pytest.fixture
def every_state(db_session):
    """A program (NQ116's calendar: payable until 10/09/2022) with a claim in every state in Đông Anh (017) and one
    more in payment there, on an office's cash list; a few claims in Sóc Sơn (016, Hà Nội) and in a district of Hồ
    Chí Minh City (760)."""
    program = create_program(extension_until=LAST_PAYABLE_DAY)

    def claim(state, district: str, **overrides):
        return create_claim(state, program=program, employee=create_employee(district_code=district), **overrides)

    create_cash_payment(program=program, employee=create_employee(district_code="017"))
    for state in ClaimState:
        claim(state, "017")
    for state in ("approved", "payment_failed", "paid", "listed"):
        claim(state, "016")
    for state in ("awaiting_payment_details", "needs_review", "declined"):
        claim(state, "760")
    return program


@pytest.mark.usefixtures("paying_clock")
def test_the_not_yet_paid_figures_are_the_dashboards(client, every_state):
    """Where the eligible not yet paid are, for the area and each child area: the figures of the supervisors'
    dashboards (their summary and their tables), for the country, a province and a district, and they add up."""
    program = every_state
    admin = create_user("admin")
    for query, area in (("", Area()), ("&province=01", Area("01")), ("&district=017", Area("01", "017"))):
        body = _get(client, admin, f"?program={program.code}{query}").get_json()
        assert body["level"] == area.level
        summary = dashboard.figures(program.id, area)
        assert {name: body[name] for name in NOT_YET_PAID} == {name: summary[name] for name in NOT_YET_PAID}, query
        assert (body["eligible"], body["paid"]) == (summary["eligible"], summary["paid"])
        assert sum(body[name] for name in UNPAID_PARTS) == body["unpaid"] == body["eligible"] - body["paid"]
        for rows in (body, *body["areas"]):  # in payment is its two channels, claims and VND
            assert rows["payment_pending"] == rows["payment_pending_bank"] + rows["payment_pending_cash"]
            assert rows["payment_pending_amount_vnd"] == (
                rows["payment_pending_bank_amount_vnd"] + rows["payment_pending_cash_amount_vnd"]
            )
        if area.level == "district":
            assert body["areas"] == []
            continue
        table = {row["code"]: row for row in dashboard.children(program.id, area)}
        assert {row["code"] for row in body["areas"]} == set(table)
        for row in body["areas"]:
            assert {name: row[name] for name in NOT_YET_PAID} == {
                name: table[row["code"]][name] for name in NOT_YET_PAID
            }

    # What they are, in Đông Anh: a claim in each of the 14 states and one more in payment at the office's desk.
    district = _get(client, admin, f"?program={program.code}&district=017").get_json()
    assert (district["eligible"], district["paid"], district["unpaid"]) == (12, 1, 11)
    assert {name: district[name] for name in NOT_YET_PAID if not name.endswith("_amount_vnd")} == {
        "needs_review": 1,
        "unpaid": 11,
        "checking": 5,  # listed, employer_confirmed, employer_overdue, applied, verifying
        "approved": 1,
        "payment_pending": 2,  # one sent to the bank, one on the office's cash list
        "payment_pending_bank": 1,
        "payment_pending_cash": 1,
        "payment_failed": 1,
        "awaiting_details": 1,
    }
    in_payment = dict(
        db.session.execute(
            text(
                """SELECT payout = 'cash', sum(amount_vnd) FROM claims
                   WHERE program_id = :p AND district_code = '017' AND state = :s GROUP BY 1"""
            ),
            {"p": program.id, "s": "payment_pending"},
        ).all()
    )
    assert district["payment_pending_bank_amount_vnd"] == in_payment[False] > 0
    assert district["payment_pending_cash_amount_vnd"] == in_payment[True] > 0
    assert district["payment_pending_amount_vnd"] == in_payment[False] + in_payment[True]
    # Hà Nội's districts in the answer: Sóc Sơn has nobody in payment, so both channels are 0 there.
    province = _get(client, admin, f"?program={program.code}&province=01").get_json()
    soc_son = next(row for row in province["areas"] if row["code"] == "016")
    assert [soc_son[name] for name in NOT_YET_PAID if name.startswith("payment_pending")] == [0] * 6


def test_the_document_describes_the_split_of_in_payment(client):
    """The OpenAPI document (built from the response models) names both channels of in payment, with their VND, for
    the area and each child area (one model, Figures, for both)."""
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for model in ("AreaProgress", "AreaFigures"):
        properties = schemas[model]["properties"]
        for name in NOT_YET_PAID:
            assert properties[name]["type"] == "integer" and properties[name]["description"], (model, name)
        assert "payment_pending_bank + payment_pending_cash" in properties["payment_pending"]["description"]
        assert schemas[model]["additionalProperties"] is False


def test_the_claims_not_paid_by_the_end_are_the_dashboards_backlog_figure(client, every_state):
    """The claims still open after the programme's last payable day, as the dashboards' backlog page shows them (the
    last backlog sweep's count, with when it counted): none before the first sweep, none while the programme pays,
    then every open claim of the area, by state."""
    program = every_state
    admin = create_user("admin")
    before = _get(client, admin, f"?program={program.code}").get_json()["unpaid_at_end"]
    assert before == {
        "claims": 0,
        "amount_vnd": 0,
        "by_state": {},
        "last_payable_day": "2022-09-10",
        "computed_at": None,
        "as_of": None,
    }

    backlog.refresh(program.id, LAST_PAYABLE_DAY)  # the last day it pays: nothing is counted yet
    on_the_day = _get(client, admin, f"?program={program.code}").get_json()["unpaid_at_end"]
    assert (on_the_day["claims"], on_the_day["by_state"], on_the_day["as_of"]) == (0, {}, "2022-09-10")
    assert on_the_day["computed_at"] is not None

    backlog.refresh(program.id, date(2022, 9, 11))
    for query, area in (("", Area()), ("&province=01", Area("01")), ("&district=017", Area("01", "017"))):
        body = _get(client, admin, f"?program={program.code}{query}").get_json()["unpaid_at_end"]
        shown = dashboard.backlog(program.id, area, reconciliations=None)
        assert {name: body[name] for name in ("claims", "amount_vnd", "by_state")} == shown["unpaid_at_end"], query
        assert (body["as_of"], body["computed_at"]) == ("2022-09-11", shown["computed_at"].isoformat())
    district = _get(client, admin, f"?program={program.code}&district=017").get_json()["unpaid_at_end"]
    # Every claim of Đông Anh neither paid nor refused, declined or removed: 11, two of them in payment.
    assert district["claims"] == 11 and district["by_state"]["payment_pending"] == 2
    assert set(district["by_state"]) == {
        "listed",
        "employer_confirmed",
        "employer_overdue",
        "applied",
        "verifying",
        "needs_review",
        "approved",
        "payment_pending",
        "payment_failed",
        "awaiting_payment_details",
    }
    # A caseworker reads their own district's figure.
    caseworker = _get(client, create_user("caseworker", district="017"), f"?program={program.code}").get_json()
    assert caseworker["unpaid_at_end"] == district
