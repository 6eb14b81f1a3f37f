"""The queue's "Số ngày làm việc" (working days) header keeps to two lines at most on a 1280 px screen, in Vietnamese
and in English, sorted by it or not, and the table still fits the screen: it wrapped a word a line, four lines high
("Số" / "ngày" / "làm" / "việc"), which made every header of the row four lines high."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DONG_ANH, shoot, sign_in
from tests.e2e.test_queue_header_one_line import LINES

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_working_days_header_is_two_lines_at_most(page, committed, locale):
    worker = committed.user("caseworker", locale, district=DONG_ANH)
    unit = committed.unit(district_code=DONG_ANH)
    for months in (24, 6):
        person = {"employer_id": unit.id, "unused_months": months}
        committed.claim("needs_review", reasons=["zero_months"], person=person)
    committed.commit()

    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, worker)
    for order in ("id", "received", "-received"):
        page.goto(f"/caseworker/queue?employer={unit.unit_code}&sort={order}")
        header = page.locator("table.queue th").nth(5)
        expect(header.locator("a")).to_have_text("Working days" if locale == "en" else "Số ngày làm việc")
        header.scroll_into_view_if_needed()
        shoot(page, f"caseworker-queue-age-header-{order}-{locale}")
        lines = header.evaluate(LINES)
        assert lines <= 2, f"sorted by {order}: {lines} lines, {header.inner_text()!r}"
        box = page.locator(".queue-layout .table-scroll")
        assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), f"{order}: the table scrolls sideways"
