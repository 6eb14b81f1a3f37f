"""Keyboard alone on the case page: Tab to "record a new phone number", Enter; the form refuses a number without
the tick that the person showed their ID card (the summary takes the focus), then Space ticks it and Enter saves;
the form page checked by axe-core, in Vietnamese and English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from disburse.extensions import db
from disburse.registry.models import Employee
from tests.e2e.conftest import DONG_ANH, main_page, sign_in
from tests.e2e.test_keyboard import FOCUS_SHOWN, _tab_to

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_new_phone_number_recorded_by_keyboard(page, committed, locale):
    en = locale == "en"
    worker = committed.user("caseworker", locale, district=DONG_ANH)
    claim = committed.claim("needs_review", reasons=["zero_months"], person={"phone": "0912345678"})
    committed.commit()

    sign_in(page, worker)
    page.goto(f"/caseworker/claims/{claim.id}")
    link = f'a[href="/caseworker/claims/{claim.id}/phone"]'
    expect(page.locator(link)).to_have_text("Record a new phone number" if en else "Sửa số điện thoại")
    _tab_to(page, link, limit=80)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/caseworker/claims/{claim.id}/phone$"))
    expect(page.locator("#so-da-dang-ky")).to_contain_text("0912345678")
    expect(page.locator("#phone")).to_have_value("")
    main_page(page, f"caseworker-record-phone-{locale}")

    # A number without the tick: refused, the summary takes the focus, the number typed comes back.
    _tab_to(page, "#phone")
    page.keyboard.type("0987 654 321")
    page.keyboard.press("Enter")
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator(".error-summary")).to_contain_text("showed their ID card" if en else "xuất trình CMND/CCCD")
    expect(page.locator("#phone")).to_have_value("0987 654 321")

    _tab_to(page, "#id_card_seen")
    page.keyboard.press("Space")
    expect(page.locator("#id_card_seen")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.locator("#phone")).to_be_focused()
    assert page.evaluate(FOCUS_SHOWN)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/caseworker/claims/{claim.id}$"))
    expect(page.locator(".flash")).to_contain_text(
        "The person's new phone number is recorded" if en else "Đã ghi số điện thoại mới của người lao động"
    )
    expect(page.locator(".timeline")).to_contain_text(
        "Phone: 0912345678 → 0987654321" if en else "Số điện thoại: 0912345678 → 0987654321"
    )

    db.session.expire_all()
    assert db.session.get(Employee, claim.employee_id).phone == "0987654321"
