"""Form 04: every field's error at once, the registry as the reference, one claim per person, the deadlines."""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from disburse.auth.service import create_token
from disburse.claims import applications
from disburse.claims.applications import ApplicationConflict, ApplicationInvalid
from disburse.claims.models import Claim
from disburse.claims.outcomes import FormRefused
from disburse.claims.service import claim_events
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.factories import create_claim, create_employee, create_employer, create_program, create_user, nq116

TODAY = date(2021, 12, 1)


def _stopped_person(**overrides: Any) -> Employee:
    values = {"ui_status": "stopped", "ui_stopped_on": date(2021, 6, 30), "unused_months": 30, "district_code": "017"}
    values.update(overrides)
    return create_employee(**values)


def _body(person: Employee, **overrides: Any) -> dict[str, Any]:
    body = {
        "si_code": person.si_code,
        "national_id": person.national_id,
        "full_name": person.full_name,
        "date_of_birth": "1990-01-01",
        "phone": "0912345678",
        "address": "Số 5 ngõ 12, Đông Anh, Hà Nội",
        "status": "stopped",
        "unit_code": "TA0000001",
        "unused_months": 30,
        "payout": "bank",
        "bank_code": "VCB",
        "bank_account": "0011004455667",
    }
    body.update(overrides)
    return body


def test_a_group_b_application_becomes_an_applied_claim_with_its_sla(db_session):
    person = _stopped_person()
    claim = applications.apply(nq116(), _body(person), today=TODAY)
    assert (claim.state, claim.track, claim.support_group, claim.amount_vnd) == ("applied", "B", "B", 2_100_000)
    assert (claim.payout, claim.bank_code, claim.applied_on) == ("bank", "VCB", TODAY)
    assert claim.payment_due_on == date(2021, 12, 15)  # 10 working days after 01/12/2021
    assert claim.application["unused_months"] == 30 and claim.application["status"] == "stopped"
    assert [(e.action, e.to_state, e.data["form"]) for e in claim_events(claim.id)] == [("create", "applied", "04")]


def test_the_payment_sla_never_passes_the_payment_deadline(db_session):
    claim = applications.apply(nq116(), _body(_stopped_person()), today=date(2021, 12, 20))
    assert claim.payment_due_on == date(2021, 12, 31)


def test_every_field_error_comes_back_at_once(db_session):
    person = _stopped_person()
    body = _body(
        person,
        si_code="12345",
        national_id="12",
        full_name="",
        date_of_birth="12/31/1990",
        phone="abc",
        status="retired",
        unused_months="many",
        payout="cheque",
        bank_code="XYZ",
    )
    with pytest.raises(ApplicationInvalid) as invalid:
        applications.apply(nq116(), body, today=TODAY)
    fields = {e.field for e in invalid.value.errors}
    assert fields >= {
        "si_code",
        "national_id",
        "full_name",
        "date_of_birth",
        "phone",
        "status",
        "unused_months",
        "payout",
    }
    assert all(e.message_vi and e.message_en for e in invalid.value.errors)
    assert db_session.scalar(select(func.count()).select_from(Claim)) == 0


def test_a_name_and_an_address_both_too_long_are_both_named(db_session):
    with pytest.raises(applications.ApplicationInvalid) as refused:
        applications.apply(nq116(), _body(_stopped_person(), full_name="A" * 201, address="B" * 501), today=TODAY)
    assert {(e.field, e.code) for e in refused.value.errors} == {("full_name", "too_long"), ("address", "too_long")}
    assert "Tối đa 200 ký tự." in [e.message_vi for e in refused.value.errors]


def test_a_bank_payout_needs_bank_details_and_cash_needs_none(db_session):
    person = _stopped_person()
    with pytest.raises(ApplicationInvalid) as invalid:
        applications.apply(nq116(), _body(person, bank_code="", bank_account=""), today=TODAY)
    assert [e.code for e in invalid.value.errors] == ["required"]
    claim = applications.apply(nq116(), _body(person, payout="cash", bank_code="", bank_account=""), today=TODAY)
    assert (claim.payout, claim.bank_code, claim.bank_account) == ("cash", None, None)


