"""The queue sorted from its columns' headers by keyboard alone: Tab to a header's link, Enter, and the rows come in
that order with ``aria-sort`` on the column; Enter again reads it backwards; the filters stay; axe-core finds nothing
serious; the table still fits a 1280 px screen with the order's arrow in its header."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DONG_ANH, main_page, sign_in
from tests.e2e.test_keyboard import _tab_to

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_caseworker_sorts_the_queue_by_keyboard(page, committed, locale):
    en = locale == "en"
    worker = committed.user("caseworker", locale, district=DONG_ANH)
    unit = committed.unit(district_code=DONG_ANH)
    # Unused months in three tiers: three amounts, made in neither order.
    made = [
        committed.claim("needs_review", reasons=["zero_months"], person={"employer_id": unit.id, "unused_months": m})
        for m in (24, 100, 6)
    ]
    committed.commit()
    highest_first = [c.id for c in sorted(made, key=lambda c: (-c.amount_vnd, -c.id))]
    assert len({c.amount_vnd for c in made}) == 3

    sign_in(page, worker)
    page.goto(f"/caseworker/queue?employer={unit.unit_code}")
    amount = page.locator("table.queue th", has_text="Amount" if en else "Mức hỗ trợ")
    expect(amount).not_to_have_attribute("aria-sort", re.compile(".*"))
    _tab_to(page, "table.queue th:nth-child(7) a")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"employer={unit.unit_code}.*sort=-amount.*#rows-title$"))
    expect(amount).to_have_attribute("aria-sort", "descending")
    listed = page.locator("table.queue tbody tr td:first-child")
    expect(listed).to_have_text([str(i) for i in highest_first])
    main_page(page, f"caseworker-queue-sorted-{locale}")
    box = page.locator(".queue-layout .table-scroll")
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), "the sorted queue's table scrolls sideways at 1280 px"

    # The same header again: lowest first.
    page.locator("table.queue th:nth-child(7) a").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"sort=amount.*#rows-title$"))
    expect(amount).to_have_attribute("aria-sort", "ascending")
    expect(listed).to_have_text([str(i) for i in reversed(highest_first)])
    # The filter form says the order chosen, and sends it with the filters.
    expect(page.locator("#sort")).to_have_value("amount")
