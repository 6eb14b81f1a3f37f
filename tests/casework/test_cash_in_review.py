"""A claim in review whose bank details are missing (or cannot be paid): the case page does not offer "Approve" as a
plain button that can only fail; it says what is missing and offers the two ways on, in one place: enter the bank
details, or approve with cash at the office. The cash way changes the payout and approves in one step, through the
transition path, with the caseworker on both events; refused as a whole when approval is (duplicates undecided);
the same post twice is done once; in Vietnamese and English."""

from __future__ import annotations

import html as html_
import re

import pytest
from sqlalchemy import select

from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.support import reason_entries
from disburse.extensions import db
from disburse.verification import review
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_duplicate_group, create_user

#: Approving, correcting into approved and paying need a day of the programme's payment period.
pytestmark = pytest.mark.usefixtures("paying_clock")

WHY = "Người lao động không có tài khoản ngân hàng, đã gọi điện xác nhận."


def _text(response) -> str:
    return html_.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _events(claim_id: int) -> list[ClaimEvent]:
    return list(db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id)))


def _without_bank(**overrides) -> Claim:
    values = {"reasons": ["bank_details_missing"], "bank_code": None, "bank_account": None, **overrides}
    return create_claim("needs_review", **values)


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district="017", password=PASSWORD)


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "vi",
            {
                "approve": ">Duyệt</a>",
                "panel": "Chưa thể duyệt: chọn cách người lao động nhận tiền",
                "missing": "Hồ sơ nhận tiền qua chuyển khoản nhưng thiếu ngân hàng hoặc số tài khoản.",
                "bank": "Nhập thông tin tài khoản ngân hàng",
                "cash": "Duyệt, nhận tiền mặt tại cơ quan BHXH",
                "why_not": "Chưa thể duyệt: hồ sơ nhận tiền qua chuyển khoản nhưng thiếu ngân hàng hoặc số tài khoản.",
                "required": "Hãy ghi lý do người lao động nhận tiền mặt tại cơ quan BHXH.",
                "done": "Hồ sơ đã được duyệt; người lao động nhận tiền mặt tại cơ quan BHXH",
                "paid_by": "Nhận tiền mặt tại cơ quan BHXH",
                "history": "Chuyển khoản → Tiền mặt tại cơ quan BHXH",
            },
        ),
        (
            "en",
            {
                "approve": ">Approve</a>",
                "panel": "Cannot be approved yet: choose how the person is paid",
                "missing": "The claim is paid by bank transfer but the bank or the account number is missing.",
                "bank": "Enter the bank details",
                "cash": "Approve, paid in cash at the office",
                "why_not": "The claim cannot be approved yet: it is paid by bank transfer but the bank or the account "
                "number is missing.",
                "required": "Give the reason the person is paid in cash at the office.",
                "done": "The claim is approved; the person is paid in cash at the office",
                "paid_by": "Cash at the office",
                "history": "Bank transfer → Cash at the office",
            },
        ),
    ],
)
def test_a_claim_in_review_without_bank_details_is_approved_for_cash_at_the_office(client, caseworker, locale, words):
    claim = _without_bank()
    sign_in(client, caseworker, locale)
    case_url = f"/caseworker/claims/{claim.id}"
    cash_url, bank_url = f"{case_url}/approve-cash", f"{case_url}/payment-details"

    page = client.get(case_url)
    html, text = page.get_data(as_text=True), _text(page)
    # No "Approve" that can only answer 409: what is missing, and the two ways on, in one panel.
    assert f'href="{case_url}/approve"' not in html and words["approve"] not in html
    panel = html.split('id="chua-the-duyet-tai-khoan"', 1)[1].split("</section>", 1)[0]
    assert words["panel"] in panel and words["missing"] in _text_of(panel)
    assert f'<a href="{bank_url}">{words["bank"]}</a>' in panel
    assert f'<a href="{cash_url}">{words["cash"]}</a>' in panel
    assert html.count(f'href="{bank_url}"') == 1  # the panel's way, not again among the actions
    assert words["panel"] in text
    # A link to the approval form kept from before goes back to the case, saying why and what to do.
    kept = client.get(f"{case_url}/approve")
    assert kept.status_code == 302 and kept.headers["Location"] == case_url
    assert words["why_not"] in _text(client.get(case_url))

    form = client.get(cash_url)
    assert form.status_code == 200 and '<label for="reason">' in form.get_data(as_text=True)
    # No reason: said above the form and on the field; nothing written.
    recorded = [e.id for e in _events(claim.id)]
    refused = client.post(cash_url, data={"reason": "   "})
    assert refused.status_code == 422 and _text(refused).count(words["required"]) == 2
    assert [e.id for e in _events(claim.id)] == recorded

    done = client.post(cash_url, data={"reason": f" {WHY} "})
    assert done.status_code == 302 and done.headers["Location"] == case_url
    page = client.get(case_url)
    text = _text(page)
    assert words["done"] in text and words["paid_by"] in text and words["history"] in text
    assert 'id="chua-the-duyet-tai-khoan"' not in page.get_data(as_text=True)

    db.session.expire_all()
    claim = db.session.get(Claim, claim.id)
    assert (claim.state, claim.payout, claim.bank_code, claim.bank_account) == ("approved", "cash", None, None)
    assert "bank_details_missing" not in claim.reasons
    switch, approve = _events(claim.id)[len(recorded) :]
    assert (switch.action, switch.from_state, switch.to_state) == ("correct", "needs_review", "needs_review")
    assert switch.actor_id == caseworker.id and switch.reason == WHY
    assert switch.data["old"] == {"payout": "bank", "bank_code": None, "bank_account": None}
    assert switch.data["new"] == {"payout": "cash", "bank_code": None, "bank_account": None}
    assert (approve.action, approve.from_state, approve.to_state) == ("approve", "needs_review", "approved")
    assert approve.actor_id == caseworker.id

    # Posted again (a double click): said done, nothing written twice.
    again = client.post(cash_url, data={"reason": WHY})
    assert again.status_code == 302 and again.headers["Location"] == case_url
    assert words["done"] in _text(client.get(case_url))
    assert len(_events(claim.id)) == len(recorded) + 2


