"""Form 03's file by keyboard in Chromium: sent, it is read back first (the focus and the title on what would be
recorded, nothing recorded), then "Xác nhận điều chỉnh" records it and the result says so."""

from __future__ import annotations

import csv
import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.e2e.conftest import DONG_ANH, check_axe, shoot, sign_in


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_file_is_read_back_then_confirmed_by_keyboard(page, committed, tmp_path, locale):
    en = locale == "en"
    unit = committed.unit(district_code=DONG_ANH)
    claim = committed.claim("awaiting_payment_details", person={"employer_id": unit.id})
    employer = committed.user("employer", locale, employer_unit=unit.unit_code)
    committed.commit()
    si_code, before = db.session.get(Employee, claim.employee_id).si_code, claim.bank_account
    path = tmp_path / "mau03.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out).writerows(
            [["si_code", "action", "bank_code", "bank_account"], [si_code, "correct", "VCB", "0071000999999"]]
        )

    sign_in(page, employer)
    page.goto(f"/employers/{unit.unit_code}/form-03")
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Send the Form 03 file" if en else "Gửi tệp Mẫu số 03").click()
    check = page.locator("#form-03-result")
    expect(check).to_be_focused()
    expect(page).to_have_title(
        re.compile("^Check the Form 03 file before it is recorded · " if en else "^Kiểm tra lại tệp Mẫu số 03 trước")
    )
    expect(page.locator("#form-03-checks")).to_contain_text("0071000999999")
    check_axe(page, f"form-03-file-check-{locale}")
    shoot(page, f"form-03-file-check-{locale}")
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).bank_account == before  # nothing recorded yet

    confirm = page.get_by_role("button", name="Confirm the adjustment" if en else "Xác nhận điều chỉnh")
    for _ in range(10):  # Tab through the check (its tables) to the button
        page.keyboard.press("Tab")
        if confirm.evaluate("b => b === document.activeElement"):
            break
    expect(confirm).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_title(re.compile("^Form 03 file received · " if en else "^Kết quả tiếp nhận tệp Mẫu số 03 · "))
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).bank_account == "0071000999999"


def _file_checked_slowly(page: Any, committed: Any, tmp_path: Any, account: str) -> Any:
    """A unit's Form 03 file correcting one person's account to ``account``, sent and read back on its check page,
    the confirmation's answer then slowed (a large file's takes its time: a second click comes before it ends); the
    claim."""
    unit = committed.unit(district_code=DONG_ANH)
    claim = committed.claim("awaiting_payment_details", person={"employer_id": unit.id})
    employer = committed.user("employer", "vi", employer_unit=unit.unit_code)
    committed.commit()
    si_code = db.session.get(Employee, claim.employee_id).si_code
    path = tmp_path / "mau03.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out).writerows(
            [["si_code", "action", "bank_code", "bank_account"], [si_code, "correct", "VCB", account]]
        )
    sign_in(page, employer)
    page.goto(f"/employers/{unit.unit_code}/form-03")
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Gửi tệp Mẫu số 03").click()
    expect(page).to_have_title(re.compile("^Kiểm tra lại tệp Mẫu số 03 trước"))

    def slow(route: Any) -> None:
        time.sleep(0.5)
        route.continue_()

    page.route("**/form-03/upload", slow)
    return claim


def _recorded(page: Any, claim: Any, account: str) -> None:
    """The file's result page says the correction was recorded, and it was."""
    expect(page).to_have_title(re.compile("^Kết quả tiếp nhận tệp Mẫu số 03 · "))
    expect(page.locator("main")).to_contain_text("Điều chỉnh: 1 người")
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).bank_account == account


def test_a_double_clicked_confirmation_is_sent_once_and_says_what_was_recorded(page, committed, tmp_path):
    """A double-click on "Xác nhận điều chỉnh" sent the file's confirmation twice: the first recorded the correction,
    the second, answered as a repeat, replaced it on the screen with "no adjustment recorded" (and, once the people
    were paid meanwhile, every row refused as paid). The page now sends a form once: the second click is not sent."""
    claim = _file_checked_slowly(page, committed, tmp_path, "0071000888888")
    posts: list[str] = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    # Two clicks a tenth of a second apart, as a hurried hand makes them (the first post is on its way).
    page.get_by_role("button", name="Xác nhận điều chỉnh").evaluate(
        "button => { button.click(); setTimeout(() => button.click(), 100); }"
    )
    _recorded(page, claim, "0071000888888")
    expect(page.locator("main")).not_to_contain_text("đã thay đổi từ khi kiểm tra")
    assert len(posts) == 1, posts


def test_edit_clicked_while_the_confirmation_is_on_its_way_does_not_hide_what_was_recorded(page, committed, tmp_path):
    """«Sửa lại» clicked just after «Xác nhận điều chỉnh» left the person on the form to edit, while the confirmation
    had recorded the correction: they believed nothing was. Once a form has posted, no form of the page is sent
    until its answer comes; the button clicked says it is busy."""
    claim = _file_checked_slowly(page, committed, tmp_path, "0071000777777")
    # «Xác nhận điều chỉnh», then «Sửa lại» a tenth of a second later, while the confirmation is on its way.
    busy = page.evaluate(
        """() => {
          const named = (words) => [...document.querySelectorAll("button")].find((b) => b.textContent.trim() === words);
          const confirm = named("Xác nhận điều chỉnh");
          confirm.click();
          setTimeout(() => named("Sửa lại").click(), 100);
          return confirm.getAttribute("aria-busy");
        }"""
    )
    assert busy == "true"
    _recorded(page, claim, "0071000777777")
