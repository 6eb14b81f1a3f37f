"""A caseworker in the browser: signs in, filters the queue, opens a case, logs a contact, approves it, refuses
another and opens its notice; logs a call to a group B person of the outreach list; every page checked by axe-core
and photographed in Vietnamese and English. The searches and filters land on their results."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.e2e.conftest import DONG_ANH, QUAN_1, main_page, shoot, sign_in
from tests.e2e.test_keyboard import FOCUS_SHOWN, _tab_to

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_caseworker_works_the_queue(page, committed, locale):
    en = locale == "en"
    worker = committed.user("caseworker", locale, district=DONG_ANH)
    unit = committed.unit(district_code=DONG_ANH, name="Công ty TNHH Dệt Đông Anh")
    to_approve = committed.claim("needs_review", reasons=["zero_months"], person={"employer_id": unit.id})
    to_reject = committed.claim("needs_review", reasons=["zero_months"], person={"employer_id": unit.id})
    elsewhere = committed.claim("needs_review", reasons=["zero_months"])
    far = committed.claim("needs_review", reasons=["zero_months"], person={"district_code": QUAN_1})
    committed.commit()

    sign_in(page, worker)
    expect(page.locator(".flash")).to_contain_text("You are signed in" if en else "Đăng nhập thành công")
    main_page(page, f"home-caseworker-{locale}")

    page.goto("/caseworker/queue")
    expect(page).to_have_title(re.compile("Work queue" if en else "Hàng chờ xử lý hồ sơ"))
    for claim in (to_approve, to_reject, elsewhere):
        expect(page.locator(f'a[href="/caseworker/claims/{claim.id}"]')).to_have_count(1)
    expect(page.locator(f'a[href="/caseworker/claims/{far.id}"]')).to_have_count(0)

    # Filter by the unit: only its two claims remain.
    page.fill("#employer", unit.unit_code)
    page.get_by_role("button", name="Filter" if en else "Lọc", exact=True).click()
    expect(page).to_have_url(re.compile(rf"employer={unit.unit_code}.*#counts-title$"))  # lands on what it found
    expect(page.locator(f'a[href="/caseworker/claims/{to_approve.id}"]')).to_have_count(1)
    expect(page.locator(f'a[href="/caseworker/claims/{elsewhere.id}"]')).to_have_count(0)
    main_page(page, f"caseworker-queue-{locale}")
    # On a 1280 px screen every column is in sight (the reasons, the amount and the holder were scrolled off).
    box = page.locator(".queue-layout .table-scroll")
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), "the queue's table scrolls sideways at 1280 px"

    # Open the case, log a contact.
    page.locator(f'a[href="/caseworker/claims/{to_approve.id}"]').first.click()
    expect(page).to_have_url(re.compile(rf"/caseworker/claims/{to_approve.id}$"))
    main_page(page, f"caseworker-case-{locale}")
    page.get_by_role("link", name="Log a contact attempt" if en else "Ghi lần liên hệ").click()
    page.get_by_label("Phone call" if en else "Gọi điện thoại").check()
    page.get_by_label("Reached" if en else "Đã liên hệ được", exact=True).check()
    page.fill("#note", "Người lao động xác nhận còn làm việc.")
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator(".flash")).to_contain_text("The contact attempt is recorded" if en else "Đã ghi lần liên hệ")

    # Approve it: the page lists what needed checking, and approves only once it is ticked as checked (the refusal's
    # summary takes the focus, for keyboard and screen reader users).
    page.get_by_role("link", name="Approve" if en else "Duyệt", exact=True).click()
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator(".error-summary")).to_be_focused()
    page.get_by_label("I have checked the above" if en else "Tôi đã kiểm tra các nội dung trên").check()
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator(".flash")).to_contain_text("The claim is approved" if en else "Hồ sơ đã được duyệt")

    # Refuse the other, then open its notice.
    page.goto(f"/caseworker/claims/{to_reject.id}")
    page.get_by_role("link", name="Refuse" if en else "Từ chối", exact=True).click()
    page.locator("input[name=reason_code]").first.check()
    page.fill("#reason_text", "Không còn tháng đóng BHTN chưa hưởng (thử nghiệm).")
    page.locator("main form button[type=submit]").last.click()
    # Read back first: the notice prints this reason.
    expect(page.locator("#reason-written")).to_have_text("Không còn tháng đóng BHTN chưa hưởng (thử nghiệm).")
    page.get_by_role("button", name="Confirm the refusal" if en else "Xác nhận từ chối").click()
    expect(page.locator(".flash")).to_contain_text("The claim is refused" if en else "Hồ sơ đã bị từ chối")
    page.get_by_role("link", name="Print the refusal notice" if en else "In thông báo không giải quyết hỗ trợ").click()
    expect(page.locator("body")).to_contain_text(db.session.get(Employee, to_reject.employee_id).full_name)
    main_page(page, f"caseworker-notice-{locale}")

    db.session.expire_all()
    assert db.session.get(Claim, to_approve.id).state == "approved"
    assert db.session.get(Claim, to_reject.id).state == "rejected"


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_caseworker_logs_a_call_to_a_group_b_person(page, committed, locale):
    en = locale == "en"
    worker = committed.user("caseworker", locale, district=DONG_ANH)
    person = committed.person(
        employer_id=None,
        district_code=DONG_ANH,
        ui_status="stopped",
        ui_stopped_on=date(2021, 5, 1),
        phone="0912345678",
    )
    committed.commit()

    sign_in(page, worker)
    page.goto("/caseworker/outreach")
    row = page.locator("tr", has_text=person.si_code)
    expect(row).to_contain_text("0912345678")
    main_page(page, f"outreach-{locale}")
    row.get_by_role("link", name="Log a contact attempt" if en else "Ghi lần liên hệ").click()
    expect(page).to_have_url(re.compile(rf"/caseworker/people/{person.id}/contact$"))
    main_page(page, f"person-contact-{locale}")
    page.get_by_label("Phone call" if en else "Gọi điện thoại").check()
    page.get_by_label("No answer" if en else "Không liên hệ được").check()
    # The note's limit is said before sending, and what is left as one types: counted as the server counts (a line
    # break is two characters on the wire, a decomposed letter one), never cut.
    note = page.get_by_label("Note (optional)" if en else "Ghi chú (không bắt buộc)")
    count = page.locator("#note-count")
    expect(count).to_have_text("At most 1,000 characters." if en else "Tối đa 1.000 ký tự.")
    expect(note).to_have_attribute("aria-describedby", re.compile(r"\bnote-count\b"))
    note.fill("a" * 998 + "\n" + "e\u0302")  # 998 + CRLF + "ê" decomposed: 1,001 as sent
    expect(count).to_have_text("1 character too many" if en else "Quá 1 ký tự")
    expect(note).to_have_value(re.compile("^a{998}"))
    note.fill("Gọi hai lần, máy bận.")
    expect(count).to_have_text("979 characters left" if en else "Còn 979 ký tự")
    page.get_by_role("button", name="Log a contact attempt" if en else "Ghi lần liên hệ").click()
    expect(page.locator(".flash")).to_contain_text("The contact attempt is recorded." if en else "Đã ghi lần liên hệ.")
    expect(page.locator("tr", has_text=person.si_code)).to_contain_text("No answer" if en else "Không liên hệ được")


def test_the_caseworker_s_searches_and_filters_land_on_their_results(page, committed):
    """The outreach list's filter, the cash desk's search and the desk's Form 04 look-up, sent by keyboard, land on
    what they found (as their pagers do), not at the top of the page."""
    worker = committed.user("caseworker", district=DONG_ANH)
    person = committed.person(
        employer_id=None, district_code=DONG_ANH, ui_status="stopped", ui_stopped_on=date(2021, 5, 1)
    )
    committed.commit()
    sign_in(page, worker)

    page.goto("/caseworker/outreach")
    page.locator("#kind").focus()
    _tab_to(page, "main form.filters button[type=submit]")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/caseworker/outreach\?.*#outreach-results$"))
    results = page.locator("#outreach-results")
    expect(results).to_be_focused()
    expect(results).to_contain_text(person.si_code)
    assert page.evaluate(FOCUS_SHOWN)
    shoot(page, "keyboard-outreach-results")

    page.goto("/caseworker/cash-desk")
    page.locator("#q").focus()
    page.keyboard.type("Không ai có tên này")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/caseworker/cash-desk\?.*#cash-list-title$"))
    expect(page.locator("#cash-list-title")).to_be_focused()

    page.goto("/caseworker/applications/new")
    page.locator("#tra-cuu-si_code").focus()  # the look-up (the form below has its own #si_code)
    page.keyboard.type(person.si_code)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"si_code={person.si_code}#desk-result$"))
    expect(page.locator("#desk-result")).to_be_focused()
    expect(page.locator("#desk-result")).to_contain_text(person.full_name)
    shoot(page, "keyboard-desk-look-up-result")


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_queue_s_sort_choices_fit_the_filter_column(page, committed, locale):
    """A closed select cuts its text: "Mức hỗ trợ, cao đến t…" was all one read of a long order's name in the narrow
    filter column, at 1366 pixels. Every order's words now fit the select, arrow aside."""
    worker = committed.user("caseworker", locale, district=DONG_ANH)
    committed.commit()
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, worker)
    page.goto("/caseworker/queue")
    cut = page.evaluate(
        """() => {
      const select = document.getElementById('sort'), style = getComputedStyle(select);
      const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 24;
      const context = document.createElement('canvas').getContext('2d');
      context.font = style.font;
      return Array.from(select.options)
        .filter(option => context.measureText(option.text).width > room)
        .map(option => `${option.text}: ${Math.round(context.measureText(option.text).width)} > ${Math.round(room)}`);
    }"""
    )
    assert cut == []
    assert page.locator("#sort option").count() >= 10