def test_the_registry_is_the_reference(db_session):
    person = _stopped_person()
    with pytest.raises(ApplicationInvalid) as unknown:
        applications.apply(nq116(), _body(person, si_code="0177777777"), today=TODAY)
    assert unknown.value.errors[0].code == "not_in_registry"
    with pytest.raises(ApplicationInvalid) as mismatch:
        applications.apply(nq116(), _body(person, national_id="001099999999"), today=TODAY)
    assert mismatch.value.errors[0].code == "does_not_match"
    # Refused for other fields too, every error comes at once: the registry's answer is not kept for a resend.
    with pytest.raises(ApplicationInvalid) as all_at_once:
        applications.apply(nq116(), _body(person, national_id="001099999999", full_name="A" * 201), today=TODAY)
    assert {(e.field, e.code) for e in all_at_once.value.errors} == {
        ("national_id", "does_not_match"),
        ("full_name", "too_long"),
    }


def test_a_person_the_rules_refuse_still_gets_a_claim_for_the_written_notice(db_session):
    pensioner = _stopped_person(pension_decision=True)
    claim = applications.apply(nq116(), _body(pensioner), today=TODAY)
    assert claim.state == "applied" and claim.reasons == ["pension_decision"]


def test_a_second_application_is_refused_naming_the_existing_claim(db_session):
    person = _stopped_person()
    first = applications.apply(nq116(), _body(person), today=TODAY)
    with pytest.raises(ApplicationConflict) as conflict:
        applications.apply(nq116(), _body(person), today=TODAY)
    assert conflict.value.claim.id == first.id and str(first.id) in conflict.value.message_vi
    assert db_session.scalar(select(func.count()).select_from(Claim)) == 1


