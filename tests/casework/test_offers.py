"""A person's offer of bank details dismissed by a caseworker who called the person and found it wrong: the reason is
required, only someone who may work the case dismisses it, it is audited, the same post twice writes it once, the
offer is no longer offered, and the case history says who dismissed it, when and why; in Vietnamese and English."""

from __future__ import annotations

import html as html_
import re
from datetime import date

import pytest
from sqlalchemy import select

from disburse.auth.models import AuditLog
from disburse.casework import service as casework
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.person_details import open_offer
from disburse.extensions import db
from disburse.verification import review
from tests.casework._phone_offers import offer_from_the_public_page
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_offer, create_user

#: Approving, correcting into approved and paying need a day of the programme's payment period.
pytestmark = pytest.mark.usefixtures("paying_clock")

BORN = date(1988, 4, 9)
REASON = "Đã gọi số đã đăng ký: người lao động không gửi đề nghị này."


def _text(response) -> str:
    """The page's text without tags, spaces collapsed (what a person reads)."""
    return html_.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _events(claim_id: int) -> list[tuple[int, str]]:
    return [
        (event.id, event.action)
        for event in db.session.scalars(
            select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id)
        )
    ]


def _audits() -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == "claim.dismiss_offer")))


def _waiting(state: str = "awaiting_payment_details") -> tuple[Claim, ClaimEvent]:
    """A claim waiting for details, and the offer the person sent for it on the public page."""
    person = create_employee(date_of_birth=BORN, district_code="017")
    claim = create_claim(state, employee=person, district_code="017")
    sent = offer_from_the_public_page(claim)
    assert sent.event is not None
    return claim, sent.event


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district="017", password=PASSWORD)


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "vi",
            {
                "panel": "Người lao động đã gửi thông tin tài khoản",
                "label": "Lý do bỏ qua đề nghị",
                "button": "Bỏ qua đề nghị",
                "required": "Hãy ghi lý do bỏ qua đề nghị.",
                "done": "Đã bỏ qua đề nghị của người lao động",
                "history": "Bỏ qua đề nghị của người lao động",
                "why": f"Lý do: {REASON}",
            },
        ),
        (
            "en",
            {
                "panel": "The person sent payment details",
                "label": "Reason for dismissing the offer",
                "button": "Dismiss the offer",
                "required": "Give the reason for dismissing the offer.",
                "done": "The person's offer is dismissed",
                "history": "Person's offer of details dismissed",
                "why": f"Reason: {REASON}",
            },
        ),
    ],
)
def test_a_caseworker_dismisses_a_wrong_offer_with_a_reason_and_the_history_keeps_who_when_why(
    client, caseworker, locale, words
):
    claim, offer = _waiting()
    before = (claim.state, claim.bank_code, claim.bank_account)
    sign_in(client, caseworker, locale)
    case_url, url = f"/caseworker/claims/{claim.id}", f"/caseworker/claims/{claim.id}/offer-dismiss"

    page = client.get(case_url)
    html = page.get_data(as_text=True)
    assert words["panel"] in _text(page)
    # The form sits in the offer's panel: a labelled field, a real button, the offer it names (never the account).
    form = html.split(f'action="{url}"', 1)[1].split("</form>", 1)[0]
    assert f'name="offer" type="hidden" value="{offer.id}"' in form
    assert f'<label for="reason">{words["label"]}</label>' in form
    assert f'<button type="submit" class="secondary">{words["button"]}</button>' in form

    # No reason: said above the form and on the field; nothing written.
    recorded = _events(claim.id)
    response = client.post(url, data={"offer": str(offer.id), "reason": "  "})
    assert response.status_code == 422
    assert _text(response).count(words["required"]) == 2 and 'id="reason-error"' in response.get_data(as_text=True)
    assert _events(claim.id) == recorded and _audits() == []

    response = client.post(url, data={"offer": str(offer.id), "reason": f" {REASON} "})
    assert response.status_code == 302 and response.headers["Location"] == case_url
    page = client.get(case_url)
    text = _text(page)
    assert words["done"] in text
    assert words["panel"] not in text and f'action="{url}"' not in page.get_data(as_text=True)  # no longer offered
    # The history: what was dismissed, by whom, why (and when: the entry's time).
    entry = text.split(words["history"], 1)[1]
    assert re.match(r" · \d\d/\d\d/\d{4} \d\d:\d\d · " + re.escape(caseworker.email), entry)
    assert "BIDV 21510001234567" in entry and words["why"] in entry

    db.session.expire_all()
    claim = db.session.get(Claim, claim.id)
    assert (claim.state, claim.bank_code, claim.bank_account) == before
    assert open_offer(claim) is None
    note = db.session.scalars(select(ClaimEvent).where(ClaimEvent.action == "dismiss_offer")).one()
    assert note.claim_id == claim.id and note.actor_id == caseworker.id
    assert note.from_state == note.to_state == before[0]  # a work note: the claim stays as it was
    assert note.data == {"offer_id": offer.id, "bank_code": "BIDV", "bank_account": "21510001234567", "reason": REASON}
    assert note.reason is None  # in the data only: the employer's view of the history leaves a work note's data out
    [audit] = _audits()
    assert (audit.actor_id, audit.object_type, audit.object_id) == (caseworker.id, "claim", str(claim.id))
    assert audit.data == {"offer_id": offer.id, "event_id": note.id, "reason": REASON}

    # Posted again (a double click): said done, nothing written twice.
    recorded = _events(claim.id)
    again = client.post(url, data={"offer": str(offer.id), "reason": REASON})
    assert again.status_code == 302 and again.headers["Location"] == case_url
    assert words["done"] in _text(client.get(case_url))
    db.session.expire_all()
    assert _events(claim.id) == recorded and len(_audits()) == 1
    # The page on its own, for a link kept: nothing left to dismiss.
    kept = client.get(url)
    assert kept.status_code == 302 and kept.headers["Location"] == case_url