def _text_of(fragment: str) -> str:
    return html_.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


def test_a_claim_another_caseworker_holds_says_what_is_missing_and_offers_no_way_on(client, caseworker):
    """The panel offered its two ways on to a caseworker who may not act on the claim (another holds it): each form
    would only be refused."""
    holder = create_user("caseworker", district="017", password=PASSWORD)
    claim = _without_bank()
    review.assign(claim.id, holder)
    db.session.commit()
    sign_in(client, caseworker, "en")
    case_url = f"/caseworker/claims/{claim.id}"
    html = client.get(case_url).get_data(as_text=True)
    panel = html.split('id="chua-the-duyet-tai-khoan"', 1)[1].split("</section>", 1)[0]
    assert "the bank or the account number is missing" in _text_of(panel)
    assert f"{case_url}/payment-details" not in html and f"{case_url}/approve-cash" not in html


def test_an_account_that_cannot_be_paid_is_said_too_and_the_bank_way_leads_to_approve(client, caseworker):
    """A malformed account keeps the claim from approval as a missing one does; entering good details brings
    "Approve" back, as a plain button."""
    claim = create_claim("needs_review", reasons=["bank_details_malformed"], bank_account="12AB")
    sign_in(client, caseworker, "en")
    case_url = f"/caseworker/claims/{claim.id}"
    html = client.get(case_url).get_data(as_text=True)
    assert "the account number is not in the right form" in _text_of(html)
    assert f'href="{case_url}/approve"' not in html
    saved = client.post(
        f"{case_url}/payment-details", data={"bank_code": "BIDV", "bank_account": "21510001234567", "confirmed": "1"}
    )
    assert saved.status_code == 302
    html = client.get(case_url).get_data(as_text=True)
    assert f'href="{case_url}/approve"' in html and 'id="chua-the-duyet-tai-khoan"' not in html
    assert client.post(f"{case_url}/approve", data={"note": ""}).status_code == 302
    assert db.session.get(Claim, claim.id).state == "approved"


def test_cash_is_refused_whole_when_approval_is(client, caseworker):
    """Undecided possible duplicates keep a claim from approval: the switch to cash is undone with it (one person is
    paid once); the form's link says so before."""
    here, _there = create_duplicate_group("needs_review", districts=("017", "017"))
    here.bank_code = here.bank_account = None
    here.reasons = [*here.reasons, "bank_details_missing"]
    db.session.flush()
    sign_in(client, caseworker, "en")
    url = f"/caseworker/claims/{here.id}/approve-cash"
    kept = client.get(url)
    assert kept.status_code == 302
    assert "possible duplicates not yet decided" in _text(client.get(f"/caseworker/claims/{here.id}"))
    recorded = [e.id for e in _events(here.id)]
    refused = client.post(url, data={"reason": WHY})
    assert refused.status_code == 409 and "possible duplicates not yet decided" in _text(refused)
    db.session.expire_all()
    claim = db.session.get(Claim, here.id)
    assert (claim.state, claim.payout) == ("needs_review", "bank")
    assert [e.id for e in _events(here.id)] == recorded


