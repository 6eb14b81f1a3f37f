"""The case page's timeline and the API's say the system's reasons the same way (one function,
:func:`disburse.verification.review.event_reason`): a payment the bank sent back, a referral verification made, a
Form 03 removal without the unit's reason, each in the reader's language; a unit's own words and a caseworker's
written refusal as written. Read through the real services, the real page and the real API."""

from __future__ import annotations

import html as html_
import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from disburse.auth.service import create_token
from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from disburse.payments import reasons as payment_reasons
from disburse.payments.providers import ProviderStatus, StatusUpdate
from disburse.payments.status import apply_updates
from disburse.registry.models import Employee
from disburse.verification import reasons, review
from disburse.verification import service as verification
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_payment, create_user

DONG_ANH = "017"


def _page_reasons(client: Any, claim_id: int) -> list[str]:
    """The reasons the case page's timeline prints, in order."""
    page = client.get(f"/caseworker/claims/{claim_id}").get_data(as_text=True)
    timeline = page.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    return [html_.unescape(reason).strip() for reason in re.findall(r'<p class="reason">(.*?)</p>', timeline, re.S)]


def _api_reasons(client: Any, claim_id: int, user: Any, language: str) -> list[str]:
    headers = {"Authorization": f"Bearer {create_token(user)}", "Accept-Language": language}
    answer = client.get(f"/api/v1/claims/{claim_id}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return [event["reason"] for event in answer.get_json()["timeline"] if event["reason"]]


@pytest.fixture
def claims(app, db_session) -> dict[str, int]:
    """A claim of each kind of reason, made by the services that write them."""
    unit = create_employer(district_code=DONG_ANH)
    caseworker = create_user("caseworker", district=DONG_ANH)
    returned = create_payment(create_claim("payment_pending", employee=create_employee(employer_id=unit.id)), "sent")
    apply_updates("sandbox", [StatusUpdate(returned.provider_reference, ProviderStatus.PAID)], source="poll")
    apply_updates(
        "sandbox",
        [StatusUpdate(returned.provider_reference, ProviderStatus.RETURNED, reason_code="rjct.returned")],
        source="poll",
    )
    referred = create_claim(
        "employer_confirmed",
        employee=create_employee(employer_id=unit.id),
        confirmed_on=date(2021, 10, 25),
        bank_code=None,
        bank_account=None,
    )
    verification.verify(ids=[referred.id], today=date(2021, 10, 26))
    refused = create_claim("needs_review", employee=create_employee(employer_id=unit.id))
    review.reject(
        refused.id, caseworker, "not_employed_on_cutoff", "Đã nghỉ việc từ tháng 8/2021, xác minh qua điện thoại."
    )
    made = {"returned": returned.claim_id, "referred": referred.id, "refused": refused.id}
    app.config["DISBURSE_TODAY"] = "2021-10-25"  # Form 03's days
    try:
        bare = create_claim("listed", employee=create_employee(employer_id=unit.id))
        told = create_claim("listed", employee=create_employee(employer_id=unit.id))
        employer = create_user("employer", employer_unit=unit.unit_code, password=PASSWORD)
        rows = [
            {"si_code": db.session.get(Employee, bare.employee_id).si_code, "action": "remove"},
            {
                "si_code": db.session.get(Employee, told.employee_id).si_code,
                "action": "remove",
                "reason": "Nghỉ việc từ 01/09/2021",
            },
        ]
        answer = app.test_client().post(
            f"/api/v1/employers/{unit.unit_code}/adjustments",
            json={"rows": rows},
            headers={"Authorization": f"Bearer {create_token(employer)}"},
        )
        assert [row["outcome"] for row in answer.get_json()["rows"]] == ["removed", "removed"]
    finally:
        app.config["DISBURSE_TODAY"] = None
    made.update(removed=bare.id, removed_with_words=told.id)
    assert all(db.session.get(Claim, i) is not None for i in made.values())
    return made


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_case_page_and_the_api_say_the_same_reasons(client, claims, locale):
    admin = create_user("admin", password=PASSWORD)
    sign_in(client, admin, locale)
    for name, claim_id in claims.items():
        said = _page_reasons(client, claim_id)
        assert said, name  # each claim has a reason to say
        assert said == _api_reasons(client, claim_id, admin, locale), name


def test_the_case_page_says_a_form_03_removal_in_english_and_a_unit_s_words_as_written(client, claims):
    admin = create_user("admin", password=PASSWORD)
    sign_in(client, admin, "en")
    assert "Not at the unit (Form 03)" in _page_reasons(client, claims["removed"])
    # One English wording for the removal's words (the label said "Not employed at the unit"), and a bare removal
    # says them once: the label says what happened, the reason why (they were the same words, twice).
    page = client.get(f"/caseworker/claims/{claims['removed']}").get_data(as_text=True)
    timeline = html_.unescape(page.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0])
    assert "Taken off the list by the unit (Form 03)" in timeline
    assert timeline.count("Not at the unit (Form 03)") == 1 and "Not employed at the unit" not in timeline
    sign_in(client, admin, "vi")
    page = client.get(f"/caseworker/claims/{claims['removed']}").get_data(as_text=True)
    timeline = html_.unescape(page.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0])
    assert timeline.count("Không có tại đơn vị (Mẫu số 03)") == 1
    assert "Đơn vị đưa ra khỏi danh sách (Mẫu số 03)" in timeline
    sign_in(client, admin, "en")
    assert "Nghỉ việc từ 01/09/2021" in _page_reasons(client, claims["removed_with_words"])
    assert "Đã nghỉ việc từ tháng 8/2021, xác minh qua điện thoại." in _page_reasons(client, claims["refused"])
    assert payment_reasons.label("rjct.returned")[1] in _page_reasons(client, claims["returned"])


def test_form_03_writes_the_words_the_timelines_read(claims):
    """The words a bare Form 03 removal is recorded with are the constant the timelines translate
    (:data:`disburse.verification.reasons.REMOVED_ON_FORM_03`): changed in one place only, the English pages would
    show the Vietnamese."""
    written = db.session.scalars(
        select(ClaimEvent.reason).where(ClaimEvent.claim_id == claims["removed"], ClaimEvent.action == "remove")
    ).all()
    assert written == [reasons.REMOVED_ON_FORM_03[0]]
