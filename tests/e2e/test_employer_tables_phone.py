"""The employer's tables on a phone (360 CSS pixels): the unit's status table, Form 02's refused rows and Form 03's
file read back. Each column was squeezed to a word or two a line (a reason or an error of 160-175 characters in
7rem), so that a row stood up to some 400 px tall, half the screen for one person. The tables still scroll sideways
in their own box, their columns now sized: codes on one line, the long texts in a column as wide as the screen. A
row is a few lines tall, and the page itself never wider than the screen."""

from __future__ import annotations

import csv
from typing import Any

import pytest
from playwright.sync_api import expect

from disburse.extensions import db
from disburse.registry.models import Employee
from tests.e2e.conftest import DONG_ANH, check_axe, choose_language, shoot, sign_in
from tests.factories import create_payment

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 360, 740
#: The tallest a row may stand on a phone: some six lines of text, the longest error (175 characters) set at the
#: screen's width in Debian's font.
ROW_HEIGHT_PX = 170
#: The narrowest a reason's or an error's column may be: some 35 characters a line.
LONG_TEXT_PX = 280
REMOVAL_REASON = "Đã nghỉ việc từ ngày 15/08/2021 theo quyết định chấm dứt hợp đồng lao động số 123/QĐ-CT"
LONG_NAME = "Công ty Trách nhiệm hữu hạn Một thành viên Dệt may Xuất nhập khẩu Đông Anh"

#: Each row's height, the width of its long texts' column, and the table's box: how wide on the screen and inside.
MEASURE = """(table) => ({
  rows: [...table.querySelectorAll('tbody tr')].map((tr) => Math.round(tr.getBoundingClientRect().height)),
  long: [...table.querySelectorAll('tbody td.long')].map((td) => Math.round(td.getBoundingClientRect().width)),
  box: table.parentElement.clientWidth,
  inside: table.parentElement.scrollWidth,
})"""


def _fits(page: Any, table: str, name: str) -> dict[str, Any]:
    """The rows of ``table`` under :data:`ROW_HEIGHT_PX` tall, its long texts in a column a line of which is on the
    screen whole, the page no wider than the screen."""
    # After a form's click the rows are there before the page's stylesheet may be: measured so on a busy machine, the
    # rows stood 329 px tall, unstyled.
    page.wait_for_load_state("load")
    measured = page.locator(table).evaluate(MEASURE)
    assert measured["rows"] and measured["long"], name
    assert max(measured["rows"]) < ROW_HEIGHT_PX, f"{name}: rows {measured['rows']} px tall"
    assert min(measured["long"]) >= LONG_TEXT_PX and max(measured["long"]) <= measured["box"], f"{name}: {measured}"
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, name
    assert measured["box"] <= WIDTH, name
    return measured


def _as_before_on_a_computer(page: Any, table: str) -> None:
    """On a computer's screen the table takes the page's width, as before: no row taller, nothing scrolls. The phone's
    screen again after."""
    page.set_viewport_size({"width": 1280, "height": 900})
    try:
        wide = page.locator(table).evaluate(MEASURE)
        assert wide["inside"] <= wide["box"] and max(wide["rows"]) < ROW_HEIGHT_PX, f"{table}: {wide}"
    finally:
        page.set_viewport_size({"width": WIDTH, "height": HEIGHT})


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_employers_tables_keep_their_rows_short_on_a_phone(browser, live_server, committed, tmp_path, locale):
    en = locale == "en"
    unit = committed.unit(district_code=DONG_ANH, name=LONG_NAME)
    person = {"employer_id": unit.id, "full_name": "Nguyễn Thị Phương Thảo Hoàng Minh"}
    for state in ("paid", "employer_confirmed", "rejected"):
        committed.claim(state, person=person)
    committed.claim("needs_review", reasons=["zero_months", "possible_duplicate"], person=person)
    committed.claim("payment_pending", payout="cash", bank_code=None, bank_account=None, person=person)
    failed = committed.claim("awaiting_payment_details", person=person)
    create_payment(failed, "failed")  # the bank's reason in words, and what to do
    listed = [committed.claim("listed", person=person) for _ in range(3)]
    employer = committed.user("employer", locale, employer_unit=unit.unit_code)
    committed.commit()
    si = [db.session.get(Employee, claim.employee_id).si_code for claim in listed]
    failed_si = db.session.get(Employee, failed.employee_id).si_code

    context = browser.new_context(base_url=live_server, viewport={"width": WIDTH, "height": HEIGHT}, locale="vi-VN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, employer)
        choose_language(page, locale)
        page.goto(f"/employers/{unit.unit_code}")
        status = _fits(page, "#workforce-table", f"status ({locale})")
        assert status["inside"] > status["box"]  # it scrolls in its box: a keyboard user reaches it by Tab
        shoot(page, f"employer-status-phone-{locale}")
        check_axe(page, f"the unit's status at {WIDTH}px ({locale})")

        page.goto(f"/employers/{unit.unit_code}/form-02")
        rows = [
            [si[0], "Ngân hàng TMCP Không Có Thật Chi nhánh Đông Anh Hà Nội", "0071000123456", ""],
            [si[1], "VCB", "12", ""],
            ["0199999999", "VCB", "0071000123456", ""],
        ]
        path = tmp_path / "mau02.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["Mã số BHXH (si_code)", "Ngân hàng (bank_code)", "Số tài khoản (bank_account)", "decline"])
            writer.writerows(rows)
        page.set_input_files("#file", str(path))
        page.get_by_role("button", name="Send Form 02" if en else "Gửi Mẫu số 02").click()
        refused = page.locator("section.result table")
        expect(refused.locator("tbody tr")).to_have_count(3)
        _fits(page, "section.result table", f"Form 02's refused rows ({locale})")
        shoot(page, f"employer-form-02-refused-phone-{locale}")
        check_axe(page, f"Form 02's refused rows at {WIDTH}px ({locale})")
        _as_before_on_a_computer(page, "section.result table")

        # Form 03's file read back before it is recorded: the old and the new accounts, a removal's reason.
        page.goto(f"/employers/{unit.unit_code}/form-03")
        path = tmp_path / "mau03.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            csv.writer(out).writerows(
                [
                    ["si_code", "action", "bank_code", "bank_account", "phone", "reason"],
                    [failed_si, "correct", "BIDV", "12345678901234", "0912345678", ""],
                    [si[2], "remove", "", "", "", REMOVAL_REASON],
                ]
            )
        page.set_input_files("#file", str(path))
        page.get_by_role("button", name="Send the Form 03 file" if en else "Gửi tệp Mẫu số 03").click()
        expect(page.locator("#form-03-checks tbody tr")).to_have_count(2)
        _fits(page, "#form-03-checks", f"Form 03's file read back ({locale})")
        shoot(page, f"employer-form-03-check-phone-{locale}")
        _as_before_on_a_computer(page, "#form-03-checks")

        page.goto(f"/employers/{unit.unit_code}")
        _as_before_on_a_computer(page, "#workforce-table")
    finally:
        context.close()
