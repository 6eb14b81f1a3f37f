"""support_for(): the person's group, amount, claim and latest payment, for GET /api/v1/employees/<si>/support."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from disburse.claims.support import support_for
from disburse.extensions import db
from disburse.programs.rules import REASON_LABELS
from disburse.programs.service import ProgramNotFound
from disburse.registry.models import Employee, Employer
from tests.factories import create_employee, create_employer, nq116


def insert_claim(employee: Employee, employer: Employer | None, state: str, **values: Any) -> int:
    row = {
        "program_id": nq116().id,
        "employee_id": employee.id,
        "employer_id": employer.id if employer else None,
        "district_code": employer.district_code if employer else employee.district_code,
        "track": "A" if employer else "B",
        "support_group": "A" if employee.ui_status == "participating" else "B",
        "unused_months": employee.unused_months,
        "amount_vnd": 2_100_000,
        "state": state,
        "reasons": [],
    }
    row.update(values)
    return int(
        db.session.execute(
            text(f"INSERT INTO claims ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)}) RETURNING id"),
            row,
        ).scalar_one()
    )


def insert_payment(claim_id: int, attempt: int, state: str, **values: Any) -> None:
    row = {
        "claim_id": claim_id,
        "attempt": attempt,
        "amount_vnd": 2_100_000,
        "provider": "sandbox",
        "provider_reference": f"TEST-{claim_id}-{attempt}",
        "state": state,
    }
    row.update(values)
    db.session.execute(text(f"INSERT INTO payments ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"), row)


def test_unknown_si_code_is_none(db_session: Session) -> None:
    assert support_for("0000000000") is None


def test_unknown_program_is_a_clear_error(db_session: Session) -> None:
    employee = create_employee()
    with pytest.raises(ProgramNotFound, match="NQ999"):
        support_for(employee.si_code, "NQ999")


def test_participating_employee_without_a_claim(db_session: Session) -> None:
    employer = create_employer(sector="enterprise", district_code="017")
    employee = create_employee(employer_id=employer.id, unused_months=60, district_code="760")
    result = support_for(employee.si_code)
    assert result == {
        "si_code": employee.si_code,
        "program": "NQ116",
        "group": "A",
        "outcome": "eligible",
        "reasons": [],
        "eligible": True,
        "unused_months": 60,
        "amount_vnd": 2_400_000,
        "claim": None,
        "payment": None,
        "unit_code": employer.unit_code,
        "employer_id": employer.id,
        "district_code": "017",
        "province_code": "01",
        "scope": {"employer_ids": [employer.id], "district_codes": ["017", "760"], "province_codes": ["01", "79"]},
    }


def test_public_autonomous_unit_qualifies(db_session: Session) -> None:
    employee = create_employee(employer_id=create_employer(sector="public_autonomous").id, unused_months=132)
    result = support_for(employee.si_code)
    assert result is not None
    assert (result["group"], result["eligible"], result["amount_vnd"]) == ("A", True, 3_300_000)


@pytest.mark.parametrize("sector", ["public_budget", "state_agency", "political_org", "armed_forces"])
def test_excluded_sector_is_not_eligible_with_a_labelled_reason(db_session: Session, sector: str) -> None:
    employee = create_employee(employer_id=create_employer(sector=sector).id)
    result = support_for(employee.si_code)
    assert result is not None
    assert (result["group"], result["outcome"], result["eligible"], result["amount_vnd"]) == (
        None,
        "not_eligible",
        False,
        None,
    )
    [reason] = result["reasons"]
    assert reason["code"] == "excluded_sector"
    assert "Đơn vị" in reason["label_vi"] and "employer" in reason["label_en"]


def test_stopped_in_the_window_without_an_employer_is_handled_where_they_live(db_session: Session) -> None:
    employee = create_employee(
        ui_status="stopped", ui_stopped_on=date(2020, 1, 1), unused_months=12, district_code="760"
    )
    result = support_for(employee.si_code)
    assert result is not None
    assert (result["group"], result["outcome"], result["eligible"], result["amount_vnd"]) == (
        "B",
        "eligible",
        True,
        2_100_000,
    )
    assert (result["unit_code"], result["employer_id"]) == (None, None)
    assert (result["district_code"], result["province_code"]) == ("760", "79")
    assert result["scope"] == {"employer_ids": [], "district_codes": ["760"], "province_codes": ["79"]}


def test_stopped_with_a_pension_outside_the_window_gets_every_reason(db_session: Session) -> None:
    employer = create_employer()
    employee = create_employee(
        ui_status="stopped", ui_stopped_on=date(2021, 10, 1), pension_decision=True, employer_id=employer.id
    )
    result = support_for(employee.si_code)
    assert result is not None
    assert [r["code"] for r in result["reasons"]] == ["pension_decision", "stopped_outside_window"]
    assert (result["group"], result["eligible"], result["unit_code"]) == (None, False, employer.unit_code)


def test_zero_months_needs_review_but_is_eligible(db_session: Session) -> None:
    employee = create_employee(unused_months=0)
    result = support_for(employee.si_code)
    assert result is not None
    assert (result["group"], result["outcome"], result["eligible"], result["amount_vnd"]) == (
        "A",
        "review",
        True,
        1_800_000,
    )
    assert [r["code"] for r in result["reasons"]] == ["zero_months"]


def test_claim_with_a_failed_then_a_paid_payment_shows_the_latest(db_session: Session) -> None:
    employer = create_employer(district_code="017")
    employee = create_employee(employer_id=employer.id, unused_months=24)
    paid_at = datetime(2021, 11, 2, 3, 4, 5, tzinfo=UTC)
    claim_id = insert_claim(
        employee,
        employer,
        "paid",
        reasons=["possible_duplicate"],
        review_due_on=date(2021, 10, 27),
        paid_at=paid_at,
        bank_code="VCB",
        bank_account="0011001234567",
    )
    insert_payment(claim_id, 1, "failed", failure_code="ACCOUNT_CLOSED")
    insert_payment(claim_id, 2, "paid", settled_at=paid_at)
    result = support_for(employee.si_code)
    assert result is not None
    assert result["claim"] == {
        "id": claim_id,
        "state": "paid",
        "track": "A",
        "support_group": "A",
        "unused_months": 24,
        "amount_vnd": 2_100_000,
        "payout": "bank",
        "unit_code": employer.unit_code,
        "district_code": "017",
        "reasons": [
            {
                "code": "possible_duplicate",
                "label_vi": REASON_LABELS["possible_duplicate"][0],
                "label_en": REASON_LABELS["possible_duplicate"][1],
            }
        ],
        "review_due_on": "2021-10-27",
        "payment_due_on": None,
        "paid_at": paid_at.isoformat(),
    }
    assert result["payment"] == {
        "state": "paid",
        "amount_vnd": 2_100_000,
        "paid_at": paid_at.isoformat(),
        "attempt": 2,
        "failure_code": None,
    }
    assert result["eligible"] is True


def test_a_failed_payment_has_no_paid_at(db_session: Session) -> None:
    employee = create_employee()
    claim_id = insert_claim(employee, employee.employer, "payment_failed")
    insert_payment(claim_id, 1, "failed", failure_code="ACCOUNT_NOT_FOUND")
    result = support_for(employee.si_code)
    assert result is not None
    assert result["payment"] == {
        "state": "failed",
        "amount_vnd": 2_100_000,
        "paid_at": None,
        "attempt": 1,
        "failure_code": "ACCOUNT_NOT_FOUND",
    }


@pytest.mark.parametrize(("state", "eligible"), [("rejected", False), ("removed", False), ("declined", True)])
def test_rejected_or_removed_claims_are_not_eligible_declined_ones_are(
    db_session: Session, state: str, eligible: bool
) -> None:
    employee = create_employee()
    insert_claim(employee, employee.employer, state)
    result = support_for(employee.si_code)
    assert result is not None
    assert (result["claim"]["state"], result["payment"], result["eligible"]) == (state, None, eligible)
    assert result["group"] == "A"


def test_track_b_claim_at_another_district_is_in_scope_there(db_session: Session) -> None:
    """A Form 04 taken in Quận 1 for a person whose last employer is in Đông Anh: both offices may look."""
    employer = create_employer(district_code="017")
    employee = create_employee(
        ui_status="stopped", ui_stopped_on=date(2021, 5, 31), employer_id=employer.id, district_code="761"
    )
    claim_id = insert_claim(employee, employer, "applied", track="B", district_code="760")
    result = support_for(employee.si_code)
    assert result is not None
    assert result["claim"]["id"] == claim_id
    assert (result["claim"]["track"], result["claim"]["unit_code"]) == ("B", employer.unit_code)
    assert (result["district_code"], result["province_code"]) == ("760", "79")
    assert result["scope"] == {
        "employer_ids": [employer.id],
        "district_codes": ["017", "760", "761"],
        "province_codes": ["01", "79"],
    }


def test_a_claim_in_another_program_is_not_shown(db_session: Session) -> None:
    employee = create_employee()
    db_session.execute(
        text(
            """
            INSERT INTO programs (code, name_vi, name_en, cutoff_date, stop_window_start, stop_window_end,
                months_counted_to, max_months, excluded_sectors, list_deadline, employer_review_wd,
                adjustment_deadline, payment_after_confirmation_wd, payment_after_adjustment_days,
                track_a_fallback_after, application_deadline, application_payment_wd, payment_deadline,
                extension_until, reduction_start_month, reduction_months, normal_rate_bp, reduced_rate_bp,
                max_payment_failures)
            SELECT 'DEMO', name_vi, name_en, cutoff_date, stop_window_start, stop_window_end, months_counted_to,
                max_months, excluded_sectors, list_deadline, employer_review_wd, adjustment_deadline,
                payment_after_confirmation_wd, payment_after_adjustment_days, track_a_fallback_after,
                application_deadline, application_payment_wd, payment_deadline, extension_until,
                reduction_start_month, reduction_months, normal_rate_bp, reduced_rate_bp, max_payment_failures
            FROM programs WHERE code = 'NQ116'
            """
        )
    )
    db_session.execute(
        text(
            "INSERT INTO amount_tiers (program_id, min_months, amount_vnd)"
            " SELECT id, 0, 1000000 FROM programs WHERE code = 'DEMO'"
        )
    )
    insert_claim(employee, employee.employer, "listed")
    demo = support_for(employee.si_code, "DEMO")
    assert demo is not None
    assert (demo["claim"], demo["amount_vnd"]) == (None, 1_000_000)
    nq = support_for(employee.si_code)
    assert nq is not None and nq["claim"] is not None and nq["claim"]["state"] == "listed"
