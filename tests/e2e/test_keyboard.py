"""Keyboard alone: Tab to the sign-in fields, type, submit with Enter; Tab to the queue's filter form, filter with
Enter; every control reached shows where the focus is. Form 03's error summary leads to the field to fix; a
returned file's result takes the focus."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from disburse.extensions import db
from disburse.registry.models import Employee
from tests.e2e.conftest import DONG_ANH, PASSWORD, shoot, sign_in

pytestmark = pytest.mark.e2e

FOCUS_SHOWN = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
}"""


def _tab_to(page, selector: str, limit: int = 40) -> list[str]:
    """Press Tab until ``selector`` has the focus; each control passed on the way must show its focus."""
    passed: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = page.evaluate("document.activeElement.id || document.activeElement.tagName")
        assert page.evaluate(FOCUS_SHOWN), f"the focus on {here} is not visible"
        passed.append(here)
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return passed
    raise AssertionError(f"{selector} never took the focus; Tab went through {passed}")


def test_sign_in_and_filter_the_queue_by_keyboard(page, committed):
    worker = committed.user("caseworker", district=DONG_ANH)
    unit = committed.unit(district_code=DONG_ANH)
    mine = committed.claim("needs_review", reasons=["zero_months"], person={"employer_id": unit.id})
    other = committed.claim("needs_review", reasons=["zero_months"])
    committed.commit()

    page.goto("/login")
    page.keyboard.press("Tab")  # the first stop: the skip link, shown when focused
    expect(page.locator(".skip-link")).to_be_focused()
    expect(page.locator(".skip-link")).to_be_in_viewport()
    _tab_to(page, "#email")
    page.keyboard.type(worker.email)
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    assert page.evaluate(FOCUS_SHOWN)
    shoot(page, "keyboard-sign-in-focus")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("Đăng nhập thành công")

    page.goto("/caseworker/queue")
    _tab_to(page, "#employer")
    page.keyboard.type(unit.unit_code)
    shoot(page, "keyboard-queue-filter-focus")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"employer={unit.unit_code}"))
    expect(page.locator(f'a[href="/caseworker/claims/{mine.id}"]')).to_have_count(1)
    expect(page.locator(f'a[href="/caseworker/claims/{other.id}"]')).to_have_count(0)

    # On to the case with the keyboard: Tab to its link, Enter.
    _tab_to(page, f'a[href="/caseworker/claims/{mine.id}"]', limit=80)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/caseworker/claims/{mine.id}$"))


def test_form_03_a_correction_without_new_details_leads_to_them(page, committed):
    """Form 03 by keyboard: "Điều chỉnh" chosen with the arrows, an SI code typed, nothing else: the error summary takes
    the focus and its link leads to the bank field, where the message is (it led to the unchecked "Bổ sung" choice,
    one arrow from changing the action, and the message stood above the action's choices)."""
    unit = committed.unit(district_code=DONG_ANH)
    claim = committed.claim("listed", person={"employer_id": unit.id})
    employer = committed.user("employer", employer_unit=unit.unit_code)
    committed.commit()
    si_code = db.session.get(Employee, claim.employee_id).si_code

    sign_in(page, employer)
    page.goto(f"/employers/{unit.unit_code}/form-03")
    _tab_to(page, "#action-0")  # no choice yet: Tab enters the group at its first
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#action-2")).to_be_checked()  # "Điều chỉnh tài khoản ngân hàng hoặc số điện thoại"
    page.keyboard.press("Tab")
    expect(page.locator("#si_code")).to_be_focused()
    page.keyboard.type(si_code)
    page.keyboard.press("Enter")

    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    link = summary.get_by_role("link", name="Hãy ghi thông tin mới: ngân hàng và số tài khoản, hoặc số điện thoại.")
    expect(link).to_have_attribute("href", "#bank_code")
    expect(page.locator("#action-2")).to_be_checked()  # the action chosen comes back
    page.keyboard.press("Tab")
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#bank_code")).to_be_focused()
    assert page.evaluate(FOCUS_SHOWN)
    # The message is by the fields it asks for, read with the bank's; none above the action's choices.
    expect(page.locator("#bank_code-error")).to_contain_text("Hãy ghi thông tin mới")
    expect(page.locator("#bank_code")).to_have_attribute("aria-describedby", re.compile(r"\bbank_code-error\b"))
    expect(page.locator("#action-error")).to_have_count(0)
    shoot(page, "keyboard-form-03-nothing-to-correct")


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out).writerows(rows)
    return path


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_returned_file_s_result_takes_the_focus_and_names_the_page(page, committed, tmp_path, locale):
    """Form 02's and Form 03's file results, as a form's error summary: the focus moves to the result (read out with
    its counts) and the title says it; the refused rows are the next Tab. The focus stayed at the top of the page,
    the title unchanged, the counts in a status region present at load (never read), the rows 11 Tabs away."""
    en = locale == "en"
    unit = committed.unit(district_code=DONG_ANH)
    ann, binh, chi = (committed.claim("listed", person={"employer_id": unit.id}) for _ in range(3))
    employer = committed.user("employer", locale, employer_unit=unit.unit_code)
    committed.commit()
    si = [db.session.get(Employee, claim.employee_id).si_code for claim in (ann, binh, chi)]
    sign_in(page, employer)

    page.goto(f"/employers/{unit.unit_code}/form-02")
    header = ["Mã số BHXH (si_code)", "Ngân hàng (bank_code)", "Số tài khoản (bank_account)", "decline"]
    sheet = [header, [si[0], "VCB", "0071000123456", ""], [si[1], "KHONGCO", "0071000999999", ""]]
    page.set_input_files("#file", str(_csv(tmp_path / "mau02.csv", sheet)))
    page.get_by_role("button", name="Send Form 02" if en else "Gửi Mẫu số 02").click()
    result = page.locator("#form-02-result")
    expect(result).to_be_focused()
    expect(page).to_have_title(
        re.compile(
            "^What Form 02 did · Forms 01 and 02 · " if en else "^Kết quả tiếp nhận Mẫu số 02 · Mẫu số 01 và 02 · "
        )
    )
    expect(result).to_have_attribute("aria-describedby", "result-counts")
    expect(page.locator("#result-counts")).to_contain_text("Rows refused: 1" if en else "Dòng bị từ chối: 1")
    expect(result.locator("[role=status]")).to_have_count(0)
    assert page.evaluate(FOCUS_SHOWN)
    shoot(page, f"keyboard-form-02-result-{locale}")
    page.keyboard.press("Tab")
    expect(result.locator(".table-scroll")).to_be_focused()  # the refused rows, next
    expect(result.locator(".table-scroll tbody tr")).to_contain_text("KHONGCO")

    page.goto(f"/employers/{unit.unit_code}/form-03")
    header = ["Mã số BHXH (si_code)", "Thao tác (action)", "Ngân hàng (bank_code)", "Số tài khoản (bank_account)"]
    sheet = [header, [si[2], "correct", "KHONGCO", "0071000999999"], [si[2][:-1], "remove", "", ""]]
    page.set_input_files("#file", str(_csv(tmp_path / "mau03.csv", sheet)))
    page.get_by_role("button", name="Send the Form 03 file" if en else "Gửi tệp Mẫu số 03").click()
    result = page.locator("#form-03-result")
    expect(result).to_be_focused()
    expect(page).to_have_title(re.compile("^Form 03 file received · " if en else "^Kết quả tiếp nhận tệp Mẫu số 03 · "))
    expect(page.locator("#result-counts")).to_contain_text("Rows refused: 2" if en else "Dòng bị từ chối: 2")
    expect(result.locator("[role=status]")).to_have_count(0)
    shoot(page, f"keyboard-form-03-result-{locale}")
    page.keyboard.press("Tab")
    expect(result.locator(".table-scroll")).to_be_focused()


