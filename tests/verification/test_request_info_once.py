"""The same request for information, sent twice, is recorded once. The repeat check named the event the form's page
showed (``seen``) and matched only when the request was the one event written since: the API sends no ``seen``, and
a contact logged or the case taken in between hid the first request, so the employer saw two identical rows. An
identical request still open (same addressee, words, due day; not answered, no decision since) is now found done,
whoever sends it, and nothing is written."""

from __future__ import annotations

import re
from html import unescape

import pytest

from disburse.auth.service import create_token
from disburse.claims import service as claims
from disburse.claims.states import ClaimNote
from disburse.extensions import db
from disburse.programs.calendar import VIETNAM_TZ
from disburse.verification import review
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_user

pytestmark = pytest.mark.usefixtures("paying_clock")

DONG_ANH = "017"
DUE_ON = "2021-12-15"
ASKED = {"addressee": "employer", "note": "Gửi bản sao hợp đồng lao động.", "due_on": "15/12/2021"}


def _requests(claim_id: int) -> list[int]:
    return [e.id for e in claims.claim_events(claim_id) if e.action == ClaimNote.REQUEST_INFO.value]


def _text(response) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district=DONG_ANH, password=PASSWORD)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_page_sent_again_after_other_work_or_without_seen_records_one_request(client, caseworker, locale):
    claim = create_claim("needs_review", district_code=DONG_ANH)
    sign_in(client, caseworker, locale)
    url = f"/caseworker/claims/{claim.id}/request-info"
    seen = re.search(r'name="seen" type="hidden" value="(\d+)"', client.get(url).get_data(as_text=True))
    assert seen
    first = client.post(url, data={**ASKED, "seen": seen[1]})
    assert first.status_code == 302
    # Work on the claim in between (the case taken), then the same form sent again: with its old seen, and with none.
    requested = claims.claim_events(claim.id)[-1]
    client.post(f"/caseworker/claims/{claim.id}/assign", data={})
    assert claims.claim_events(claim.id)[-1].id > requested.id  # an event since the form's seen: it hid the first
    before = len(claims.claim_events(claim.id))
    day = f"{requested.created_at.astimezone(VIETNAM_TZ):%d/%m/%Y}"
    for again in ({**ASKED, "seen": seen[1]}, ASKED, {**ASKED, "note": "  Gửi bản sao   hợp đồng lao động. "}):
        response = client.post(url, data=again)
        assert response.status_code == 302
        said = _text(client.get(response.headers["Location"]))
        if locale == "vi":
            assert f"Yêu cầu này đã được ghi nhận ngày {day} và đang chờ trả lời; không ghi thêm." in said
        else:
            assert f"This request was recorded on {day} and is waiting for an answer; nothing more" in said
    assert len(_requests(claim.id)) == 1
    assert len(claims.claim_events(claim.id)) == before


def test_the_api_sent_twice_records_one_request_and_another_request_is_recorded(client, caseworker, app, monkeypatch):
    claim = create_claim("needs_review", district_code=DONG_ANH)
    headers = {"Authorization": f"Bearer {create_token(caseworker)}"}
    url = f"/api/v1/claims/{claim.id}/information-requests"
    body = {"addressee": "employer", "note": "Gửi bản sao hợp đồng lao động.", "due_on": DUE_ON}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 200 and first.get_json()["changed"] is True
    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["changed"] is False and again.get_json()["event_ids"] == []
    assert len(_requests(claim.id)) == 1
    # Not the same request: another addressee, other words, another due day; each is recorded.
    for other in ({**body, "addressee": "person"}, {**body, "note": "Gửi bảng lương."}, {**body, "due_on": None}):
        assert client.post(url, json=other, headers=headers).get_json()["changed"] is True
    assert len(_requests(claim.id)) == 4


def test_a_request_answered_or_left_behind_by_a_decision_may_be_asked_again(caseworker):
    claim = create_claim("needs_review", district_code=DONG_ANH)
    asked = review.request_info(claim.id, caseworker, "employer", "Gửi bảng lương.")
    assert asked.changed
    found = review.request_info(claim.id, caseworker, "employer", "Gửi bảng lương.")
    assert not found.changed and found.found is not None and found.found.id == asked.events[0].id
    # The unit answered it: asked again, it is a new request.
    claims.note(claim.id, ClaimNote.ANSWER_INFO, None, data={"request_id": asked.events[0].id, "note": "Đã gửi."})
    assert review.request_info(claim.id, caseworker, "employer", "Gửi bảng lương.").changed
    db.session.flush()
    assert len(_requests(claim.id)) == 2
