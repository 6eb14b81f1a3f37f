"""An employer in the browser: uploads a Form 02 sheet with one bad row, sees the error, fixes the row, sends the
file again and sees the statuses on the unit's status page; each page checked by axe-core and photographed."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.e2e.conftest import main_page, sign_in

pytestmark = pytest.mark.e2e

HEADER = ["Mã số BHXH (si_code)", "Ngân hàng (bank_code)", "Số tài khoản (bank_account)", "decline"]


def _sheet(path: Path, lines: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(lines)
    return path


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_an_employer_sends_form_02_fixes_a_bad_row_and_sees_the_statuses(page, committed, tmp_path, locale):
    en = locale == "en"
    unit = committed.unit(name="Công ty TNHH May Thử")
    names = ["Trần Thị Ánh", "Lê Văn Bình", "Đỗ Minh Đức"]
    people = [committed.claim("listed", person={"employer_id": unit.id, "full_name": name}) for name in names]
    employer = committed.user("employer", locale, employer_unit=unit.unit_code)
    committed.commit()
    si = [db.session.get(Employee, claim.employee_id).si_code for claim in people]

    sign_in(page, employer)
    main_page(page, f"home-employer-{locale}")
    page.goto(f"/employers/{unit.unit_code}")
    for name in names:
        expect(page.locator("tr", has_text=name)).to_contain_text("Listed" if en else "Đã lập danh sách")
    main_page(page, f"employer-status-before-{locale}")

    page.goto(f"/employers/{unit.unit_code}/form-02")
    main_page(page, f"employer-form-02-{locale}")
    bad = [[si[0], "VCB", "0071000123456", ""], [si[1], "", "", "x"], [si[2], "KHONGCO", "0071000999999", ""]]
    page.set_input_files("#file", str(_sheet(tmp_path / "mau02.csv", bad)))
    page.get_by_role("button", name="Send Form 02" if en else "Gửi Mẫu số 02").click()
    result = page.locator("section.result")
    expect(result).to_contain_text("Confirmed: 1 people" if en else "Xác nhận: 1 người")
    expect(result).to_contain_text("Rows refused: 1" if en else "Dòng bị từ chối: 1")
    refused = result.locator("tbody tr")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("KHONGCO")
    main_page(page, f"employer-form-02-refused-{locale}")

    # The row fixed, the whole file sent again: the rows already taken do not change.
    bad[2] = [si[2], "BIDV", "12345678901", ""]
    page.set_input_files("#file", str(_sheet(tmp_path / "mau02-sua.csv", bad)))
    page.get_by_role("button", name="Send Form 02" if en else "Gửi Mẫu số 02").click()
    expect(result).to_contain_text("Confirmed: 1 people" if en else "Xác nhận: 1 người")
    expect(result).to_contain_text("Rows refused: 0" if en else "Dòng bị từ chối: 0")

    page.goto(f"/employers/{unit.unit_code}")
    confirmed = "Confirmed by employer" if en else "Đơn vị đã xác nhận"
    expect(page.locator("tr", has_text=names[0])).to_contain_text(confirmed)
    expect(page.locator("tr", has_text=names[1])).to_contain_text("Declined" if en else "Không nhận hỗ trợ")
    expect(page.locator("tr", has_text=names[2])).to_contain_text(confirmed)
    main_page(page, f"employer-status-{locale}")

    db.session.expire_all()
    states = [db.session.get(Claim, claim.id).state for claim in people]
    assert states == ["employer_confirmed", "declined", "employer_confirmed"]
    assert re.search(unit.unit_code, page.url)
