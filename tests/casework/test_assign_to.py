"""A supervisor or an admin gives a claim to one of its district's caseworkers from the case page (the holder's
message promised "lãnh đạo giao lại cho bạn", which only the API could do): audited on the claim's history; a
caseworker cannot; a caseworker of another district cannot be chosen; nothing changes on a refusal."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from disburse.verification import review
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_user

DONG_ANH, SOC_SON = "017", "016"


def _text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _text(response) -> str:
    return _text_of(response.get_data(as_text=True))


@pytest.fixture
def held(db_session):
    """A claim in review at Đông Anh, held by one of its caseworkers."""
    holder = create_user("caseworker", district=DONG_ANH, full_name="Nguyễn Văn Giữ")
    claim = create_claim("needs_review", district_code=DONG_ANH)
    review.assign(claim.id, holder)
    return claim, holder


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_supervisor_gives_a_held_claim_to_another_caseworker_of_its_district(client, held, locale):
    claim, holder = held
    other = create_user("caseworker", district=DONG_ANH, full_name="Trần Thị Nhận")
    elsewhere = create_user("caseworker", district=SOC_SON, full_name="Lê Văn Xa")
    supervisor = create_user("supervisor", province="01", password=PASSWORD)
    sign_in(client, supervisor, locale)

    page = client.get(f"/caseworker/claims/{claim.id}").get_data(as_text=True)
    options = re.findall(r'<option value="(\d+)"', page)
    assert str(other.id) in options and str(elsewhere.id) not in options and str(holder.id) not in options
    answer = client.post(f"/caseworker/claims/{claim.id}/assign-to", data={"user_id": str(other.id)})

    assert answer.status_code == 302
    db.session.refresh(claim)
    assert claim.assigned_to_id == other.id
    event = db.session.scalars(
        select(ClaimEvent)
        .where(ClaimEvent.claim_id == claim.id, ClaimEvent.action == "assign")
        .order_by(ClaimEvent.id.desc())
    ).first()
    assert event.actor_id == supervisor.id
    assert event.data == {"assigned_to_id": other.id, "previous_assigned_to_id": holder.id}
    done = {"vi": "Đã giao hồ sơ cho Trần Thị Nhận", "en": "Claim assigned to Trần Thị Nhận"}[locale]
    assert done in _text(client.get(f"/caseworker/claims/{claim.id}"))


def test_another_districts_caseworker_or_nobody_is_refused_and_nothing_changes(client, held):
    claim, holder = held
    elsewhere = create_user("caseworker", district=SOC_SON)
    sign_in(client, create_user("admin", password=PASSWORD))
    for chosen in (str(elsewhere.id), "", "abc"):
        answer = client.post(f"/caseworker/claims/{claim.id}/assign-to", data={"user_id": chosen})
        assert answer.status_code == 302, chosen
        shown = client.get(answer.headers["Location"]).get_data(as_text=True)
        assert "Hãy chọn" in _text_of(shown), (chosen, shown[:500])
        # An error flashed is announced as one (role alert), not as the quiet status of a success.
        assert re.search(r'<p class="flash flash-error" role="alert">[^<]*Hãy chọn', shown)
        db.session.refresh(claim)
        assert claim.assigned_to_id == holder.id


def test_a_caseworker_neither_sees_nor_uses_it(client, held):
    claim, _ = held
    colleague = create_user("caseworker", district=DONG_ANH, password=PASSWORD)
    sign_in(client, colleague)
    assert "assign-to" not in client.get(f"/caseworker/claims/{claim.id}").get_data(as_text=True)
    answer = client.post(f"/caseworker/claims/{claim.id}/assign-to", data={"user_id": str(colleague.id)})
    assert answer.status_code == 403
    assert db.session.get(Claim, claim.id).assigned_to_id != colleague.id
