"""The case page asks the caseworker to call the person's registered phone to confirm bank details sent on the public
page. A number changed lately (a unit's Form 03, an office's record) may be the sender's own: the page warns, says when
and by whom, and asks for the ID card in person or a call to the previous number."""

from __future__ import annotations

import re
from html import unescape

import pytest

from disburse.casework import service as casework
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.casework._phone_offers import offer_from_the_public_page
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_payment, create_user

TODAY = "2021-10-25"  # the employers' review window: Form 03 taken


@pytest.fixture
def unit(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", TODAY)
    return create_employer(name="Công ty TNHH Đổi Số")


def _text(response) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _claim(unit) -> Claim:
    person = create_employee(employer_id=unit.id, district_code="017", phone="0901111111")
    claim = create_claim("awaiting_payment_details", employee=person, district_code="017")
    create_payment(claim, "failed", failure_code="AC04")
    return claim


def _form_03(client, unit, data: dict[str, str]) -> None:
    """Form 03 in the browser, its two steps: read back, then confirmed."""
    url = f"/employers/{unit.unit_code}/form-03"
    checked = client.post(url, data=data)
    seen = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', checked.get_data(as_text=True))
    assert checked.status_code == 200 and seen, "the check step carries what it read back"
    assert client.post(url, data={**data, "confirmed": "1", "seen": seen[1]}).status_code == 302


def _phone_changed_by_form_03(client, unit, claim: Claim, phone: str) -> None:
    employer = create_user("employer", employer_unit=unit.unit_code, password=PASSWORD)
    sign_in(client, employer)
    si_code = db.session.get(Employee, claim.employee_id).si_code
    _form_03(client, unit, {"action": "correct", "si_code": si_code, "phone": phone})
    client.post("/logout")
    db.session.expire_all()
    assert db.session.get(Employee, claim.employee_id).phone == phone


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_phone_changed_by_form_03_minutes_before_an_offer_is_flagged_where_the_call_is_asked(client, unit, locale):
    claim = _claim(unit)
    _phone_changed_by_form_03(client, unit, claim, "0987654321")
    offer_from_the_public_page(claim, bank_account="21510009999999")
    db.session.commit()
    sign_in(client, create_user("caseworker", district="017", password=PASSWORD), locale)

    page = _text(client.get(f"/caseworker/claims/{claim.id}"))
    warning = page.split("0987654321", 1)[1]
    if locale == "vi":
        assert "Số điện thoại đã đăng ký (0987654321) vừa được thay đổi lúc" in page
        assert f"bởi đơn vị {unit.unit_code} qua Mẫu số 03 (trong 30 ngày qua)" in warning
        assert "Số trước đó: 0901111111." in warning
        assert "xuất trình CMND/CCCD, hoặc gọi số điện thoại trước đó" in warning
        assert "Hãy gọi số điện thoại đã đăng ký của người lao động để xác nhận" not in page
    else:
        assert "The registered phone (0987654321) was changed at" in page
        assert f"by unit {unit.unit_code} on Form 03 (within the last 30 days)" in warning
        assert "Previous number: 0901111111." in warning
        assert "show their ID card, or call the previous number" in warning


def test_a_change_older_than_the_window_is_not_flagged(client, unit):
    """Events cannot be back-dated (claim_events is append-only): the window is shrunk to nothing instead, which
    leaves the change, made in an earlier transaction, before it."""
    claim = _claim(unit)
    _phone_changed_by_form_03(client, unit, claim, "0987654322")
    db.session.commit()
    changed = casework.recent_phone_change(claim.employee_id)
    assert changed is not None and changed.previous == "0901111111" and changed.unit_code == unit.unit_code
    assert casework.recent_phone_change(claim.employee_id, days=0) is None
    # Without an offer to confirm, the case page asks for no call and warns of nothing.
    sign_in(client, create_user("caseworker", district="017", password=PASSWORD))
    page = _text(client.get(f"/caseworker/claims/{claim.id}"))
    assert "vừa được thay đổi" not in page and "Hãy gọi số điện thoại đã đăng ký" not in page


def test_a_number_the_office_recorded_names_the_office_and_a_bank_correction_is_no_phone_change(client, unit):
    caseworker = create_user("caseworker", district="017", password=PASSWORD)
    claim = _claim(unit)
    casework.record_phone(claim.id, caseworker, "0912000111", id_card_seen=True)
    offer_from_the_public_page(claim, bank_account="21510009999997")
    db.session.commit()
    sign_in(client, caseworker)
    page = _text(client.get(f"/caseworker/claims/{claim.id}"))
    assert f"bởi cơ quan BHXH ({caseworker.email})" in page

    other = _claim(unit)  # its claim's details corrected, its phone not: nothing to warn of
    unit_user = create_user("employer", employer_unit=unit.unit_code, password=PASSWORD)
    client.post("/logout")
    sign_in(client, unit_user)
    si_code = db.session.get(Employee, other.employee_id).si_code
    _form_03(
        client, unit, {"action": "correct", "si_code": si_code, "bank_code": "BIDV", "bank_account": "21510001112223"}
    )
    assert casework.recent_phone_change(other.employee_id) is None
