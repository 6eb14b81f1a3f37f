"""The queue sorted by its claim number: the narrow first column's header ("Số hồ sơ", its link and the order's
arrow) stays on one line, on a 1280 px screen and on a 360 px phone, in Vietnamese and in English ("No.", as the jobs
lists' first column: "Claim no." on one line made the English table wider than a 1280 px screen). It wrapped onto
three lines ("Số" / "hồ sơ" / "↑"), which made every header of the row three lines high."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DONG_ANH, shoot, sign_in

pytestmark = pytest.mark.e2e

# The tops of the line boxes of a header's text (its link and the arrow after it): one line has one top.
LINES = """th => {
  const range = document.createRange();
  range.selectNodeContents(th);
  const tops = new Set();
  for (const rect of range.getClientRects()) if (rect.width > 0) tops.add(Math.round(rect.top));
  return tops.size;
}"""


@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize("width", [1280, 360])
def test_the_sorted_claim_number_header_is_one_line(page, committed, locale, width):
    worker = committed.user("caseworker", locale, district=DONG_ANH)
    unit = committed.unit(district_code=DONG_ANH)
    for months in (24, 6):
        person = {"employer_id": unit.id, "unused_months": months}
        committed.claim("needs_review", reasons=["zero_months"], person=person)
    committed.commit()

    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, worker)
    for order, aria in (("id", "ascending"), ("-id", "descending")):
        page.goto(f"/caseworker/queue?employer={unit.unit_code}&sort={order}")
        header = page.locator("table.queue th").first
        expect(header).to_have_attribute("aria-sort", aria)
        expect(header.locator("a")).to_have_text("No." if locale == "en" else "Số hồ sơ")
        header.scroll_into_view_if_needed()
        shoot(page, f"caseworker-queue-sorted-by-{order}-{width}px-{locale}")
        assert header.evaluate(LINES) == 1, f"{order} at {width} px: {header.inner_text()!r}"
        if width == 1280:
            box = page.locator(".queue-layout .table-scroll")
            assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), f"{order}: the table scrolls sideways"
