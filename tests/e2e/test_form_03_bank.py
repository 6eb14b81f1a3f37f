"""Form 03's bank, by keyboard in Chromium: typed by its short code ("VCB": the select's type-ahead went by the first
words of the banks' names and chose VBSP) or by its name; read back on the check step, recorded on "Xác nhận"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.e2e.conftest import DONG_ANH, check_axe, sign_in


def _to_bank(page, committed):
    """Form 03 open on a correction for a listed person, the focus in the bank's box."""
    unit = committed.unit(district_code=DONG_ANH)
    claim = committed.claim("listed", person={"employer_id": unit.id})
    employer = committed.user("employer", employer_unit=unit.unit_code)
    committed.commit()
    sign_in(page, employer)
    page.goto(f"/employers/{unit.unit_code}/form-03")
    page.locator("#action-2").check()
    page.locator("#si_code").fill(db.session.get(Employee, claim.employee_id).si_code)
    page.locator("#bank_code").focus()
    return claim


@pytest.mark.parametrize("typed", ["VCB", "vcb", "Vietcombank"])
def test_the_bank_is_typed_by_its_code_or_its_name(page, committed, typed):
    claim = _to_bank(page, committed)
    page.keyboard.type(typed)
    page.keyboard.press("Tab")
    page.keyboard.type("0011223344")
    page.keyboard.press("Enter")
    # Read back first, the focus on it, nothing recorded; then "Xác nhận điều chỉnh" by keyboard.
    check = page.locator("#kiem-tra-lai")
    expect(check).to_be_focused()
    expect(page.locator("#check-new-account")).to_contain_text("Vietcombank")
    expect(page.locator("#check-new-account")).to_contain_text("0011223344")
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).bank_account != "0011223344"
    check_axe(page, f"form-03-check-{typed}")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Xác nhận điều chỉnh")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".flash, .panel").first).to_contain_text("Đã điều chỉnh")
    db.session.expire_all()
    recorded = db.session.get(Claim, claim.id)
    assert (recorded.bank_code, recorded.bank_account) == ("VCB", "0011223344")


def test_a_bank_not_known_is_said_on_its_field_and_nothing_is_recorded(page, committed):
    claim = _to_bank(page, committed)
    before = claim.bank_code
    expect(page.locator("#bank_code")).to_have_attribute("list", "bank_code-banks")
    assert page.locator("#bank_code-banks option[value='VCB']").count() == 1  # the suggestions name every bank
    page.keyboard.type("Vietcom")
    page.keyboard.press("Tab")
    page.keyboard.type("0011223344")
    page.keyboard.press("Enter")
    expect(page.locator("#bank_code-error")).to_contain_text("VIETCOM")
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).bank_code == before
