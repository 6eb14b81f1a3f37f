"""The dashboard's SVG charts: well-formed XML, named for assistive technology, every value written as text and
in the data table, and no data or zeros drawn without error."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest
from defusedxml.ElementTree import fromstring

from disburse.dashboard.charts import Labels, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"
LABELS = Labels("Tỷ lệ đã chi trả", "Mỗi thanh là một quận/huyện.", "Số liệu", "Quận/huyện", "Tỷ lệ")


def _parts(markup: str) -> tuple[ET.Element, ET.Element | None]:
    figure = fromstring(str(markup))  # the whole figure is XML (XHTML-compatible), not just the SVG
    return figure, figure.find(f"{SVG}svg")


def test_a_bar_chart_names_itself_and_writes_every_value():
    markup = bar_chart(
        "by-district",
        LABELS,
        [("Huyện Đông Anh", 74.3), ("Quận <Ba> Đình & co", 0.0), ("Huyện Sóc Sơn", None)],
        fmt=lambda v: f"{v:.1f}%",
        maximum=100,
        target=(80.0, "Mục tiêu 80%"),
    )
    figure, svg = _parts(markup)
    assert svg is not None and svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "by-district-title by-district-desc"
    assert svg.find(f"{SVG}title").text == "Tỷ lệ đã chi trả"
    assert svg.find(f"{SVG}desc").text == "Mỗi thanh là một quận/huyện."
    texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
    assert {"Huyện Đông Anh", "Quận <Ba> Đình & co", "74.3%", "0.0%", "—", "Mục tiêu 80%"} <= set(texts)
    widths = [float(r.get("width")) for r in svg.iter(f"{SVG}rect")]
    assert widths[1] == 0.0 and widths[2] == 0.0 and widths[0] > 0
    assert any(line.get("class") == "chart-target" for line in svg.iter(f"{SVG}line"))
    cells = [td.text for td in figure.iter("td")]
    assert cells == ["74.3%", "0.0%", "—"]
    assert "style=" not in str(markup)  # the Content-Security-Policy allows no inline style


def test_long_labels_take_two_lines_and_reasons_that_begin_alike_read_apart():
    """The failure reasons: cut at 30 characters, two of them both read "Ngân hàng người nhận …"."""
    closed, returned = (
        "Ngân hàng người nhận không tìm thấy tài khoản",
        "Ngân hàng người nhận trả lại khoản tiền đã chuyển",
    )
    _, svg = _parts(bar_chart("failures", LABELS, [(closed, 3), (returned, 1), ("Khác", 1)]))
    assert svg is not None
    rows = [([t.text for t in row.iter(f"{SVG}tspan")], row.find(f"{SVG}title").text) for row in svg.iter(f"{SVG}g")]
    assert rows[0] == (["Ngân hàng người nhận không tìm", "thấy tài khoản"], closed)
    assert rows[1] == (["Ngân hàng người nhận trả lại", "khoản tiền đã chuyển"], returned)
    assert rows[2] == (["Khác"], "Khác")
    assert all(len(line) <= 30 for lines, _ in rows for line in lines)


def test_bars_of_all_zeros_and_no_bars_at_all():
    _, svg = _parts(bar_chart("zeros", LABELS, [("A", 0), ("B", 0)]))
    assert svg is not None and all(float(r.get("width")) == 0.0 for r in svg.iter(f"{SVG}rect"))
    figure, svg = _parts(bar_chart("none", LABELS, [], empty="Chưa có số liệu."))
    assert svg is None and figure.find("p").text == "Chưa có số liệu."


def test_a_line_chart_marks_each_point_and_labels_the_days():
    points = [(f"{day:02d}/11/2021", float(day * 3)) for day in range(1, 21)]
    figure, svg = _parts(line_chart("over-time", LABELS, points, fmt=lambda v: f"{v:g}%", maximum=100))
    assert svg is not None and svg.get("role") == "img"
    assert len(list(svg.iter(f"{SVG}circle"))) == 20
    texts = {t.text for t in svg.iter(f"{SVG}text")}
    assert {"01/11/2021", "20/11/2021", "3%", "60%", "0%", "100%"} <= texts
    assert len(list(figure.iter("tr"))) == 21  # the header and one row a day


@pytest.mark.parametrize("days", [2, 3, 7, 9, 10, 15, 16, 31, 60, 120])
def test_the_days_under_a_line_never_touch_and_none_is_cut_off(days):
    """Two days' labels were drawn over each other and the last ran off the chart ("06/12/202"): whatever the count,
    the labels written stand a label's width apart, the first and the last are always there, and the last ends at
    the axis' end, inside the picture."""
    points = [(f"{n % 28 + 1:02d}/{n // 28 + 10:02d}/2021", float(n)) for n in range(days)]
    _, svg = _parts(line_chart("many", LABELS, points, fmt=lambda v: f"{v:g}%", maximum=100))
    assert svg is not None
    labels = [t for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-label" and "/" in (t.text or "")]
    assert labels[0].text == points[0][0] and labels[-1].text == points[-1][0]
    width = float(svg.get("viewBox").split()[2])

    def span(t) -> tuple[float, float]:
        x, wide = float(t.get("x")), len(t.text) * 7
        return {"end": (x - wide, x), "middle": (x - wide / 2, x + wide / 2)}.get(t.get("text-anchor"), (x, x + wide))

    spans = sorted(span(t) for t in labels)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans)), spans
    assert spans[0][0] >= 0 and spans[-1][1] <= width


def test_a_line_of_zeros_one_point_and_none():
    _, svg = _parts(line_chart("zeros", LABELS, [("01/11/2021", 0.0), ("02/11/2021", 0.0)]))
    assert svg is not None and svg.find(f"{SVG}polyline") is not None
    _, svg = _parts(line_chart("one", LABELS, [("01/11/2021", 5.0)]))
    assert svg is not None and len(list(svg.iter(f"{SVG}circle"))) == 1
    _, svg = _parts(line_chart("empty", LABELS, [("01/11/2021", None)], empty="—"))
    assert svg is None


def test_a_line_with_days_without_figures_has_gaps_and_keeps_each_day_in_its_place():
    """Ten days, figures on days 1–3, 8 and 10: the line stops after day 3 and the points stand at their days' places
    (day 8 seven steps after day 1, not four); day 8 alone is a mark without a line; the table lists the figures."""
    values = {1: 10.0, 2: 12.0, 3: 15.0, 8: 40.0, 10: 45.0}
    points = [(f"{day:02d}/11/2021", values.get(day)) for day in range(1, 11)]
    known = [(label, value) for label, value in points if value is not None]
    figure, svg = _parts(line_chart("gaps", LABELS, points, fmt=lambda v: f"{v:g}%", maximum=100, table=known))
    assert svg is not None
    lines = [line.get("points").split() for line in svg.iter(f"{SVG}polyline")]
    assert [len(line) for line in lines] == [3]  # days 1–3; days 8 and 10 have no neighbour with figures
    xs = [float(circle.get("cx")) for circle in svg.iter(f"{SVG}circle")]
    assert len(xs) == 5
    step = xs[1] - xs[0]
    assert step > 0 and [round((x - xs[0]) / step) for x in xs] == [0, 1, 2, 7, 9]
    assert [float(point.split(",")[0]) for point in lines[0]] == [round(x, 1) for x in xs[:3]]
    texts = {t.text for t in svg.iter(f"{SVG}text")}
    assert {"01/11/2021", "10/11/2021"} <= texts
    rows = [[cell.text for cell in row] for row in figure.iter("tr")][1:]
    assert rows == [[label, f"{value:g}%"] for label, value in known]  # the days with figures, as before
