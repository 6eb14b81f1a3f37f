"""A caseworker at the cash counter, in the browser: opens a case paid in cash at the office, sees whom to pay
(name, national ID, SI code, to check against the identity paper), records the receipt (a missing number refused
first), and sees the receipt page after the programme's last payable day, which takes
no receipt and offers to take the payment off the cash list; every page checked by axe-core and photographed in
Vietnamese and English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.payments.models import Payment
from disburse.registry.models import Employee
from tests.e2e.conftest import DONG_ANH, main_page, sign_in
from tests.factories import create_cash_payment

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_caseworker_records_a_cash_receipt_and_sees_when_paying_ends(page, committed, app, monkeypatch, locale):
    en = locale == "en"
    worker = committed.user("caseworker", locale, district=DONG_ANH)
    at_counter = create_cash_payment(employee=committed.person(district_code=DONG_ANH))
    too_late = create_cash_payment(employee=committed.person(district_code=DONG_ANH))
    committed.commit()

    sign_in(page, worker)
    page.goto(f"/caseworker/claims/{at_counter.claim_id}")
    page.get_by_role("link", name="Record a cash payment" if en else "Ghi nhận chi tiền mặt").click()
    expect(page).to_have_url(re.compile(rf"/caseworker/claims/{at_counter.claim_id}/cash-receipt$"))
    expect(page.locator("main")).to_contain_text(at_counter.provider_reference)
    payee = db.session.get(Employee, db.session.get(Claim, at_counter.claim_id).employee_id)
    for fact in (payee.full_name, payee.national_id, payee.si_code):  # checked against the identity paper
        expect(page.locator("main dl")).to_contain_text(fact)
    # The programme's last day (its extension), not the claim's own payment due date.
    expect(page.locator("#programme-last-day")).to_have_text(
        "The programme's last day of payment (extension included): 10/09/2022."
        if en
        else "Ngày cuối cùng chương trình còn chi trả (kể cả gia hạn): 10/09/2022."
    )
    main_page(page, f"caseworker-cash-receipt-{locale}")

    record = page.get_by_role("button", name="Record the payment" if en else "Ghi nhận đã chi")
    record.click()
    expect(page.locator("main")).to_contain_text("Give the receipt number." if en else "Hãy ghi số biên lai.")
    page.get_by_label("Receipt number" if en else "Số biên lai").fill("aa/21e 0001234")
    record.click()
    # Checked before it is done: to whom, how much, which receipt (as it will be recorded); "Change" brings the form
    # back with it.
    check = page.locator("#kiem-tra-lai")
    expect(check).to_contain_text(payee.full_name)
    expect(check).to_contain_text("AA/21E 0001234")  # as it will be recorded
    # Said by the page's title and where the focus lands, for those who do not see the panel appear.
    expect(page).to_have_title(re.compile(r"^(Check|Kiểm tra lại): "))
    expect(check).to_be_focused()
    main_page(page, f"caseworker-cash-receipt-check-{locale}")
    page.get_by_role("button", name="Change" if en else "Sửa lại").click()
    expect(page.get_by_label("Receipt number" if en else "Số biên lai")).to_have_value("AA/21E 0001234")
    record.click()
    page.get_by_role("button", name="Confirm the payment" if en else "Xác nhận đã chi").click()
    amount = f"VND {at_counter.amount_vnd:,}" if en else f"{at_counter.amount_vnd:,} ₫".replace(",", ".")
    expect(page.locator(".flash")).to_contain_text(
        f"Cash payment recorded: {amount} to {payee.full_name} (claim {at_counter.claim_id}), receipt number "
        "AA/21E 0001234."
        if en
        else f"Đã ghi nhận chi trả tiền mặt: {amount} cho {payee.full_name} (hồ sơ số {at_counter.claim_id}), "
        "biên lai số AA/21E 0001234."
    )
    db.session.expire_all()
    assert db.session.get(Payment, at_counter.id).receipt_number == "AA/21E 0001234"
    assert db.session.get(Claim, at_counter.claim_id).state == "paid"

    # The day after NQ116's last payable day (the extension's 10/09/2022): no receipt can be taken any more.
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2022-09-11")
    page.goto(f"/caseworker/claims/{too_late.claim_id}/cash-receipt")
    expect(page.locator("#het-han-chi-tra")).to_contain_text(
        "The programme stopped paying on 10/09/2022" if en else "Chương trình đã hết hạn chi trả ngày 10/09/2022"
    )
    expect(page.locator("input[name=receipt_number]")).to_have_count(0)
    main_page(page, f"caseworker-cash-receipt-ended-{locale}")
    page.get_by_role("link", name="Take off the cash list" if en else "Rút khỏi danh sách chi tiền mặt").click()
    expect(page).to_have_url(re.compile(rf"/caseworker/claims/{too_late.claim_id}/cash-withdraw$"))
    db.session.expire_all()
    assert db.session.get(Payment, too_late.id).state == "sent"


def test_the_cashier_pays_from_the_desk_by_keyboard_and_is_back_at_its_search(page, committed):
    """Found at the desk, paid, and back at the desk's search (the focus in it) with whom, how much and which
    receipt said: ready for the next person, with no step through the case page."""
    worker = committed.user("caseworker", "vi", district=DONG_ANH)
    payment = create_cash_payment(employee=committed.person(district_code=DONG_ANH))
    payee = db.session.get(Employee, db.session.get(Claim, payment.claim_id).employee_id)
    committed.commit()

    sign_in(page, worker)
    page.goto("/caseworker/cash-desk")
    page.get_by_label(re.compile("Tìm người nhận")).fill(payee.si_code)
    page.keyboard.press("Enter")
    page.locator("#cash-list").get_by_role("link", name=payee.full_name).focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/caseworker/claims/{payment.claim_id}/cash-receipt\?from=desk$"))
    expect(page.locator(".back")).to_contain_text("Quay lại bàn chi tiền mặt")
    page.get_by_label("Số biên lai").fill("BL 0099")
    page.keyboard.press("Enter")
    expect(page.locator("#kiem-tra-lai")).to_be_focused()
    page.get_by_role("button", name="Xác nhận đã chi").focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/caseworker/cash-desk#q$"))
    amount = f"{payment.amount_vnd:,} ₫".replace(",", ".")
    expect(page.locator(".flash")).to_contain_text(f"{amount} cho {payee.full_name}")
    expect(page.locator(".flash")).to_contain_text("biên lai số BL 0099")
    expect(page.locator("#q")).to_be_focused()
    expect(page.get_by_role("link", name=re.compile("Tải danh sách chi tiền mặt để in"))).to_have_count(0)
    main_page(page, "caseworker-cash-desk-after-payment-vi")
