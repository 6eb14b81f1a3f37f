"""A national supervisor in the browser: drills from the nation to Hà Nội, to Đông Anh and to a unit's status page,
sorts a table by keyboard, exports a table as CSV; the charts, backlog, targets and monthly report pages open, the
charts' figures printed with them; every page checked by axe-core and photographed in Vietnamese and English."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DONG_ANH, QUAN_1, main_page, sign_in
from tests.factories import nq116

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_supervisor_drills_down_and_exports(page, committed, locale):
    en = locale == "en"
    supervisor = committed.user("supervisor", locale)
    slow = committed.unit(district_code=DONG_ANH, name="Công ty TNHH Dệt Đông Anh")
    quick = committed.unit(district_code=DONG_ANH, name="Công ty CP Cơ khí Đông Anh")
    for state in ("paid", "listed", "listed", "needs_review"):
        committed.claim(state, person={"employer_id": slow.id})
    for state in ("paid", "paid", "paid", "approved"):
        committed.claim(state, person={"employer_id": quick.id})
    committed.claim("paid", person={"district_code": QUAN_1})
    committed.commit()
    committed.backlog(nq116().id)  # the backlog page's figures, as beat counts them

    sign_in(page, supervisor)
    page.get_by_role("navigation", name="Main menu" if en else "Chức năng").get_by_role(
        "link", name="Payment progress" if en else "Tiến độ chi trả"
    ).click()
    expect(page).to_have_title(
        re.compile("Payment progress: The whole country" if en else "Tiến độ chi trả: Toàn quốc")
    )
    expect(page.locator("#dashboard-table")).to_contain_text("Thành phố Hồ Chí Minh")
    expect(page.locator("svg.chart-wide[role=img]")).to_have_count(1)
    main_page(page, f"dashboard-country-{locale}")

    # The nation → Hà Nội → Đông Anh.
    page.locator("#dashboard-table").get_by_role("link", name="Thành phố Hà Nội").click()
    expect(page).to_have_url(re.compile(r"/dashboard/\?province=01$"))
    expect(page.locator(".breadcrumbs")).to_contain_text("Thành phố Hà Nội")
    main_page(page, f"dashboard-province-{locale}")
    page.locator("#dashboard-table").get_by_role("link", name="Huyện Đông Anh").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/\?district={DONG_ANH}$"))
    expect(page.locator("#dashboard-table")).to_contain_text(slow.name)

    # Sort the units by the share paid, lowest first, by keyboard alone: focus the column's link, press Enter.
    header = page.locator("#dashboard-table thead a", has_text="Share paid" if en else "Tỷ lệ đã chi trả")
    header.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"sort=percent_paid&order=asc"))
    first_unit = page.locator("#dashboard-table tbody tr").first
    expect(first_unit).to_contain_text(slow.name)  # 1 of 4 paid before 3 of 4
    expect(page.locator("#dashboard-table th[aria-sort=ascending]")).to_have_count(1)
    # The page comes back at the table: the next Tab goes into it, not to the top of the page. (The browser moves
    # its focus starting point to the fragment once the page has loaded.)
    page.wait_for_load_state("load")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#dashboard-table') !== null")
    main_page(page, f"dashboard-district-{locale}")

    # Export the district's units as CSV: the same rows, in the same order.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV", exact=True).click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"tien-do-units-{DONG_ANH}-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    ours = [row[1] for row in rows[1:] if row[1] in (slow.name, quick.name)]
    assert ours == [slow.name, quick.name]

    # The breadcrumbs lead back up; the unit's link opens its status page.
    page.locator(".breadcrumbs").get_by_role("link", name="Thành phố Hà Nội").click()
    expect(page).to_have_url(re.compile(r"/dashboard/\?province=01"))
    page.go_back()
    page.locator("#dashboard-table").get_by_role("link", name=slow.name).click()
    expect(page).to_have_url(re.compile(rf"/employers/{slow.unit_code}$"))

    # The other dashboard pages of the district, and the supervisor's own ones.
    page.goto(f"/dashboard/charts?district={DONG_ANH}")
    expect(page.locator("svg.chart[role=img]").first).to_be_visible()
    main_page(page, f"dashboard-charts-{locale}")
    # On screen each chart's figures wait in a closed <details>; printed, they are on the paper.
    figures = page.locator("details.chart-data table").first
    expect(figures).to_be_hidden()
    page.emulate_media(media="print")
    expect(figures).to_be_visible()
    page.emulate_media(media="screen")
    page.goto(f"/dashboard/backlog?district={DONG_ANH}")
    expect(page.locator("#queue-by-age")).to_be_visible()
    main_page(page, f"dashboard-backlog-{locale}")
    page.goto("/dashboard/targets")
    main_page(page, f"dashboard-targets-{locale}")
    page.goto("/dashboard/monthly")
    expect(page.locator("#monthly")).to_contain_text("Thành phố Hà Nội")
    main_page(page, f"dashboard-monthly-{locale}")
