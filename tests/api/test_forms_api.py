"""POST /employers/<unit>/confirmations (Form 02), /adjustments (Form 03) and /applications (Form 04) over HTTP."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disburse.auth.service import create_token, create_user
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.registry.models import Employee
from disburse.verification import service as verification
from tests.apps import broker_down
from tests.factories import create_claim, create_employee, create_employer

_n = iter(range(1, 10**6))


def _auth(role: str, **scope) -> dict[str, str]:
    user = create_user(f"{role}{next(_n)}@forms.example.vn", role, password=None, **scope)
    return {"Authorization": f"Bearer {create_token(user)}", "Accept-Language": "en"}


@pytest.fixture
def unit(db_session):
    employer = create_employer(district_code="017")
    claims = [create_claim("listed", employee=create_employee(employer_id=employer.id)) for _ in range(3)]
    return employer, claims


@pytest.fixture(autouse=True)
def _clock(app):
    app.config["DISBURSE_TODAY"] = "2021-10-25"
    yield
    app.config["DISBURSE_TODAY"] = None


def _si(claim: Claim) -> str:
    return db.session.get(Employee, claim.employee_id).si_code


def test_an_employer_confirms_its_own_list(client, unit):
    employer, claims = unit
    headers = _auth("employer", employer_unit=employer.unit_code)
    rows = [
        {"si_code": _si(claims[0]), "bank_code": "VCB", "bank_account": "0011223344", "decline": False},
        {"si_code": _si(claims[1]), "decline": True},
        {"si_code": _si(claims[2]), "bank_code": "VCB"},
    ]
    response = client.post(
        f"/api/v1/employers/{employer.unit_code}/confirmations", json={"rows": rows}, headers=headers
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["summary"] == {"confirmed": 1, "declined": 1, "error": 1}
    assert [r["outcome"] for r in body["rows"]] == ["confirmed", "declined", "error"]
    assert body["rows"][2]["errors"][0] == {
        "field": "bank_account",
        "code": "bank_pair",
        "message": "Give both the bank and the account number (or leave both blank).",
    }
    assert [db.session.get(Claim, c.id).state for c in claims] == ["employer_confirmed", "declined", "listed"]


@pytest.mark.parametrize("form", ["confirmations", "adjustments"])
def test_an_account_number_sent_as_a_json_number_is_refused_on_its_row(client, unit, form):
    """As a spreadsheet's number cell is (its leading zeros may be lost): the row's error, the others applied; it was
    a 422 of the whole form for a value the forms check row by row."""
    employer, claims = unit
    headers = _auth("employer", employer_unit=employer.unit_code)
    extra = {"action": "correct"} if form == "adjustments" else {}
    if form == "adjustments":
        for claim in claims:
            claim.state = "awaiting_payment_details"
        db.session.flush()
    rows = [
        {"si_code": _si(claims[0]), "bank_code": "VCB", "bank_account": 11001234567, **extra},
        {"si_code": _si(claims[1]), "bank_code": "VCB", "bank_account": 1.23e15, **extra},
        {"si_code": _si(claims[2]), "bank_code": "VCB", "bank_account": "0011223344", **extra},
    ]
    response = client.post(f"/api/v1/employers/{employer.unit_code}/{form}", json={"rows": rows}, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [r["outcome"] for r in body["rows"]][:2] == ["error", "error"]
    assert body["rows"][2]["outcome"] != "error"
    for row in body["rows"][:2]:
        assert [(e["field"], e["code"]) for e in row["errors"]] == [("bank_account", "account_number_cell")]


def test_another_units_employer_and_an_unknown_unit_get_the_same_404(client, unit):
    employer, claims = unit
    other = create_employer(district_code="017")
    headers = _auth("employer", employer_unit=other.unit_code)
    rows = {"rows": [{"si_code": _si(claims[0])}]}
    out_of_scope = client.post(f"/api/v1/employers/{employer.unit_code}/confirmations", json=rows, headers=headers)
    unknown = client.post("/api/v1/employers/NOUNIT99/confirmations", json=rows, headers=headers)
    assert out_of_scope.status_code == unknown.status_code == 404
    assert out_of_scope.get_json() == unknown.get_json()
    elsewhere = _auth("caseworker", district="001")
    assert (
        client.post(f"/api/v1/employers/{employer.unit_code}/confirmations", json=rows, headers=elsewhere).status_code
        == 404
    )
    assert db.session.get(Claim, claims[0].id).state == "listed"


def test_a_caseworker_of_the_district_may_send_the_form(client, unit):
    employer, claims = unit
    headers = _auth("caseworker", district="017")
    rows = {"rows": [{"si_code": _si(claims[0])}]}
    response = client.post(f"/api/v1/employers/{employer.unit_code}/confirmations", json=rows, headers=headers)
    assert response.status_code == 200 and response.get_json()["summary"] == {"confirmed": 1}


@pytest.mark.parametrize(
    "body", [None, {}, {"rows": []}, {"rows": "x"}, {"rows": [1, 2]}, {"rows": [{}] * 50_001}, [{"si_code": "1"}]]
)
def test_a_body_that_is_not_a_form_is_a_422_naming_rows(client, unit, body):
    employer, _ = unit
    headers = _auth("employer", employer_unit=employer.unit_code)
    response = client.post(f"/api/v1/employers/{employer.unit_code}/confirmations", json=body, headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"rows"}


def test_adjustments_after_the_deadline_are_refused_naming_the_date(app, client, unit):
    employer, claims = unit
    headers = _auth("employer", employer_unit=employer.unit_code)
    rows = {"rows": [{"si_code": _si(claims[0]), "action": "remove"}]}
    app.config["DISBURSE_TODAY"] = "2021-11-11"
    response = client.post(f"/api/v1/employers/{employer.unit_code}/adjustments", json=rows, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"] == "deadline_passed" and "10/11/2021" in response.get_json()["message"]
    app.config["DISBURSE_TODAY"] = "2021-11-10"
    response = client.post(f"/api/v1/employers/{employer.unit_code}/adjustments", json=rows, headers=headers)
    assert response.status_code == 200 and response.get_json()["rows"][0]["outcome"] == "removed"


def _application(person: Employee, **overrides) -> dict:
    body = {
        "si_code": person.si_code,
        "national_id": person.national_id,
        "full_name": person.full_name,
        "date_of_birth": "1988-02-03",
        "phone": "0912345678",
        "address": "Thôn Đoài, Đông Anh, Hà Nội",
        "status": "stopped",
        "unit_code": "TA0000001",
        "unused_months": 40,
        "payout": "cash",
    }
    body.update(overrides)
    return body


def test_an_application_taken_at_the_desk(app, client, db_session):
    app.config["DISBURSE_TODAY"] = "2021-12-01"
    person = create_employee(ui_status="stopped", ui_stopped_on=date(2021, 5, 31), unused_months=40)
    headers = _auth("caseworker", district="001")  # any office takes Form 04
    response = client.post("/api/v1/applications", json=_application(person), headers=headers)
    assert response.status_code == 201
    claim = response.get_json()["claim"]
    assert (claim["state"], claim["track"], claim["amount_vnd"], claim["payout"]) == ("applied", "B", 2_100_000, "cash")
    assert claim["applied_on"] == "2021-12-01" and claim["payment_due_on"] == "2021-12-15"

    again = client.post("/api/v1/applications", json=_application(person), headers=headers)
    assert again.status_code == 409
    assert again.get_json()["claim"] == {"id": claim["id"], "state": "applied"}
    assert str(claim["id"]) in again.get_json()["message"]


def test_an_application_keeps_the_unit_named_on_it(app, client, db_session):
    """A group B person the registry has no unit for: the unit named in the body is the claim's and the answer's."""
    app.config["DISBURSE_TODAY"] = "2021-12-01"
    unit = create_employer(unit_code="DN01000137", district_code="760")
    person = create_employee(ui_status="stopped", ui_stopped_on=date(2021, 5, 31), unused_months=40, employer_id=None)
    response = client.post(
        "/api/v1/applications",
        json=_application(person, unit_code="DN01000137"),
        headers=_auth("caseworker", district="017"),
    )
    assert response.status_code == 201
    answer = response.get_json()["claim"]
    assert (answer["unit_code"], answer["district_code"]) == ("DN01000137", "017")
    assert db.session.get(Claim, answer["id"]).employer_id == unit.id


def test_an_application_with_bad_fields_lists_every_one(client, db_session):
    headers = _auth("caseworker", district="017")
    response = client.post(
        "/api/v1/applications", json={"si_code": "12", "payout": "bank", "unused_months": -1}, headers=headers
    )
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert {"si_code", "national_id", "full_name", "date_of_birth", "phone", "address", "status", "unit_code"} <= set(
        fields
    )
    assert {"unused_months", "bank_account"} <= set(fields)
    vi = client.post("/api/v1/applications", json={}, headers={**headers, "Accept-Language": "vi"})
    said = vi.get_json()["fields"]
    assert said["full_name"] == said["date_of_birth"] == said["si_code"] == "Trường này là bắt buộc."


def test_employers_may_not_file_applications(client, unit):
    employer, _ = unit
    headers = _auth("employer", employer_unit=employer.unit_code)
    assert client.post("/api/v1/applications", json={}, headers=headers).status_code == 403


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=10,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_JSON)
def test_any_json_body_gets_a_json_answer_never_a_500(client, unit, body):
    employer, _ = unit
    headers = _auth("admin")
    for url in (
        f"/api/v1/employers/{employer.unit_code}/confirmations",
        f"/api/v1/employers/{employer.unit_code}/adjustments",
        "/api/v1/applications",
    ):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code in (200, 201, 409, 422), (url, body, response.get_data(as_text=True))
        assert response.is_json


def test_a_body_over_the_size_limit_is_a_413_before_any_work(app, client, unit):
    employer, _ = unit
    headers = _auth("admin")
    body = b'{"rows": [' + b'{"si_code": "0100000001"},' * (app.config["MAX_CONTENT_LENGTH"] // 20) + b"{}]}"
    response = client.post(
        f"/api/v1/employers/{employer.unit_code}/confirmations",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large"
    # The limit named (a client could not tell how much smaller to send), in the header's language.
    from disburse.formatting import file_size

    limit = file_size(app.config["MAX_CONTENT_LENGTH"], "en")
    assert response.get_json()["message"] == f"The request is too large (at most {limit})."


def test_an_application_answers_its_reasons_with_their_labels(app, client, db_session):
    app.config["DISBURSE_TODAY"] = "2021-12-01"
    pensioner = create_employee(ui_status="stopped", ui_stopped_on=date(2021, 5, 31), pension_decision=True)
    response = client.post("/api/v1/applications", json=_application(pensioner), headers=_auth("admin"))
    assert response.status_code == 201
    (reason,) = response.get_json()["claim"]["reasons"]
    assert reason["code"] == "pension_decision" and reason["label_vi"] and reason["label_en"]


def test_a_length_limit_counts_letters_typed_decomposed(app, client, db_session):
    """A Vietnamese keyboard set to "Unicode tổ hợp" sends "ễ" as e + two marks: an address of 500 letters, its
    limit, is taken, and stored composed; one letter more is refused on its field."""
    app.config["DISBURSE_TODAY"] = "2021-12-01"
    person = create_employee(ui_status="stopped", ui_stopped_on=date(2021, 5, 31), unused_months=40)
    address = ("Ngõ 5 Nguyễn Trãi, Thượng Đình, " * 20)[:500]
    typed = unicodedata.normalize("NFD", address)
    assert len(typed) > 500
    response = client.post(
        "/api/v1/applications", json=_application(person, address=typed), headers=_auth("caseworker", district="001")
    )
    assert response.status_code == 201, response.get_json()
    assert db.session.get(Claim, response.get_json()["claim"]["id"]).application["address"] == address
    longer = unicodedata.normalize("NFD", address + "x")
    response = client.post(
        "/api/v1/applications", json=_application(person, address=longer), headers=_auth("caseworker", district="001")
    )
    assert response.status_code == 422 and "address" in response.get_json()["fields"]


@pytest.fixture
def dead_broker(app, dead_redis_url) -> Iterator[None]:
    """Every task sent after a form's commit fails (the broker went down); the rate limiter's Redis works."""
    with broker_down(app, dead_redis_url):
        yield


def test_a_form_that_committed_answers_even_when_the_broker_is_down_after_the_commit(
    app, client, db_session, unit, dead_broker, caplog
):
    """Form 02 and Form 04 commit, then the verification task cannot be sent: the form still answers as it did (the
    work is done; beat's verification sweep finds the waiting claims), with a warning in the log, never a 5xx."""
    caplog.set_level(logging.WARNING, logger="disburse.background")
    employer, claims = unit
    confirmation = {"rows": [{"si_code": _si(claims[0]), "bank_code": "VCB", "bank_account": "0011223344"}]}
    response = client.post(
        f"/api/v1/employers/{employer.unit_code}/confirmations",
        json=confirmation,
        headers=_auth("employer", employer_unit=employer.unit_code),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["rows"][0]["outcome"] == "confirmed"

    app.config["DISBURSE_TODAY"] = "2021-12-01"
    person = create_employee(ui_status="stopped", ui_stopped_on=date(2021, 5, 31), unused_months=40)
    response = client.post("/api/v1/applications", json=_application(person), headers=_auth("admin"))
    assert response.status_code == 201, response.get_data(as_text=True)
    applied = response.get_json()["claim"]["id"]

    db_session.expire_all()
    assert db_session.get(Claim, claims[0].id).state == "employer_confirmed"
    assert db_session.get(Claim, applied).state == "applied"
    assert verification.waiting_count() >= 2  # what the sweep will send
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings.count("could not send task verification.verify; a sweeper will find its work") == 2


def test_a_late_form_02_a_caseworker_sends_after_form_03_closed_is_worded_for_the_office(app, client, unit):
    """The unit is told to contact the district office; the office's own caseworker is told where they correct the
    person's details instead (not to contact themselves). Form 03 sent by them after its deadline likewise."""
    from disburse.claims import service as claims_service
    from disburse.claims.states import ClaimAction

    employer, claims = unit
    late = claims[0]
    late.review_due_on = date(2021, 10, 20)
    db.session.flush()
    claims_service.transition_many(ClaimAction.MARK_OVERDUE, ids=[late.id])
    verification.verify(ids=[late.id], today=date(2021, 10, 25))
    assert db.session.get(Claim, late.id).state == "needs_review"
    app.config["DISBURSE_TODAY"] = "2021-11-11"
    rows = {"rows": [{"si_code": _si(late), "bank_code": "VCB", "bank_account": "0011223344"}]}
    said = {}
    for role, scope in (("employer", {"employer_unit": employer.unit_code}), ("caseworker", {"district": "017"})):
        headers = {**_auth(role, **scope), "Accept-Language": "vi"}
        response = client.post(f"/api/v1/employers/{employer.unit_code}/confirmations", json=rows, headers=headers)
        [error] = response.get_json()["rows"][0]["errors"]
        assert error["code"] == "confirmation_closed"
        said[role] = error["message"]  # in the Accept-Language asked for
        adjusted = client.post(
            f"/api/v1/employers/{employer.unit_code}/adjustments",
            json={"rows": [{"si_code": _si(claims[1]), "action": "remove"}]},
            headers=headers,
        )
        assert adjusted.status_code == 422
        said[f"{role}-03"] = adjusted.get_json()["message"]
    assert "hãy liên hệ cơ quan BHXH quận, huyện" in said["employer"]
    assert "liên hệ cơ quan BHXH" not in said["caseworker"] and "trên trang hồ sơ" in said["caseworker"]
    assert "hãy liên hệ cơ quan BHXH quận, huyện" in said["employer-03"]
    assert "liên hệ cơ quan BHXH" not in said["caseworker-03"] and "trên trang hồ sơ" in said["caseworker-03"]
    assert db.session.get(Claim, late.id).state == "needs_review"
