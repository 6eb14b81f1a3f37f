"""A person sends new bank details on the public page by keyboard, in Vietnamese and English; the caseworker sees
them on the case page and uses them, prefilled, after confirming. Every page checked by axe-core and photographed."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import expect

from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.e2e.conftest import DONG_ANH, choose_language, main_page, sign_in
from tests.factories import create_offer

pytestmark = pytest.mark.e2e

BORN = date(1988, 4, 9)


def _waiting_for_details(committed: Any) -> tuple[Any, Employee]:
    """A claim waiting for bank details, committed, and its person (born on BORN), whose facts the tests type."""
    claim = committed.claim("awaiting_payment_details", person={"date_of_birth": BORN})
    committed.commit()
    person = db.session.get(Employee, claim.employee_id)
    assert person is not None
    return claim, person


def _from_the_home_page(page: Any, locale: str, link: str, path: str, shot: str) -> None:
    """The home page in ``locale``, its link named ``link`` followed to ``path``, that page photographed and checked."""
    page.goto("/")
    choose_language(page, locale)
    page.get_by_role("link", name=link).click()
    expect(page).to_have_url(re.compile(rf"{path}$"))
    main_page(page, shot)


def _type_the_three_facts(page: Any, si_code: str, national_id: str) -> None:
    """By keyboard, each field in turn: the SI code, the ID number and BORN as people here write it (no Enter yet)."""
    page.focus("#si_code")
    page.keyboard.type(si_code)
    page.keyboard.press("Tab")
    page.keyboard.type(national_id)
    page.keyboard.press("Tab")
    page.keyboard.type("09/04/1988")


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_person_sends_details_and_the_caseworker_uses_them(page, committed, locale):
    en = locale == "en"
    worker = committed.user("caseworker", locale, district=DONG_ANH)
    claim, person = _waiting_for_details(committed)

    link = "Workers: send your bank account details" if en else "Người lao động: gửi thông tin tài khoản"
    _from_the_home_page(page, locale, link, "/people/payment-details", f"person-details-{locale}")

    # By keyboard: each field in turn, Enter to send.
    _type_the_three_facts(page, person.si_code, person.national_id)
    page.focus("#bank_code")  # the bank, typed by its code as people know it
    page.keyboard.type("BIDV")
    page.focus("#bank_account")
    page.keyboard.type("21510001234567")
    page.keyboard.press("Enter")
    expect(page.locator("[role=status]")).to_contain_text("Received" if en else "Đã nhận thông tin")
    main_page(page, f"person-details-sent-{locale}")

    sign_in(page, worker)
    page.goto(f"/caseworker/claims/{claim.id}")
    expect(page.locator("#offered-title")).to_be_visible()
    expect(page.locator("main")).to_contain_text("BIDV 21510001234567")
    main_page(page, f"caseworker-case-offered-{locale}")
    page.get_by_role(
        "link", name="Use these details (once confirmed)" if en else "Dùng thông tin này (sau khi đã xác nhận)"
    ).click()
    expect(page.locator("#bank_account")).to_have_value("21510001234567")
    page.get_by_role("button", name="Save and pay again" if en else "Lưu và chi trả lại").click()
    # Checked before it is saved: the account the money will go to.
    expect(page.locator("#kiem-tra-lai")).to_contain_text("21510001234567")
    main_page(page, f"caseworker-payment-details-check-{locale}")
    page.get_by_role("button", name="Confirm and pay again" if en else "Xác nhận và chi trả lại").click()
    expect(page.locator(".flash")).to_contain_text(
        "paid again in the next batch" if en else "hồ sơ sẽ được chi trả lại ở lô sau"
    )

    db.session.expire_all()
    paid_to = db.session.get(Claim, claim.id)
    assert (paid_to.state, paid_to.bank_code, paid_to.bank_account) == ("approved", "BIDV", "21510001234567")


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_caseworker_dismisses_a_wrong_offer_by_keyboard(page, committed, locale):
    """The call shows the offer is not the person's: the caseworker dismisses it from the case page with a reason, by
    keyboard (a missing reason is said above the form, its link leads to the field); the case page no longer offers
    it, and its history says who dismissed it and why."""
    en = locale == "en"
    worker = committed.user("caseworker", locale, district=DONG_ANH)
    claim = committed.claim("awaiting_payment_details")
    create_offer(claim)
    committed.commit()

    sign_in(page, worker)
    page.goto(f"/caseworker/claims/{claim.id}")
    expect(page.locator("#offered-title")).to_be_visible()
    page.focus("#reason")
    page.keyboard.press("Enter")  # no reason yet
    required = "Give the reason for dismissing the offer." if en else "Hãy ghi lý do bỏ qua đề nghị."
    expect(page.locator(".error-summary")).to_contain_text(required)
    main_page(page, f"caseworker-dismiss-offer-errors-{locale}")
    page.locator(".error-summary a").focus()
    page.keyboard.press("Enter")  # the summary's link takes the focus to the field
    expect(page.locator("#reason")).to_be_focused()
    page.keyboard.type("Đã gọi số đã đăng ký: không phải tài khoản của người lao động.")
    page.keyboard.press("Enter")

    # Back on the case (the browser keeps the link's #reason on the redirect, as it does for every form's).
    expect(page).to_have_url(re.compile(rf"/caseworker/claims/{claim.id}(#reason)?$"))
    expect(page.locator(".flash")).to_contain_text("offer is dismissed" if en else "Đã bỏ qua đề nghị")
    expect(page.locator("#offered-title")).to_have_count(0)
    history = page.locator(".timeline li").last
    dismissed = "Person's offer of details dismissed" if en else "Bỏ qua đề nghị của người lao động"
    expect(history).to_contain_text(dismissed)
    expect(history).to_contain_text(worker.email)
    expect(history).to_contain_text("không phải tài khoản của người lao động")
    main_page(page, f"caseworker-case-offer-dismissed-{locale}")


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_person_looks_up_their_status_by_keyboard_and_goes_on_to_send_details(page, committed, locale):
    """From the home page to the status page, the three facts typed and sent by keyboard; the page says what the
    state means and what to do, and its link leads to the bank-details page."""
    en = locale == "en"
    _claim, person = _waiting_for_details(committed)

    link = "Workers: look up your own support status" if en else "Người lao động: tra cứu tình trạng"
    _from_the_home_page(page, locale, link, "/people/status", f"person-status-form-{locale}")

    _type_the_three_facts(page, person.si_code, "001000000000")  # not their ID number: nobody is found
    page.keyboard.press("Enter")
    expect(page.locator("#not-found")).to_be_visible()
    page.fill("#national_id", person.national_id)
    page.focus("#date_of_birth")
    page.keyboard.press("Enter")
    expect(page.locator("#status-title")).to_have_text(person.full_name)
    expect(page.locator("#next-step")).to_contain_text(
        "A correct bank account in your name is needed" if en else "Cần tài khoản ngân hàng đúng"
    )
    main_page(page, f"person-status-{locale}")
    # The header's language switch shows the same result in the other language, and back (not the empty form).
    switches = [("Tiếng Việt", "Cần tài khoản ngân hàng đúng"), ("English", "A correct bank account")]
    for other, said in switches if en else reversed(switches):
        page.get_by_role("button", name=other).click()
        expect(page.locator("#status-title")).to_have_text(person.full_name)
        expect(page.locator("#next-step")).to_contain_text(said)
    page.get_by_role(
        "button", name="Send your bank account details" if en else "Gửi thông tin tài khoản ngân hàng"
    ).focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/people/payment-details$"))
    # The three facts just looked up are filled in: the person adds the bank and the account only.
    expect(page.locator("#carried")).to_be_focused()
    expect(page.locator("#si_code")).to_have_value(person.si_code)
    expect(page.locator("#national_id")).to_have_value(person.national_id)
    expect(page.locator("#date_of_birth")).to_have_value(BORN.strftime("%d/%m/%Y"))
    expect(page.locator(".error-summary")).to_have_count(0)
