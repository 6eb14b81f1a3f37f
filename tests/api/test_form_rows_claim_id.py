"""Forms 02 and 03 over the API give every row the person's claim on the unit's list (``claim_id``) whatever the row's
outcome, an error too: a row refused for its values (a phone, an account number, a repeated SI code) is about a claim
the unit can see, as the rows refused for the claim's state are. ``null`` only for a person without a claim on the
unit's list (not listed there, or an SI code that is no one's). Real PostgreSQL, the real forms."""

from __future__ import annotations

from typing import Any

import pytest

from disburse.auth.service import create_token
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.factories import create_claim, create_employee, create_employer, create_user


@pytest.fixture(autouse=True)
def _clock(app):
    app.config["DISBURSE_TODAY"] = "2021-10-25"  # Forms 02 and 03 both taken
    yield
    app.config["DISBURSE_TODAY"] = None


def _si(claim: Any) -> str:
    return db.session.get(Employee, claim.employee_id).si_code


def _send(client: Any, unit: Any, form: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    employer = create_user("employer", employer_unit=unit.unit_code)
    headers = {"Authorization": f"Bearer {create_token(employer)}", "Accept-Language": "en"}
    answer = client.post(f"/api/v1/employers/{unit.unit_code}/{form}", json={"rows": rows}, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["rows"]


def _codes(row: dict[str, Any]) -> set[str]:
    return {error["code"] for error in row["errors"]}


def test_form_03_error_rows_name_the_persons_claim(client, db_session):
    unit = create_employer(district_code="017")
    listed = [create_claim("listed", employee=create_employee(employer_id=unit.id)) for _ in range(4)]
    elsewhere = create_claim("listed", employee=create_employee(employer_id=create_employer(district_code="017").id))
    rows = [
        {"si_code": _si(listed[0]), "action": "correct", "phone": "12345"},  # phone_format
        {"si_code": _si(listed[1]), "action": "correct", "bank_code": "VCB", "bank_account": "12"},  # account_format
        {"si_code": _si(listed[2]), "action": "fix"},  # action_unknown
        {"si_code": _si(listed[3]), "action": "remove", "reason": "x" * 901},  # reason_too_long
        {"si_code": _si(elsewhere), "action": "remove"},  # not on this unit's list: another unit's claim is not named
        {"si_code": "0199999999", "action": "remove"},  # no one's
    ]
    answered = _send(client, unit, "adjustments", rows)
    assert [_codes(row) for row in answered] == [
        {"phone_format"},
        {"account_format"},
        {"action_unknown"},
        {"reason_too_long"},
        {"not_on_list"},
        {"not_on_list"},
    ]
    assert [row["outcome"] for row in answered] == ["error"] * 6
    assert [row["claim_id"] for row in answered] == [claim.id for claim in listed] + [None, None]


def test_form_02_error_rows_name_the_persons_claim_as_well(client, db_session):
    unit = create_employer(district_code="017")
    listed = [create_claim("listed", employee=create_employee(employer_id=unit.id)) for _ in range(3)]
    rows = [
        {"si_code": _si(listed[0]), "bank_code": "VCB", "bank_account": "12"},  # account_format
        {"si_code": _si(listed[1]), "decline": "perhaps"},  # decline_value
        {"si_code": _si(listed[2]), "bank_code": "VCB", "bank_account": "0011004455667"},
        {"si_code": _si(listed[2]), "bank_code": "VCB", "bank_account": "0011004455667"},  # si_code_repeated, twice
    ]
    answered = _send(client, unit, "confirmations", rows)
    assert [row["outcome"] for row in answered] == ["error"] * 4
    assert [row["claim_id"] for row in answered] == [listed[0].id, listed[1].id, listed[2].id, listed[2].id]


def test_the_rows_that_went_through_keep_their_claim(client, db_session):
    unit = create_employer(district_code="017")
    claim = create_claim("listed", employee=create_employee(employer_id=unit.id))
    answered = _send(client, unit, "adjustments", [{"si_code": _si(claim), "action": "correct", "phone": "0987654301"}])
    assert (answered[0]["outcome"], answered[0]["claim_id"]) == ("corrected", claim.id)


@pytest.mark.parametrize("si_code", ["01000\x0012345", "x" * 300])
def test_an_si_code_that_can_be_no_ones_is_looked_up_nowhere(client, db_session, si_code):
    """Such a row is refused for its SI code (the form's row error, not a 422 of the whole form) and names no claim."""
    unit = create_employer(district_code="017")
    answered = _send(client, unit, "adjustments", [{"si_code": si_code, "action": "remove"}])
    assert (answered[0]["outcome"], answered[0]["claim_id"]) == ("error", None)
    assert "si_code_format" in _codes(answered[0])