@pytest.mark.parametrize(
    ("today", "turns"), [(date(2021, 11, 29), False), (date(2021, 11, 30), False), (date(2021, 12, 1), True)]
)
def test_a_track_a_person_applies_after_the_fallback_date_and_keeps_one_claim(
    app, db_session, monkeypatch, today, turns
):
    """The track A fallback date (30/11/2021) by the programme clock (DISBURSE_TODAY): no ``today`` is given."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", today.isoformat())
    listed = create_claim("employer_overdue")
    person = db.session.get(Employee, listed.employee_id)
    body = _body(person, status="participating")
    if not turns:
        with pytest.raises(ApplicationConflict) as conflict:
            applications.apply(nq116(), body)
        assert conflict.value.code == "listed_by_employer" and "30/11/2021" in conflict.value.message_vi
        return
    before = (listed.payout, listed.bank_code, listed.bank_account)
    claim = applications.apply(nq116(), {**body, "bank_code": "ACB", "bank_account": "123456789012"})
    assert claim.id == listed.id
    assert (claim.state, claim.track, claim.applied_on) == ("applied", "B", today)
    applied = claim_events(claim.id)[-1]
    assert applied.action == "apply"
    # The application's account replaced the listed one: the event says what it was (the timeline showed nothing).
    assert applied.data["changes"]["bank_account"] == [before[2], "123456789012"]
    assert applied.data["changes"]["bank_code"] == [before[1], "ACB"]
    assert db_session.scalar(select(func.count()).select_from(Claim)) == 1


def test_an_approved_track_a_claim_cannot_be_turned_into_an_application(db_session):
    approved = create_claim("approved")
    person = db.session.get(Employee, approved.employee_id)
    with pytest.raises(ApplicationConflict) as conflict:
        applications.apply(nq116(), _body(person, status="participating"), today=TODAY)
    assert conflict.value.code == "already_claimed"


@pytest.mark.parametrize(
    ("today", "accepted"), [(date(2021, 12, 19), True), (date(2021, 12, 20), True), (date(2021, 12, 21), False)]
)
def test_applications_close_after_the_deadline_by_the_programme_clock(app, db_session, today, accepted):
    person = _stopped_person()
    app.config["DISBURSE_TODAY"] = today.isoformat()
    try:
        if accepted:
            assert applications.apply(nq116(), _body(person)).applied_on == today
        else:
            with pytest.raises(FormRefused) as refused:
                applications.apply(nq116(), _body(person))
            assert "20/12/2021" in refused.value.message_vi
            assert db_session.scalar(select(func.count()).select_from(Claim)) == 0
    finally:
        app.config["DISBURSE_TODAY"] = None


def test_the_payment_sla_counts_working_days_across_tet(db_session):
    """Tết 2022 (29/01–06/02) inside the count: 10 working days after Friday 28/01/2022 is Friday 18/02/2022."""
    program = create_program(
        application_deadline=date(2022, 3, 31),
        payment_deadline=date(2022, 6, 30),
        track_a_fallback_after=date(2022, 1, 1),
    )
    claim = applications.apply(program, _body(_stopped_person()), today=date(2022, 1, 28))
    assert claim.payment_due_on == date(2022, 2, 18)


_TEXT = st.one_of(st.none(), st.integers(-(10**6), 10**6), st.text(max_size=30))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(applications.FIELDS), _TEXT, max_size=12))
def test_any_body_is_an_application_or_field_errors_never_an_exception(db_session, body):
    try:
        applications.apply(nq116(), body, today=TODAY)
    except ApplicationInvalid as invalid:
        assert invalid.errors
        assert all(e.field in (*applications.FIELDS, "") for e in invalid.errors)


# ------------------------------------------------------------------------------------ two at the same moment


class _Committed:
    """Rows committed for real (two transactions must see them), removed at the end (the events' append-only guard
    is switched off inside the cleaning transaction only)."""

    def __init__(self, *, listed: bool) -> None:
        self.program = create_program()
        self.unit = create_employer()
        if listed:  # on the unit's Form 01 list, still unpaid after the fallback date
            self.person = create_employee(employer_id=self.unit.id, unused_months=30)
            create_claim("listed", program=self.program, employee=self.person)
        else:  # group B
            self.person = _stopped_person(employer_id=None)
        self.user = create_user("caseworker")
        self.token = create_token(self.user)
        db.session.commit()
        self.ids = {"p": [self.program.id], "e": [self.person.id], "r": [self.unit.id], "u": [self.user.id]}

    def clean(self) -> None:
        db.session.rollback()
        for statement in (
            "ALTER TABLE claim_events DISABLE TRIGGER claim_events_append_only",
            "DELETE FROM claim_events WHERE claim_id IN (SELECT id FROM claims WHERE program_id = ANY(:p))",
            "ALTER TABLE claim_events ENABLE ALWAYS TRIGGER claim_events_append_only",
            "DELETE FROM claims WHERE program_id = ANY(:p)",
            "DELETE FROM claim_counters WHERE program_id = ANY(:p)",
            "DELETE FROM district_counters WHERE program_id = ANY(:p)",
            "DELETE FROM province_counters WHERE program_id = ANY(:p)",
            "DELETE FROM audit_log WHERE actor_id = ANY(:u)"
            " OR (object_type = 'api_token' AND CAST(data->>'user_id' AS bigint) = ANY(:u))"
            # Their creation, written with no actor (disburse.auth.service.create_user audits every user it makes).
            " OR (object_type = 'user' AND object_id = ANY(CAST(:u AS text[])))",
            "DELETE FROM users WHERE id = ANY(:u)",
            "DELETE FROM employees WHERE id = ANY(:e)",
            "DELETE FROM employers WHERE id = ANY(:r)",
            "DELETE FROM amount_tiers WHERE program_id = ANY(:p)",
            "DELETE FROM programs WHERE id = ANY(:p)",
        ):
            db.session.execute(text(statement), self.ids)
        db.session.commit()


def _lock_waiters() -> int:
    """Other sessions of this database waiting for a lock (a row, or the unique key's in-flight insert)."""
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        )


