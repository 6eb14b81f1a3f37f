"""The dashboard's charts on a 360 px phone, in the browser: each chart is drawn as wide as the screen (never wider,
never the computer's drawing shrunk to a strip), every word in it at 11 px or more as rendered, none cut off at the
picture's edge; the computer's drawing is hidden and out of the accessibility tree (one image per chart), each
chart's figures open from the keyboard, and axe-core passes. On a computer the wide drawing is the one shown."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from disburse.extensions import db
from disburse.programs.calendar import programme_today
from disburse.reports.rollups import take_snapshots
from tests.e2e.conftest import DONG_ANH, check_axe, shoot, sign_in
from tests.factories import nq116

pytestmark = pytest.mark.e2e

#: Rendered size of every chart's text, its box and the shown drawing, per chart: the font size the stylesheet
#: gives, times the drawing's scale on the screen (its width there over its viewBox's).
MEASURE = """() => [...document.querySelectorAll('figure.chart-figure')].map((figure) => {
  const shown = [...figure.querySelectorAll('svg.chart')].filter((svg) => getComputedStyle(svg).display !== 'none');
  return shown.map((svg) => {
    const box = svg.getBoundingClientRect();
    const scale = box.width / svg.viewBox.baseVal.width;
    const texts = [...svg.querySelectorAll('text')].map((t) => {
      const r = t.getBoundingClientRect();
      return {text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale, left: r.left, right: r.right};
    });
    return {id: figure.id, kind: svg.classList.contains('chart-narrow') ? 'narrow' : 'wide',
            left: box.left, right: box.right, width: box.width, texts};
  });
})"""

LONG_UNIT = "Công ty Trách nhiệm hữu hạn Một thành viên Dệt may Xuất nhập khẩu Đông Anh"


def _charts(page: Any) -> list[list[dict[str, Any]]]:
    return page.evaluate(MEASURE)


@pytest.fixture
def snapshots(app: Any, committed: Any) -> Any:
    """Two days of completion snapshots (the line chart's points), removed afterwards."""
    program = nq116()
    today = programme_today()
    made: list[Any] = []

    def take() -> None:
        for day in (today - timedelta(days=1), today):
            take_snapshots(program.id, day)
            made.append(day)
        db.session.commit()

    yield take
    db.session.rollback()
    db.session.execute(
        text("DELETE FROM completion_snapshots WHERE program_id = :p AND day = ANY(:d)"), {"p": program.id, "d": made}
    )
    db.session.commit()


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_charts_are_readable_on_a_360px_phone(browser, live_server, committed, snapshots, locale):
    supervisor = committed.user("supervisor", locale)
    unit = committed.unit(district_code=DONG_ANH, name=LONG_UNIT)
    for state in ("paid", "paid", "listed", "needs_review", "employer_confirmed"):
        committed.claim(state, person={"employer_id": unit.id})
    committed.commit()
    committed.backlog(nq116().id)
    snapshots()

    context = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740}, locale="vi-VN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, supervisor)
        page.goto("/dashboard/charts?province=01")
        expect(page.locator("figure#completion-over-time svg.chart-narrow")).to_be_visible()
        shoot(page, f"charts-phone-{locale}")
        charts = _charts(page)
        drawn = [shown for shown in charts if shown]  # a chart without figures says so in words
        ids = [shown[0]["id"] for shown in drawn]
        assert {"completion-over-time", "completion-by-area", "ageing"} <= set(ids), ids
        for shown in drawn:
            assert len(shown) == 1 and shown[0]["kind"] == "narrow", shown  # one drawing each: the phone's
            chart = shown[0]
            # As wide as the text column (360 less the page's margins), inside the screen.
            assert chart["left"] >= 0 and chart["right"] <= 360 and chart["width"] >= 300, chart
            assert chart["texts"], chart["id"]
            for word in chart["texts"]:
                assert word["px"] >= 11, (chart["id"], word)  # 5 px before: the 720-unit drawing shrunk
                assert word["left"] >= chart["left"] - 0.5 and word["right"] <= chart["right"] + 0.5, (
                    chart["id"],
                    word,
                )
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        # One image per chart in the accessibility tree: the hidden drawing is not read twice.
        title = "Share paid by day" if locale == "en" else "Tỷ lệ đã chi trả theo ngày"
        expect(page.get_by_role("img", name=title)).to_have_count(1)

        # The figures of a chart open from the keyboard: Tab to its summary, Enter.
        summary = page.locator("figure#completion-by-area details.chart-data summary")
        table = page.locator("figure#completion-by-area details.chart-data table")
        expect(table).to_be_hidden()
        summary.focus()
        page.keyboard.press("Enter")
        expect(table).to_be_visible()
        expect(table).to_contain_text("Huyện Đông Anh")
        check_axe(page, f"charts at 360px ({locale})")

        # On a computer, the wide drawing, its words at their size.
        page.set_viewport_size({"width": 1280, "height": 900})
        for shown in [shown for shown in _charts(page) if shown]:
            assert len(shown) == 1 and shown[0]["kind"] == "wide", shown
            assert all(word["px"] >= 11 for word in shown[0]["texts"]), shown[0]["id"]
    finally:
        context.close()
