"""Form 03 in the browser after a refused confirmation: the form comes back with the service's words and no longer
carries the confirmation (``confirmed``, ``seen``) of the read-back it answered. It did, so the next adjustment the
unit typed was taken for a confirmation of a page it never saw, and said "Thông tin của người này vừa thay đổi"."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db
from tests.claims.test_employer_pages import _employer, _person, _si, _text
from tests.claims.test_employer_pages import unit as unit
from tests.factories import create_payment


def _hidden(page: str, name: str) -> str:
    """The value of the page's hidden field ``name``, as the browser sends it back with the form."""
    found = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page)
    assert found, name
    return found[1]


def test_the_form_after_a_refused_confirmation_is_read_back_again_without_saying_anything_changed(client, unit):
    paid_soon = _person(unit, "Trần Văn Chuyển", "approved")
    other = _person(unit, "Lý Thị Đi")
    client = _employer(client, unit)
    url = f"/employers/{unit.unit_code}/form-03"
    removal = {"action": "remove", "si_code": _si(paid_soon), "reason": "Nghỉ việc từ 2019"}
    checked = _text(client.post(url, data=removal))
    assert 'id="kiem-tra-lai"' in checked

    # Meanwhile the claim is sent for payment: the confirmation is refused, nothing recorded.
    create_payment(db.session.get(Claim, paid_soon.id))
    db.session.commit()
    events = db.session.scalar(select(func.count()).select_from(ClaimEvent))
    refused = client.post(url, data={**removal, "confirmed": "1", "seen": _hidden(checked, "seen")})
    page = _text(refused)
    assert refused.status_code == 400 and "hồ sơ đã được chuyển chi trả" in page
    assert 'id="kiem-tra-lai"' not in page
    assert (_hidden(page, "confirmed"), _hidden(page, "seen")) == ("", "")
    assert db.session.scalar(select(func.count()).select_from(ClaimEvent)) == events

    # The unit types another person on the form that came back: read back, with nothing said to have changed.
    sent = {"confirmed": _hidden(page, "confirmed"), "seen": _hidden(page, "seen")}
    again = client.post(url, data={**sent, "action": "remove", "si_code": _si(other), "reason": "Nghỉ việc"})
    page = _text(again)
    assert again.status_code == 200 and 'id="kiem-tra-lai"' in page and "Lý Thị Đi" in page
    assert "vừa thay đổi" not in page
    db.session.expire_all()
    assert db.session.get(Claim, other.id).state == "listed"


def test_the_form_after_a_refused_first_send_carries_no_confirmation(client, unit):
    """A confirmation whose values the form's checks refuse (here an SI code of letters) comes back as the plain form,
    its confirmation dropped too."""
    client = _employer(client, unit)
    url = f"/employers/{unit.unit_code}/form-03"
    answer = client.post(url, data={"action": "remove", "si_code": "01O5A29570", "confirmed": "1", "seen": "ab12"})
    page = _text(answer)
    assert answer.status_code == 400 and "Chữ O có thể là số 0" in page
    assert (_hidden(page, "confirmed"), _hidden(page, "seen")) == ("", "")