@pytest.mark.parametrize("listed", [False, True], ids=["group_b", "track_a_fallback"])
def test_two_applications_of_one_person_at_the_same_moment_make_one_claim_and_a_409(app, monkeypatch, listed):
    """Two real transactions: the first records the application and holds its transaction open; the second (the
    API, in another thread and connection) waits for it (on the unique key of a new claim, or on the listed claim's
    row), and once the first commits it answers 409 naming the claim the first made: never a 500, never a second
    claim, never the listed claim turned twice."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY.isoformat())
    with app.app_context():
        rows = _Committed(listed=listed)
        try:
            body = _body(rows.person, status="participating" if listed else "stopped")
            program_code, token = rows.program.code, rows.token
            first = applications.apply(rows.program, body)  # flushed, not committed: its transaction stays open
            answers: list[Any] = []

            def second() -> None:
                response = app.test_client().post(
                    f"/api/v1/applications?program={program_code}",
                    json=body,
                    headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
                )
                answers.append((response.status_code, response.get_json()))

            thread = threading.Thread(target=second)
            thread.start()
            deadline = time.monotonic() + 20
            while _lock_waiters() == 0 and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert thread.is_alive() and _lock_waiters() == 1, "the second application waits for the first"
            db.session.commit()
            thread.join(timeout=20)
            assert not thread.is_alive()

            ((status, answer),) = answers
            assert status == 409, answer
            assert answer["error"] == "already_claimed"
            assert answer["claim"] == {"id": first.id, "state": "applied"}
            assert str(first.id) in answer["message"]
            claims = db.session.execute(
                text("SELECT id, state, track FROM claims WHERE program_id = :p"), {"p": rows.program.id}
            ).all()
            assert [tuple(c) for c in claims] == [(first.id, "applied", "B")]
            actions = db.session.scalars(
                text("SELECT action FROM claim_events WHERE claim_id = :id ORDER BY id"), {"id": first.id}
            ).all()
            assert actions == (["create", "apply"] if listed else ["create"])
        finally:
            rows.clean()
            db.session.remove()


# ------------------------------------------------------------------------------------------- the unit on the form


def test_the_unit_named_on_the_form_is_the_claims_unit_and_the_rollups_count_it_there(db_session):
    """A group B person the registry has no unit for: the unit named on Form 04 ("contract ended at unit …") is the
    claim's, in the person's district (where Form 04 is worked); the district's units table shows it under that
    unit, not among the applicants without a unit, and every rollup level agrees with the claims."""
    from disburse.reports.dashboard import children
    from disburse.reports.rollups import drift
    from disburse.reports.service import Area

    unit = create_employer(unit_code="DN01000137", district_code="760")
    person = _stopped_person(employer_id=None)
    claim = applications.apply(nq116(), _body(person, unit_code="DN01000137", payout="cash"), today=TODAY)
    assert (claim.employer_id, claim.district_code) == (unit.id, "017")
    assert claim.application["unit_code"] == "DN01000137"
    units = {row["code"]: row for row in children(claim.program_id, Area(district_code="017"))}
    assert set(units) == {"DN01000137"} and units["DN01000137"]["employer_id"] == unit.id
    assert drift(claim.program_id) == []


def test_a_person_without_a_district_is_counted_in_the_named_units(db_session):
    registry_unit = create_employer(district_code="017")
    named = create_employer(district_code="760")
    person = _stopped_person(employer_id=registry_unit.id, district_code=None)
    claim = applications.apply(nq116(), _body(person, unit_code=named.unit_code), today=TODAY)
    assert (claim.employer_id, claim.district_code) == (named.id, "760")


@pytest.mark.parametrize("registry_unit", [True, False], ids=["last_unit_on_file", "no_unit_on_file"])
def test_a_unit_the_registry_does_not_have_is_kept_as_declared(db_session, registry_unit):
    """No rollup row can name an unregistered unit: the claim takes the person's registry unit (or none), and the
    code stays on the claim as received."""
    last = create_employer() if registry_unit else None
    person = _stopped_person(employer_id=last.id if last else None)
    claim = applications.apply(nq116(), _body(person, unit_code="DN09999999"), today=TODAY)
    assert claim.employer_id == (last.id if last else None)
    assert claim.application["unit_code"] == "DN09999999"


def test_a_unit_code_the_registry_could_never_hold_is_refused(db_session):
    with pytest.raises(ApplicationInvalid) as invalid:
        applications.apply(nq116(), _body(_stopped_person(), unit_code="DN/0100"), today=TODAY)
    assert [(e.field, e.code) for e in invalid.value.errors] == [("unit_code", "unit_code_format")]
    assert invalid.value.errors[0].message_en.startswith("A unit code has only letters, digits")


def test_a_track_a_claim_turned_application_keeps_its_listing_unit(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-12-01")
    listed = create_claim("employer_overdue")
    other = create_employer()
    person = db.session.get(Employee, listed.employee_id)
    claim = applications.apply(nq116(), _body(person, status="participating", unit_code=other.unit_code))
    assert claim.id == listed.id and claim.employer_id == listed.employer_id
    assert claim.application["unit_code"] == other.unit_code
