"""A decision on a claim is taken on the claim as its page showed it. Two caseworkers of a district open the same
unassigned claim; one approves it; the other's refusal (or decline, or approval after a refusal), typed on the page
as it was, is refused with the claim's new state rather than undoing the colleague's decision. Sent again once the
page shows the claim as it is, it is the caseworker's informed decision and is taken. The same post sent twice by
one person and a colleague's note meanwhile are not changes of the claim."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from disburse.verification import review
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_user

pytestmark = pytest.mark.usefixtures("paying_clock")

DONG_ANH = "017"
REFUSAL = {"reason_code": "not_employed_on_cutoff", "reason_text": "Đơn vị xác nhận đã nghỉ việc từ 01/2021."}


def _text(response) -> str:
    page = response.group(0) if isinstance(response, re.Match) else response.get_data(as_text=True)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _seen(response) -> str:
    found = re.search(r'name="seen" type="hidden" value="(\d+)"', response.get_data(as_text=True))
    assert found is not None, "the decision's form carries the claim's latest event"
    return found.group(1)


def _moves(claim_id: int) -> list[tuple[str, str | None, str]]:
    events = select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id)
    return [(e.action, e.from_state, e.to_state) for e in db.session.scalars(events) if e.from_state != e.to_state]


@pytest.mark.parametrize(
    ("page", "data", "colleague", "now"),
    [
        ("reject", {**REFUSAL, "confirmed": "1"}, "approve", "Approved"),
        ("decline", {"note": "Đơn đề nghị ngày 02/11/2021."}, "approve", "Approved"),
        ("approve", {}, "reject", "Rejected"),
    ],
)
def test_a_decision_typed_on_a_claim_a_colleague_decided_meanwhile_is_refused(
    app, db_session, page, data, colleague, now
):
    claim = create_claim("needs_review", district_code=DONG_ANH)
    me, other = (create_user("caseworker", district=DONG_ANH, password=PASSWORD) for _ in range(2))
    mine = app.test_client()
    sign_in(mine, me, "en")
    url = f"/caseworker/claims/{claim.id}/{page}"
    seen = _seen(mine.get(url))

    if colleague == "approve":
        review.approve(claim.id, other)
    else:
        review.reject(claim.id, other, REFUSAL["reason_code"], REFUSAL["reason_text"])
    db.session.commit()
    before = _moves(claim.id)

    stale = mine.post(url, data={**data, "seen": seen})
    assert stale.status_code == 409
    assert f"The claim has changed since you opened the page (it is now “{now}”)" in _text(stale)
    db.session.expire_all()
    assert _moves(claim.id) == before, "nothing the colleague decided is undone"

    if page == "approve":
        return  # a refused claim cannot be approved at all: the page now says so
    again = mine.post(url, data={**data, "seen": _seen(stale)})  # decided on the claim as it now is
    assert again.status_code == 302
    db.session.expire_all()
    assert len(_moves(claim.id)) == len(before) + 1


def test_the_same_decision_sent_twice_and_a_colleagues_note_meanwhile_are_no_change(app, db_session):
    claim = create_claim("needs_review", district_code=DONG_ANH)
    me, other = (create_user("caseworker", district=DONG_ANH, password=PASSWORD) for _ in range(2))
    mine = app.test_client()
    sign_in(mine, me)
    url = f"/caseworker/claims/{claim.id}/reject"
    seen = _seen(mine.get(url))
    review.log_contact(claim.id, other, "phone", "no_answer", "Gọi lúc 9 giờ.")
    db.session.commit()

    first = mine.post(url, data={**REFUSAL, "seen": seen, "confirmed": "1"})
    assert first.status_code == 302
    twice = mine.post(url, data={**REFUSAL, "seen": seen, "confirmed": "1"})  # the back button, the form sent again
    assert twice.status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "rejected"
    assert [m[0] for m in _moves(claim.id)].count("reject") == 1


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_refused_claim_says_why_it_was_refused_on_the_queue_and_its_page(app, db_session, locale):
    """The queue's reason column of a refused claim showed what verification had asked to check ("the unit has not
    confirmed…"), and its page never named the refusal's reason: both give the refusal's now, as the notice does."""
    claim = create_claim("needs_review", district_code=DONG_ANH, reasons=["not_confirmed_by_employer"])
    me = create_user("caseworker", district=DONG_ANH, password=PASSWORD)
    review.reject(claim.id, me, REFUSAL["reason_code"], REFUSAL["reason_text"])
    db.session.commit()
    client = app.test_client()
    sign_in(client, me, locale)
    why = review.refusal_reasons()[REFUSAL["reason_code"]][0 if locale == "vi" else 1]
    page = client.get("/caseworker/queue?state=rejected").get_data(as_text=True)
    row = _text(list(re.finditer(r"<tbody>.*?</tbody>", page, re.S))[-1])  # the claims, not the counts above
    assert why in row
    assert ("Đơn vị chưa xác nhận" if locale == "vi" else "has not confirmed") not in row
    said = {"vi": f"Lý do từ chối: {why}", "en": f"Refused because: {why}"}[locale]
    assert said in _text(client.get(f"/caseworker/claims/{claim.id}"))
    listed = client.get("/api/v1/claims?state=rejected").get_json()["claims"]
    mine = next(c for c in listed if c["id"] == claim.id)
    assert [r["code"] for r in mine["refused_for"]] == [REFUSAL["reason_code"]]
    assert [r["code"] for r in mine["reasons"]] == ["not_confirmed_by_employer"]