def test_only_who_may_work_the_case_dismisses_an_offer(client, caseworker):
    """The rule of using the offer: not while another caseworker holds the case (no form on the page, a post
    refused, nothing written); a supervisor may, as with every case."""
    claim, offer = _waiting()
    colleague = create_user("caseworker", district="017")
    review.assign(claim.id, colleague)
    sign_in(client, caseworker, "en")
    url = f"/caseworker/claims/{claim.id}/offer-dismiss"
    page = client.get(f"/caseworker/claims/{claim.id}").get_data(as_text=True)
    assert f'action="{url}"' not in page
    assert f"payment-details?offer={offer.id}" not in page  # nor the offer's use, which would be refused too
    recorded = _events(claim.id)
    response = client.post(url, data={"offer": str(offer.id), "reason": REASON})
    assert response.status_code == 409 and "Another caseworker holds this claim" in _text(response)
    assert _events(claim.id) == recorded and _audits() == []
    assert open_offer(db.session.get(Claim, claim.id)) == offer

    client.post("/logout")
    supervisor = create_user("supervisor", province="01", password=PASSWORD)
    sign_in(client, supervisor)
    page = client.get(f"/caseworker/claims/{claim.id}").get_data(as_text=True)
    assert f'action="{url}"' in page and f"payment-details?offer={offer.id}" in page
    assert client.post(url, data={"offer": str(offer.id), "reason": REASON}).status_code == 302
    assert open_offer(db.session.get(Claim, claim.id)) is None


def test_a_dismissal_is_of_the_offer_the_page_showed(client, caseworker):
    """The post names the offer: a newer one sent meanwhile is not dismissed unseen; one a correction settled, or
    dismissed before for another reason, is said so; another claim's offer is not found."""
    claim, offer = _waiting()
    sign_in(client, caseworker, "en")
    url = f"/caseworker/claims/{claim.id}/offer-dismiss"
    newer = create_offer(claim, bank_account="21510009999999")
    response = client.post(url, data={"offer": str(offer.id), "reason": REASON})
    assert response.status_code == 409 and "The person has sent a newer offer since this one" in _text(response)
    assert open_offer(db.session.get(Claim, claim.id)) == newer

    assert client.post(url, data={"offer": str(newer.id), "reason": REASON}).status_code == 302
    other = client.post(url, data={"offer": str(newer.id), "reason": "Số tài khoản của người khác."})
    assert other.status_code == 409 and f"already dismissed for another reason: “{REASON}”" in _text(other)
    # A new offer after a dismissal is offered: the person may send the right one.
    latest = create_offer(claim, bank_account="21510001111111")
    assert open_offer(db.session.get(Claim, claim.id)) == latest

    corrected, used = _waiting()
    assert casework.correct_payment_details(corrected.id, caseworker, "BIDV", "21510001234567").outcome == "corrected"
    settled = client.post(
        f"/caseworker/claims/{corrected.id}/offer-dismiss", data={"offer": str(used.id), "reason": REASON}
    )
    assert settled.status_code == 409 and "The offer is no longer waiting" in _text(settled)

    elsewhere, _offer = _waiting()
    recorded = _events(claim.id), _events(elsewhere.id)
    assert client.post(url, data={"offer": str(_offer.id), "reason": REASON}).status_code == 404
    bad = client.post(url, data={"offer": "abc", "reason": REASON})
    assert bad.status_code == 422 and "It is not clear which offer" in _text(bad)
    assert (_events(claim.id), _events(elsewhere.id)) == recorded
    assert len(_audits()) == 1


