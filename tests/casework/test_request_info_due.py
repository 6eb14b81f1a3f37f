"""The request for information's due date: not before today, not after the programme's last payable day, said on the
field in both languages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from disburse.claims.models import ClaimEvent
from disburse.extensions import db
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program
from tests.casework.test_pages import DONG_ANH, _text
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_user

pytestmark = pytest.mark.usefixtures("paying_clock")


@pytest.mark.parametrize(
    ("locale", "late_words", "past_words"),
    [
        (
            "vi",
            "Hạn bổ sung không được sau ngày {day}, ngày cuối cùng chương trình còn chi trả.",
            "Hạn bổ sung không được trước hôm nay ({today}).",
        ),
        (
            "en",
            "The due date cannot be after {day}, the programme's last day of payment.",
            "The due date cannot be before today ({today}).",
        ),
    ],
)
def test_a_due_date_after_the_last_payable_day_or_before_today_is_refused_on_the_field(
    client, db_session, locale, late_words, past_words
):
    sign_in(client, create_user("caseworker", district=DONG_ANH, password=PASSWORD), locale)
    claim = create_claim("needs_review")
    last = db.session.get(Program, claim.program_id).last_payable_day
    today = programme_today()
    page = f"/caseworker/claims/{claim.id}/request-info"

    for due, words in (
        ("01/01/2099", late_words.format(day=last.strftime("%d/%m/%Y"))),
        ((last + timedelta(days=1)).strftime("%d/%m/%Y"), late_words.format(day=last.strftime("%d/%m/%Y"))),
        ((today - timedelta(days=1)).strftime("%d/%m/%Y"), past_words.format(today=today.strftime("%d/%m/%Y"))),
    ):
        response = client.post(page, data={"addressee": "employer", "note": "Gửi hợp đồng.", "due_on": due})
        assert response.status_code == 422, due
        assert words in _text(response)
        assert 'href="#due_on"' in response.get_data(as_text=True)  # the summary points at the field
    assert db_session.query(ClaimEvent).filter_by(claim_id=claim.id, action="request_info").count() == 0

    response = client.post(
        page, data={"addressee": "employer", "note": "Gửi hợp đồng.", "due_on": last.strftime("%d/%m/%Y")}
    )
    assert response.status_code == 302
    assert db_session.query(ClaimEvent).filter_by(claim_id=claim.id, action="request_info").count() == 1


def test_the_api_refuses_the_same_due_dates_through_the_same_service(client, db_session):
    """The page's form and the API: one rule, in the service (the API took 01/01/2099 when only the form checked)."""
    from disburse.auth.service import create_token

    claim = create_claim("needs_review")
    last = db.session.get(Program, claim.program_id).last_payable_day
    token = {
        "Authorization": f"Bearer {create_token(create_user('caseworker', district=DONG_ANH))}",
        "Accept-Language": "en",
    }
    url = f"/api/v1/claims/{claim.id}/information-requests"
    for due in ("2099-01-01", (last + timedelta(days=1)).isoformat()):
        refused = client.post(url, json={"addressee": "person", "note": "Nộp sổ BHXH.", "due_on": due}, headers=token)
        assert refused.status_code == 422, refused.get_json()
        assert refused.get_json()["fields"]["due_on"] == (
            f"The due date cannot be after {last:%d/%m/%Y}, the programme's last day of payment."
        )
    assert db_session.query(ClaimEvent).filter_by(claim_id=claim.id, action="request_info").count() == 0
    taken = client.post(
        url, json={"addressee": "person", "note": "Nộp sổ BHXH.", "due_on": last.isoformat()}, headers=token
    )
    assert taken.status_code == 200, taken.get_json()
