"""A caseworker finds a unit from the home page by a part of its name typed without diacritics, by keyboard: the
results page lands on the units found, each a link to the unit's page; the unit's code in small letters goes
straight to it; a look-up that finds nothing says so and what to try. Checked by axe on the results page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DONG_ANH, QUAN_1, check_axe, shoot, sign_in

pytestmark = pytest.mark.e2e


def test_a_caseworker_finds_a_unit_by_a_part_of_its_name(page, committed):
    near = committed.unit(unit_code="DN01009876", name="Công ty Cổ phần Dệt May Thử Đông Anh", district_code=DONG_ANH)
    committed.unit(unit_code="DN79009876", name="Công ty Dệt May Thử Sài Gòn", district_code=QUAN_1)
    user = committed.user("caseworker", district=DONG_ANH)
    committed.commit()
    sign_in(page, user)
    page.goto("/")
    page.fill("#unit", "det may thu")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/units\?unit=det\+may\+thu#units-found$"))
    rows = page.locator("#units tbody tr")
    expect(rows).to_have_count(1)  # the other district's Dệt May is not in this caseworker's scope
    expect(rows.first).to_contain_text("Công ty Cổ phần Dệt May Thử Đông Anh")
    expect(rows.first).to_contain_text("Huyện Đông Anh")
    shoot(page, "home-unit-lookup-vi")
    check_axe(page, "the unit look-up's results")
    rows.first.get_by_role("link", name=near.unit_code).click()
    expect(page).to_have_url(re.compile(rf"/employers/{near.unit_code}$"))

    page.goto("/")
    page.fill("#unit", near.unit_code.lower())
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/employers/{near.unit_code}(#units-found)?$"))

    page.goto("/units")
    page.fill("#unit", "DN79009876")
    page.keyboard.press("Enter")
    expect(page.locator("#no-units")).to_contain_text("“DN79009876”")
    expect(page.locator("#units-found")).to_contain_text("có dấu hay không dấu")
