"""The signed-out home page on a phone (360 CSS pixels): each programme's table starts with its completion, in view
without scrolling sideways, and the table's scroll box takes the keyboard's focus by Tab (then the arrow keys scroll
it)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import check_axe, choose_language, shoot

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 360, 740


@pytest.mark.parametrize(("locale", "completion"), [("vi", "Tỷ lệ đã chi trả"), ("en", "Share paid")])
def test_the_completion_is_in_view_and_the_table_scrolls_by_keyboard(
    browser, live_server, committed, locale, completion
):
    committed.claim("paid")
    committed.claim("listed")
    committed.commit()
    context = browser.new_context(base_url=live_server, viewport={"width": WIDTH, "height": HEIGHT}, locale="vi-VN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/")
        choose_language(page, locale)
        box = page.locator("main .table-scroll").first
        box.scroll_into_view_if_needed()
        header = box.locator("th").first
        assert header.inner_text().strip() == completion
        cell = box.locator("tbody td").first
        assert ("50,0%" if locale == "vi" else "50.0%") in cell.inner_text()
        for element in (header, cell):  # wholly on the screen, the box not scrolled
            where = element.bounding_box()
            assert where is not None and where["x"] >= 0 and where["x"] + where["width"] <= WIDTH, where
        assert box.evaluate("el => el.scrollLeft") == 0
        # The box is wider inside than on the screen, so a keyboard user must be able to scroll it: Tab reaches it.
        assert box.evaluate("el => el.scrollWidth > el.clientWidth")
        page.locator("body").focus()
        for _ in range(40):
            page.keyboard.press("Tab")
            if box.evaluate("el => el === document.activeElement"):
                break
        else:
            raise AssertionError("Tab never reached the table's scroll box")
        assert box.get_attribute("tabindex") == "0" and box.get_attribute("aria-label")
        page.keyboard.press("ArrowRight")
        page.wait_for_function("el => el.scrollLeft > 0", arg=box.element_handle())
        shoot(page, f"home-phone-{locale}")
        check_axe(page, f"home at {WIDTH}px ({locale})")
    finally:
        context.close()