def test_an_offer_dismissed_fills_in_nothing(client, caseworker):
    """Dismissed as not the person's account, an offer still filled the correction form from a tab kept open (and
    saving it would have paid that account): only the open offer fills it; another says it was dealt with."""
    claim, offer = _waiting()
    sign_in(client, caseworker, "en")
    url = f"/caseworker/claims/{claim.id}/payment-details?offer={offer.id}"
    account = (offer.data or {})["bank_account"]
    assert f'value="{account}"' in client.get(url).get_data(as_text=True)  # open: filled in
    dismissed = client.post(
        f"/caseworker/claims/{claim.id}/offer-dismiss", data={"offer": str(offer.id), "reason": REASON}
    )
    assert dismissed.status_code == 302
    page = client.get(url)
    assert f'value="{account}"' not in page.get_data(as_text=True)
    assert "The person's offer has been dealt with" in _text(page)


def test_another_claims_offer_named_in_the_link_says_so(client, caseworker):
    """A link naming another case's offer said "the person's offer has been dealt with", which it had not."""
    claim, _offer = _waiting()
    _other, elsewhere = _waiting()
    sign_in(client, caseworker, "en")
    page = client.get(f"/caseworker/claims/{claim.id}/payment-details?offer={elsewhere.id}")
    account = (elsewhere.data or {})["bank_account"]
    assert f'value="{account}"' not in page.get_data(as_text=True)
    assert "This claim has no such offer" in _text(page) and "has been dealt with" not in _text(page)


def test_an_offer_of_the_account_that_failed_or_of_the_claims_own_says_so_and_is_sent_once(client, caseworker):
    """The same details sent twice are one offer (one call, one note); the account a payment already failed to, or
    the one the claim holds, is said on the panel instead of asking for a call that could change nothing."""
    from tests.factories import create_payment

    claim, first = _waiting()
    again = offer_from_the_public_page(claim, bank_code="bidv", bank_account="2151 0001 234567")
    assert again.event is not None and again.event.id == first.id  # not a second note
    assert [action for _, action in _events(claim.id)].count("offer_details") == 1

    failed = create_claim("awaiting_payment_details", district_code="017")
    create_payment(failed, "failed")  # the provider says AC04, a closed account
    create_offer(failed, failed.bank_code, failed.bank_account)
    sign_in(client, caseworker)
    page = _text(client.get(f"/caseworker/claims/{failed.id}"))
    assert "Đây là tài khoản đã chi trả không thành công (Tài khoản đã đóng" in page
    assert "Dùng thông tin này" not in page

    same = create_claim("needs_review", district_code="017")
    create_offer(same, same.bank_code, same.bank_account)
    page = _text(client.get(f"/caseworker/claims/{same.id}"))
    assert "Thông tin này giống thông tin tài khoản đang có trên hồ sơ" in page and "Dùng thông tin này" not in page
    new = create_claim("needs_review", district_code="017")
    create_offer(new)
    assert "Dùng thông tin này" in _text(client.get(f"/caseworker/claims/{new.id}"))


def test_an_offer_for_someone_without_a_registered_phone_asks_them_to_come_to_the_office(client, caseworker):
    """The panel said to call the registered number, which the registry may not hold: the person's own new number
    cannot confirm an account the person sent, so they confirm at the office with their ID card."""
    person = create_employee(district_code="017", phone=None)
    claim = create_claim("awaiting_payment_details", employee=person, district_code="017")
    create_offer(claim)
    sign_in(client, caseworker)
    page = _text(client.get(f"/caseworker/claims/{claim.id}"))
    assert "Cơ quan BHXH không có số điện thoại đã đăng ký của người lao động" in page
    assert "Hãy gọi số điện thoại đã đăng ký" not in page
