"""``GET /api/v1/claims/<id>``: the system's reasons on the timeline (a payment the bank sent back, why a claim went to
a caseworker, a refusal verification made, a Form 03 removal without a reason) in the caller's language, as every
other text of the API; a person's words stay as they wrote them. Real PostgreSQL, the real services that write the
events."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from disburse.auth.service import create_token
from disburse.claims import service as claims
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.payments import reasons as payment_reasons
from disburse.payments.providers import ProviderStatus, StatusUpdate
from disburse.payments.status import apply_updates
from disburse.registry.models import Employee, Employer
from disburse.verification import reasons, review
from disburse.verification import service as verification
from tests.factories import create_claim, create_employee, create_employer, create_payment, create_user


def _timeline(client: Any, claim_id: int, user: Any, language: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {create_token(user)}", "Accept-Language": language}
    answer = client.get(f"/api/v1/claims/{claim_id}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["timeline"]


def _reasons(timeline: list[dict[str, Any]], action: str) -> list[str]:
    return [event["reason"] for event in timeline if event["action"] == action]


@pytest.mark.parametrize("role", ["admin", "employer"])
def test_a_payment_the_bank_sent_back(client, db_session, role):
    payment = create_payment(state="sent")
    apply_updates("sandbox", [StatusUpdate(payment.provider_reference, ProviderStatus.PAID)], source="poll")
    returned = StatusUpdate(payment.provider_reference, ProviderStatus.RETURNED, reason_code="rjct.returned")
    apply_updates("sandbox", [returned], source="poll")
    claim = payment.claim_id
    vi, en = payment_reasons.label("rjct.returned")
    assert vi == "Ngân hàng người nhận trả lại tiền"
    unit = db_session.get(Employer, db_session.get(Claim, claim).employer_id)
    user = create_user("admin") if role == "admin" else create_user("employer", employer_unit=unit.unit_code)
    assert _reasons(_timeline(client, claim, user, "en"), "payment_returned") == [en]
    assert _reasons(_timeline(client, claim, user, "vi"), "payment_returned") == [vi]


def test_the_checks_referral_and_refusal(client, db_session):
    unit = create_employer(district_code="017")
    missing = create_claim(
        "employer_confirmed",
        employee=create_employee(employer_id=unit.id),
        confirmed_on=date(2021, 10, 25),
        bank_code=None,
        bank_account=None,
    )
    late = create_claim(
        "applied",
        employee=create_employee(ui_status="stopped", ui_stopped_on=date(2021, 6, 30)),
        applied_on=date(2021, 12, 21),
        bank_code=None,
        bank_account=None,
    )
    verification.verify(ids=[missing.id, late.id], today=date(2021, 12, 22))
    admin = create_user("admin")

    db_session.refresh(missing)
    assert "bank_details_missing" in missing.reasons  # with whatever else the checks found
    labels = [reasons.label(code) for code in sorted(missing.reasons)]
    english = _reasons(_timeline(client, missing.id, admin, "en"), "flag_for_review")
    assert english == [" ".join(en for _, en in labels)]
    assert _reasons(_timeline(client, missing.id, admin, "vi"), "flag_for_review") == [" ".join(vi for vi, _ in labels)]
    # A refusal names only its refusing codes (the claim keeps bank_details_missing too).
    refusal = reasons.label("applied_after_deadline")
    assert _reasons(_timeline(client, late.id, admin, "en"), "reject") == [refusal[1]]
    assert _reasons(_timeline(client, late.id, admin, "vi"), "reject") == [refusal[0]]


def test_a_period_end_referral(client, db_session):
    """What the programme's close-out and the payments write: the reason of a flag_for_review."""
    claim = create_claim("payment_failed")
    claims.flag_for_review_many(
        [claim.id],
        [reasons.PAYMENT_PERIOD_ENDED],
        program_id=claim.program_id,
        reason=reasons.written_reason([reasons.PAYMENT_PERIOD_ENDED]),
        data={"reasons": [reasons.PAYMENT_PERIOD_ENDED]},
    )
    words = _reasons(_timeline(client, claim.id, create_user("admin"), "en"), "flag_for_review")
    assert words[-1] == reasons.label(reasons.PAYMENT_PERIOD_ENDED)[1]


def test_a_person_s_words_stay_as_written(client, db_session):
    """A caseworker's written refusal (even one that happens to carry a code's data) and a unit's own reason for a
    removal are not translated."""
    caseworker = create_user("caseworker", district="017")
    unit = create_employer(district_code="017")
    claim = create_claim("needs_review", employee=create_employee(employer_id=unit.id))
    written = "Đã nghỉ việc từ tháng 8/2021, xác minh qua điện thoại."
    review.reject(claim.id, caseworker, "not_employed_on_cutoff", written)
    assert _reasons(_timeline(client, claim.id, caseworker, "en"), "reject") == [written]


def test_a_form_03_removal_without_a_reason_and_with_one(client, app, db_session):
    app.config["DISBURSE_TODAY"] = "2021-10-25"
    try:
        unit = create_employer(district_code="017")
        bare = create_claim("listed", employee=create_employee(employer_id=unit.id))
        told = create_claim("listed", employee=create_employee(employer_id=unit.id))
        employer = create_user("employer", employer_unit=unit.unit_code)
        headers = {"Authorization": f"Bearer {create_token(employer)}"}
        rows = [
            {"si_code": db.session.get(Employee, bare.employee_id).si_code, "action": "remove"},
            {
                "si_code": db.session.get(Employee, told.employee_id).si_code,
                "action": "remove",
                "reason": "Nghỉ việc từ 01/09/2021",
            },
        ]
        answer = client.post(f"/api/v1/employers/{unit.unit_code}/adjustments", json={"rows": rows}, headers=headers)
        assert [row["outcome"] for row in answer.get_json()["rows"]] == ["removed", "removed"]
        assert _reasons(_timeline(client, bare.id, employer, "en"), "remove") == ["Not at the unit (Form 03)"]
        assert _reasons(_timeline(client, bare.id, employer, "vi"), "remove") == ["Không có tại đơn vị (Mẫu số 03)"]
        assert _reasons(_timeline(client, told.id, employer, "en"), "remove") == ["Nghỉ việc từ 01/09/2021"]
    finally:
        app.config["DISBURSE_TODAY"] = None