def test_an_api_decision_with_seen_is_refused_when_a_colleague_moved_the_claim(app, db_session):
    """The same rule for another system deciding through the API: ``seen`` is the latest timeline event it read."""
    from disburse.auth.service import create_token

    claim = create_claim("needs_review", district_code=DONG_ANH)
    me, other = (create_user("caseworker", district=DONG_ANH) for _ in range(2))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {create_token(me)}", "Accept-Language": "en"}
    timeline = client.get(f"/api/v1/claims/{claim.id}", headers=headers).get_json()["timeline"]
    seen = max(event["id"] for event in timeline)
    review.approve(claim.id, other)
    db.session.commit()
    stale = client.post(f"/api/v1/claims/{claim.id}/reject", json={**REFUSAL, "seen": seen}, headers=headers)
    assert stale.status_code == 409 and stale.get_json()["error"] == "changed_since"
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "approved"
    informed = max(e["id"] for e in client.get(f"/api/v1/claims/{claim.id}", headers=headers).get_json()["timeline"])
    again = client.post(f"/api/v1/claims/{claim.id}/reject", json={**REFUSAL, "seen": informed}, headers=headers)
    assert again.status_code == 200, again.get_json()


@pytest.mark.parametrize(
    ("page", "field", "said"),
    [
        ("reject", "reason_text", "Hãy ghi rõ lý do từ chối; lý do này được in trong thông báo."),
        ("decline", "note", "Hãy ghi người lao động đã báo không nhận hỗ trợ bằng cách nào, ngày nào."),
        ("request-info", "note", "Hãy ghi những thông tin cần bổ sung."),
    ],
)
def test_a_required_reason_of_dots_alone_is_no_reason(app, db_session, page, field, said):
    """ "..............." passed as a refusal's reason and was printed on the notice: every required free text of the
    pages must say something (a letter or a digit), or it is refused as blank, nothing done."""
    claim = create_claim("needs_review", district_code=DONG_ANH)
    me = create_user("caseworker", district=DONG_ANH, password=PASSWORD)
    client = app.test_client()
    sign_in(client, me)
    data = {**REFUSAL, "addressee": "employer", field: "..............- —"}
    response = client.post(f"/caseworker/claims/{claim.id}/{page}", data=data)
    assert response.status_code == 422 and said in _text(response)
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "needs_review"


def test_an_employer_cannot_learn_who_holds_its_claims_by_filtering(app, db_session):
    """The rows hide the holder from employers, but ?assigned=<id> returned exactly the claims user <id> held."""
    from disburse.auth.service import create_token
    from tests.factories import create_employee, create_employer

    unit = create_employer(district_code=DONG_ANH)
    claim = create_claim("needs_review", employee=create_employee(employer_id=unit.id, district_code=DONG_ANH))
    holder = create_user("caseworker", district=DONG_ANH)
    review.assign(claim.id, holder)
    db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {create_token(create_user('employer', employer_unit=unit.unit_code))}"}
    for value in (str(holder.id), "none", "me"):
        answer = client.get(f"/api/v1/claims?assigned={value}", headers={**headers, "Accept-Language": "en"})
        assert answer.status_code == 422, (value, answer.get_json())
        assert "Employers cannot filter claims by who holds them" in answer.get_json()["fields"]["assigned"]
    assert [c["id"] for c in client.get("/api/v1/claims", headers=headers).get_json()["claims"]] == [claim.id]