def test_the_status_page_s_search_and_filter_land_on_their_results(page, committed):
    """The unit's status page: a search sent with Enter, a state filter sent with its button and "Xem tất cả" each land
    on their results (the count, else the table), as the pager lands on the table; they went back to the top."""
    unit = committed.unit(district_code=DONG_ANH)
    people = [committed.claim("listed", person={"employer_id": unit.id}) for _ in range(2)]
    employer = committed.user("employer", employer_unit=unit.unit_code)
    committed.commit()
    name = db.session.get(Employee, people[0].employee_id).full_name
    sign_in(page, employer)
    page.goto(f"/employers/{unit.unit_code}")

    _tab_to(page, "#q", limit=80)
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?q=.*#workforce-results$"))
    found = page.locator("#workforce-results")
    expect(found).to_be_focused()
    expect(found).to_contain_text("Tìm thấy 1 người")
    assert page.evaluate(FOCUS_SHOWN)
    shoot(page, "keyboard-status-search-results")
    # From the count, on to the list's downloads and its table.
    assert _tab_to(page, "[role=region][aria-label='Người lao động của đơn vị']", limit=3) == ["A", "A", "DIV"]

    page.locator("#q").fill("")
    page.locator("#state").select_option("listed")
    page.locator("#state").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the search button
    expect(page).to_have_url(re.compile(r"state=listed#workforce-results$"))
    expect(found).to_be_focused()
    expect(found).to_contain_text("2 người ở trạng thái này")

    page.locator("form[role=search] a").focus()  # "Xem tất cả", back up the page
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/employers/{unit.unit_code}#workforce-results$"))
    expect(page.locator("#workforce-results")).to_have_attribute("role", "region")  # the table, nothing to count
    expect(page.locator("#workforce-results")).to_be_focused()


def test_assign_the_next_cases_lands_on_the_first_of_them(page, committed):
    """ "Nhận 20 hồ sơ tiếp theo" came back to the page's top, 27 Tabs from the first case: the focus is now on the
    first case of the list, one Enter from opening it, the message of how many were taken above it."""
    worker = committed.user("caseworker", district=DONG_ANH)
    waiting = [committed.claim("needs_review", reasons=["zero_months"]) for _ in range(3)]
    committed.commit()

    sign_in(page, worker)
    page.goto("/caseworker/queue")
    page.get_by_role("button", name="Nhận 20 hồ sơ tiếp theo").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/caseworker/queue\?assigned=me&state=needs_review#first-case$"))
    expect(page.locator(".flash")).to_contain_text("Đã giao cho bạn 3 hồ sơ.")
    first = page.locator("#first-case")
    expect(first).to_be_focused()
    assert page.evaluate(FOCUS_SHOWN)
    shoot(page, "keyboard-queue-assigned-focus")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/caseworker/claims/(\d+)$"))
    assert int(page.url.rsplit("/", 1)[1]) in [c.id for c in waiting]
