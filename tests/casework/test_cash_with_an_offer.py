"""Switching a claim to cash while the person has sent new bank details (an open offer): the cash form says so and
offers the details instead; switching dismisses the offer in the same transaction, under the caseworker's name, shown
in the claim's history and audited; an offer sent after the form was shown is shown before anything is done."""

from __future__ import annotations

import html as html_
import re

import pytest
from sqlalchemy import select

from disburse.auth.models import AuditLog
from disburse.claims.models import Claim, ClaimEvent
from disburse.claims.person_details import open_offer
from disburse.extensions import db
from disburse.formatting import moment
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_offer, create_user

pytestmark = pytest.mark.usefixtures("paying_clock")


def _text(response) -> str:
    return html_.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", district="017", password=PASSWORD)


@pytest.mark.parametrize(
    ("locale", "sent", "instead", "dismissed"),
    [
        (
            "vi",
            "Người lao động đã gửi thông tin tài khoản ngày {at}",
            "Dùng thông tin này thay vì tiền mặt",
            "Bỏ qua đề nghị của người lao động",
        ),
        (
            "en",
            "The person sent bank details on {at}",
            "Use these details instead of cash",
            "offer of details dismissed",
        ),
    ],
)
def test_the_cash_form_shows_the_offer_and_switching_dismisses_it(client, caseworker, locale, sent, instead, dismissed):
    claim = create_claim("awaiting_payment_details", district_code="017")
    offered = create_offer(claim, "BIDV", "21510001234567")
    db.session.flush()
    sign_in(client, caseworker, locale)
    url = f"/caseworker/claims/{claim.id}/cash"

    form = client.get(url)

    assert form.status_code == 200
    text = _text(form)
    assert sent.format(at=moment(offered.created_at)) in text and "BIDV 21510001234567" in text
    page = form.get_data(as_text=True)
    assert instead in text and f"/caseworker/claims/{claim.id}/payment-details?offer={offered.id}" in page
    assert f'name="offer" type="hidden" value="{offered.id}"' in page

    done = client.post(url, data={"offer": str(offered.id), "reason": "Người lao động muốn nhận tiền mặt."})

    assert done.status_code == 302
    assert (db.session.get(Claim, claim.id).state, db.session.get(Claim, claim.id).payout) == ("approved", "cash")
    note = db.session.scalar(
        select(ClaimEvent).where(ClaimEvent.claim_id == claim.id, ClaimEvent.action == "dismiss_offer")
    )
    assert note is not None and note.actor_id == caseworker.id and note.data["offer_id"] == offered.id
    assert note.data["reason"] == "Chuyển sang nhận tiền mặt tại cơ quan BHXH: Người lao động muốn nhận tiền mặt."
    audited = db.session.scalar(select(AuditLog).where(AuditLog.action == "claim.dismiss_offer"))
    assert audited is not None and (audited.actor_id, audited.object_id) == (caseworker.id, str(claim.id))
    case = _text(client.get(f"/caseworker/claims/{claim.id}"))
    assert dismissed in case and caseworker.email in case and "Chuyển sang nhận tiền mặt tại cơ quan BHXH" in case


def test_an_offer_sent_after_the_form_was_shown_stops_the_switch(client, caseworker):
    claim = create_claim("awaiting_payment_details", district_code="017")
    db.session.flush()
    sign_in(client, caseworker)
    url = f"/caseworker/claims/{claim.id}/cash"
    assert 'name="offer" type="hidden" value=""' in client.get(url).get_data(as_text=True)
    offered = create_offer(claim, "VCB", "0011004455667")  # sent meanwhile
    db.session.commit()

    refused = client.post(url, data={"offer": "", "reason": "Không có tài khoản."})

    assert refused.status_code == 409
    assert "Người lao động vừa gửi thông tin tài khoản mới" in _text(refused) and "VCB 0011004455667" in _text(refused)
    assert f'name="offer" type="hidden" value="{offered.id}"' in refused.get_data(as_text=True)
    assert db.session.get(Claim, claim.id).state == "awaiting_payment_details"
    assert open_offer(db.session.get(Claim, claim.id)) is not None  # nothing dismissed

    again = client.post(url, data={"offer": str(offered.id), "reason": "Không có tài khoản."})
    assert again.status_code == 302 and db.session.get(Claim, claim.id).payout == "cash"


def test_without_an_offer_the_switch_writes_no_dismissal(client, caseworker):
    claim = create_claim("awaiting_payment_details", district_code="017")
    db.session.flush()
    sign_in(client, caseworker)
    done = client.post(f"/caseworker/claims/{claim.id}/cash", data={"reason": "Không có tài khoản."})
    assert done.status_code == 302 and db.session.get(Claim, claim.id).payout == "cash"
    assert not db.session.scalars(
        select(ClaimEvent).where(ClaimEvent.claim_id == claim.id, ClaimEvent.action == "dismiss_offer")
    ).all()
