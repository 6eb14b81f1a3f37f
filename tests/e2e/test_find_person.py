"""A caseworker answering the phone finds the person from the home page, by keyboard: a part of the name typed
without diacritics lands on the people found (the other district's namesake is not among them), each with its
claim's link; a list pasted into the page's box answers one row per code in the order asked, "not found in your
scope" included, with its counts and its file. A supervisor searching a name is asked for a district, then finds
that district's people. Checked by axe in Vietnamese and English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from disburse.extensions import db
from disburse.registry.models import Employee
from tests.e2e.conftest import DONG_ANH, QUAN_1, check_axe, choose_language, shoot, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_caseworker_finds_a_person_and_a_list_by_keyboard(page, committed, locale):
    near = committed.claim("needs_review", person={"full_name": "Phạm Thị Thử Tìm", "district_code": DONG_ANH})
    committed.claim("needs_review", person={"full_name": "Phạm Thị Thử Tìm", "district_code": QUAN_1})
    person = db.session.get(Employee, near.employee_id)
    user = committed.user("caseworker", locale, district=DONG_ANH)
    committed.commit()
    sign_in(page, user)
    choose_language(page, locale)
    page.goto("/")
    page.locator("#find-person-link").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/caseworker/people/find$"))
    page.locator("#q").focus()
    page.keyboard.type("pham thi thu tim")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/caseworker/people/find\?q=pham\+thi\+thu\+tim#people-found$"))
    rows = page.locator("#people tbody tr")
    expect(rows).to_have_count(1)  # Quận 1's namesake is outside this caseworker's district
    expect(rows.first).to_contain_text(person.si_code)
    shoot(page, f"find-person-{locale}")
    check_axe(page, f"the find-a-person page's results ({locale})")

    page.locator("#codes").focus()
    page.keyboard.type(f"0199999999, {person.si_code}")
    page.keyboard.press("Tab")  # the file's field
    page.keyboard.press("Tab")  # the list's button
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    listed = page.locator("#people-list tbody tr")
    expect(listed).to_have_count(2)
    expect(listed.nth(0)).to_contain_text("0199999999")
    expect(listed.nth(0)).to_contain_text("Không tìm thấy" if locale == "vi" else "Not found in your scope")
    expect(listed.nth(1)).to_contain_text(person.full_name)
    shoot(page, f"find-people-{locale}")
    check_axe(page, f"the find-a-person page's list ({locale})")
    with page.expect_download() as download:
        page.locator("button[name=download][value=xlsx]").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    # The CSV at once after the Excel file: another button of the same form, sent (a form is sent once per button).
    with page.expect_download() as download:
        page.locator("button[name=download][value=csv]").click()
    assert download.value.suggested_filename.endswith(".csv")
    listed.nth(1).get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/caseworker/claims/{near.id}$"))


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_supervisor_is_asked_for_a_district_to_find_a_name(page, committed, locale):
    """A province's supervisor searches a name within one district of their province: without one the field says
    so (and a code would have needed none); with Đông Anh's code, Đông Anh's person only."""
    near = committed.claim("needs_review", person={"full_name": "Phạm Thị Thử Tìm", "district_code": DONG_ANH})
    committed.claim("needs_review", person={"full_name": "Phạm Thị Thử Tìm", "district_code": QUAN_1})
    person = db.session.get(Employee, near.employee_id)
    user = committed.user("supervisor", locale, province="01")
    committed.commit()
    sign_in(page, user)
    choose_language(page, locale)
    page.goto("/caseworker/people/find")
    page.locator("#q").focus()
    page.keyboard.type("pham thi thu tim")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    said = (
        "Chọn quận/huyện để tìm theo tên."
        if locale == "vi"
        else "Choose a district to search by name. An SI code or an ID number needs none."
    )
    expect(page.locator("#district-error")).to_contain_text(said)
    expect(page.locator("#people")).to_have_count(0)
    check_axe(page, f"the find-a-person page asking a supervisor for a district ({locale})")
    page.locator("#district").focus()
    page.keyboard.type("017")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/caseworker/people/find\?q=pham\+thi\+thu\+tim&district=017#people-found$"))
    rows = page.locator("#people tbody tr")
    expect(rows).to_have_count(1)  # Quận 1's namesake is in another district (and province)
    expect(rows.first).to_contain_text(person.si_code)
    shoot(page, f"find-person-supervisor-{locale}")
    check_axe(page, f"the find-a-person page's results for a supervisor ({locale})")


def test_a_long_list_pasted_into_the_one_person_box_goes_to_the_lists_box(page, committed):
    """400 codes pasted into the one-person box were sent in the URL and refused by the web server in English
    ("URI Too Long"), with no way back: they go into the list's box, the page says so, and its button looks them
    up."""
    claim = committed.claim("needs_review", person={"district_code": DONG_ANH})
    person = db.session.get(Employee, claim.employee_id)
    user = committed.user("caseworker", "vi", district=DONG_ANH)
    committed.commit()
    sign_in(page, user)
    page.goto("/caseworker/people/find")
    codes = [f"01{n:08d}" for n in range(1, 400)] + [person.si_code]
    page.locator("#q").fill(" ".join(codes))
    page.locator("#q").press("Enter")
    expect(page).to_have_url(re.compile(r"/caseworker/people/find$"))
    expect(page.locator("#list-moved")).to_be_visible()
    expect(page.locator("#codes")).to_be_focused()
    assert page.locator("#codes").input_value().split("\n") == codes
    page.get_by_role("button", name="Tra cứu danh sách").click()
    expect(page.locator("#people-list tbody tr")).to_have_count(400)
    expect(page.locator("#people-list tbody tr").last).to_contain_text(person.full_name)