def test_only_the_offices_caseworkers_choose_cash_and_not_on_someone_elses_case(client, caseworker):
    """Cash is handed over at the claim's office: a supervisor is told who chooses it (no link, 403 on the form);
    a caseworker does not decide a case another one holds."""
    claim = _without_bank()
    supervisor = create_user("supervisor", province="01", password=PASSWORD)
    sign_in(client, supervisor, "en")
    html = client.get(f"/caseworker/claims/{claim.id}").get_data(as_text=True)
    assert "Cash at the office: the district's caseworkers choose it on approval." in _text_of(html)
    assert f"/caseworker/claims/{claim.id}/approve-cash" not in html
    assert client.post(f"/caseworker/claims/{claim.id}/approve-cash", data={"reason": WHY}).status_code == 403
    client.post("/logout")

    review.assign(claim.id, create_user("caseworker", district="017"))
    sign_in(client, caseworker, "en")
    refused = client.post(f"/caseworker/claims/{claim.id}/approve-cash", data={"reason": WHY})
    assert refused.status_code == 409 and "Another caseworker holds this claim" in _text(refused)
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).payout == "bank"


@pytest.mark.parametrize(
    ("locale", "reason", "error"),
    [
        (
            "vi",
            "Đơn vị chưa xác nhận người lao động (Mẫu số 02) trong thời hạn",
            "Hãy kiểm tra các nội dung cần xác minh ở trên rồi đánh dấu “Tôi đã kiểm tra các nội dung trên” trước khi "
            "duyệt.",
        ),
        (
            "en",
            "The employer did not confirm the person on Form 02 in time",
            "Check the points above that needed checking, then tick “I have checked the above” before approving.",
        ),
    ],
)
def test_approval_for_cash_asks_the_same_check_as_approval_but_of_the_bank_details_it_settles(
    client, caseworker, locale, reason, error
):
    """The cash approval is an approval: what verification found is shown and must be ticked as checked, as on the
    approval page, but for the missing bank details that choosing cash settles."""
    claim = _without_bank(reasons=["bank_details_missing", "not_confirmed_by_employer"])
    sign_in(client, caseworker, locale)
    url = f"/caseworker/claims/{claim.id}/approve-cash"
    listed = client.get(url).get_data(as_text=True).split('id="to-check-title"', 1)[1].split("</section>", 1)[0]
    [bank] = reason_entries(["bank_details_missing"])
    assert reason in _text_of(listed) and bank[f"label_{locale}"] not in _text_of(listed)

    recorded = [e.id for e in _events(claim.id)]
    refused = client.post(url, data={"reason": WHY})
    assert refused.status_code == 422 and error in _text(refused) and WHY in refused.get_data(as_text=True)
    assert [e.id for e in _events(claim.id)] == recorded
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "needs_review"

    done = client.post(url, data={"reason": WHY, "checked": "y"})
    assert done.status_code == 302
    approve = _events(claim.id)[-1]
    assert approve.action == "approve" and approve.data == {"checked": ["not_confirmed_by_employer"]}


def test_approval_for_cash_of_a_claim_with_only_its_bank_details_to_check_needs_no_tick(client, caseworker):
    claim = _without_bank()
    sign_in(client, caseworker, "vi")
    url = f"/caseworker/claims/{claim.id}/approve-cash"
    assert 'name="checked"' not in client.get(url).get_data(as_text=True)
    assert client.post(url, data={"reason": WHY}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).state == "approved"


def test_bank_details_given_to_a_claim_paid_in_cash_say_in_its_history_that_it_is_paid_by_transfer(client, caseworker):
    """The person paid at the office brings an account: the correction moves the claim to transfer, and its timeline
    says so beside the new details (it showed only the bank and the account)."""
    claim = create_claim("needs_review", reasons=["bank_details_missing"], bank_code=None, bank_account=None)
    claim.payout = "cash"
    db.session.flush()
    sign_in(client, caseworker, "en")
    case_url = f"/caseworker/claims/{claim.id}"
    saved = client.post(
        f"{case_url}/payment-details", data={"bank_code": "VCB", "bank_account": "0099887766", "confirmed": "1"}
    )
    assert saved.status_code == 302
    assert db.session.get(Claim, claim.id).payout == "bank"
    (event,) = [e for e in _events(claim.id) if e.action == "correct"]
    assert event.data["changes"]["payout"] == ["cash", "bank"]
    timeline = _text(client.get(case_url))
    assert "Bank: — → VCB" in timeline and "0099887766" in timeline
    assert "Paid by: Cash at the office → Bank transfer" in timeline