def test_bank_details_typed_on_a_claim_a_colleague_corrected_meanwhile_are_refused(app, db_session):
    """Caseworker A reaches the check step with ACB 111122223333 while B saves VCB 999988887777: A's "confirm" is
    refused naming the account now on the claim (it overwrote B's unseen); the page then carries the claim as it is,
    and A's confirmation sent from it is A's informed correction. The same confirmation twice is one correction."""
    claim = create_claim("needs_review", district_code=DONG_ANH, bank_code=None, bank_account=None)
    me, other = (create_user("caseworker", district=DONG_ANH, password=PASSWORD) for _ in range(2))
    mine = app.test_client()
    sign_in(mine, me, "en")
    url = f"/caseworker/claims/{claim.id}/payment-details"
    typed = {"bank_code": "ACB", "bank_account": "111122223333", "seen": _seen(mine.get(url))}
    check = mine.post(url, data=typed)
    assert check.status_code == 200 and "Check before saving" in _text(check)
    seen = _seen(check)

    from disburse.casework import service as casework

    assert not casework.correct_payment_details(claim.id, other, "VCB", "999988887777").errors
    db.session.commit()

    stale = mine.post(url, data={**typed, "seen": seen, "confirmed": "1"})
    assert stale.status_code == 409
    assert "The claim has changed since you opened the page (its account is now VCB 999988887777)" in _text(stale)
    db.session.expire_all()
    assert (db.session.get(Claim, claim.id).bank_code, db.session.get(Claim, claim.id).bank_account) == (
        "VCB",
        "999988887777",
    )

    again = {**typed, "seen": _seen(stale), "confirmed": "1"}
    assert mine.post(url, data=again).status_code == 302  # decided on the claim as it now is
    assert mine.post(url, data=again).status_code == 302  # and sent twice: nothing more
    db.session.expire_all()
    assert (db.session.get(Claim, claim.id).bank_code, db.session.get(Claim, claim.id).bank_account) == (
        "ACB",
        "111122223333",
    )
    corrections = select(ClaimEvent).where(ClaimEvent.claim_id == claim.id, ClaimEvent.action == "correct")
    assert [e.actor_id for e in db.session.scalars(corrections)] == [other.id, me.id]


def test_bank_details_refused_at_the_check_step_can_be_sent_again_from_the_page(app, db_session):
    """The colleague's correction came before "check": the refusal's page carries the claim as it now is, so the
    next "check" from it goes on (it was refused again and again until the page was reloaded). A colleague's phone
    correction is no change of the bank details."""
    from disburse.casework import service as casework
    from disburse.claims import service as claims
    from disburse.claims.states import ClaimNote

    claim = create_claim("needs_review", district_code=DONG_ANH, bank_code=None, bank_account=None)
    me, other = (create_user("caseworker", district=DONG_ANH, password=PASSWORD) for _ in range(2))
    mine = app.test_client()
    sign_in(mine, me, "en")
    url = f"/caseworker/claims/{claim.id}/payment-details"
    typed = {"bank_code": "ACB", "bank_account": "111122223333", "seen": _seen(mine.get(url))}
    assert not casework.correct_payment_details(claim.id, other, "VCB", "999988887777").errors
    db.session.commit()
    stale = mine.post(url, data=typed)
    assert stale.status_code == 409 and "its account is now VCB 999988887777" in _text(stale)
    check = mine.post(url, data={**typed, "seen": _seen(stale)})
    assert check.status_code == 200 and "Check before saving" in _text(check)

    seen = _seen(check)
    claims.note(claim.id, ClaimNote.CORRECT, other, data={"changes": {"phone": ["0912345678", "0987654321"]}})
    db.session.commit()
    assert mine.post(url, data={**typed, "seen": seen, "confirmed": "1"}).status_code == 302
