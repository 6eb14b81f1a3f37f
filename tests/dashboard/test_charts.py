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


def _drawings(markup: str) -> dict[str, ET.Element]:
    """The figure's two drawings by kind: the computer's ("wide") and the phone's ("narrow")."""
    figure = fromstring(str(markup))
    return {svg.get("class").split()[1].removeprefix("chart-"): svg for svg in figure.iter(f"{SVG}svg")}


def test_every_chart_is_drawn_for_a_computer_and_for_a_phone_each_named_by_its_own_ids():
    """The stylesheet shows one of the two; the hidden one is out of the accessibility tree, and no id is twice."""
    bars = bar_chart("by-district", LABELS, [("Huyện Đông Anh", 74.3)], fmt=lambda v: f"{v:.1f}%", maximum=100)
    line = line_chart("over-time", LABELS, [("01/11/2021", 5.0), ("02/11/2021", 6.0)], fmt=lambda v: f"{v:g}%")
    for chart_id, markup in (("by-district", bars), ("over-time", line)):
        drawings = _drawings(markup)
        assert list(drawings) == ["wide", "narrow"]
        assert drawings["wide"].get("viewBox").split()[2] == "720"
        assert drawings["narrow"].get("viewBox").split()[2] == "320"
        for kind, own in ((drawings["wide"], chart_id), (drawings["narrow"], f"{chart_id}-narrow")):
            assert kind.get("role") == "img" and kind.get("aria-labelledby") == f"{own}-title {own}-desc"
            assert kind.find(f"{SVG}title").get("id") == f"{own}-title"
        ids = [element.get("id") for element in fromstring(str(markup)).iter() if element.get("id")]
        assert len(ids) == len(set(ids)), ids


def test_on_a_phone_each_label_is_above_its_bar_within_the_picture():
    closed = "Ngân hàng người nhận không tìm thấy tài khoản của người nhận theo số đã ghi"
    items = [(closed, 1234567.0), ("Khác", 0.0), ("Không rõ", None)]
    svg = _drawings(bar_chart("failures", LABELS, items, fmt=lambda v: f"{v:,.0f}", target=(2e6, "Mục tiêu")))["narrow"]
    width = float(svg.get("viewBox").split()[2])
    rows = list(svg.iter(f"{SVG}g"))
    for row in rows:
        lines = row.findall(f".//{SVG}tspan")
        bar = row.find(f"{SVG}rect")
        value = next(t for t in row.iter(f"{SVG}text") if t.get("class") == "chart-value")
        assert lines and all(len(line.text) <= 38 for line in lines)  # 8.2 units a character: 312 of 320
        assert all(float(line.get("y")) < float(bar.get("y")) for line in lines)  # above its bar
        # The value after its bar, its words inside the picture.
        assert float(value.get("x")) + 8.2 * len(value.text) <= width
    assert rows[0].findall(f".//{SVG}tspan")[0].text.startswith("Ngân hàng người nhận")
    assert [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-value"][-1] == "Mục tiêu"


def test_values_above_neighbouring_points_are_not_written_over_each_other():
    """Figures on the last two of 30 days only: the phone wrote "40.0%" over "40.0%"; the last is written."""
    points = [(f"{n + 1:02d}/11/2021", 40.0 if n >= 28 else None) for n in range(30)]
    for svg in _drawings(line_chart("two", LABELS, points, fmt=lambda v: f"{v:.1f}%", maximum=100)).values():
        values = [t for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-value"]
        assert len(list(svg.iter(f"{SVG}circle"))) == 2 and [t.text for t in values] == ["40.0%"]


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
@pytest.mark.parametrize(("kind", "char"), [("wide", 7), ("narrow", 8.2)])
def test_the_days_under_a_line_never_touch_and_none_is_cut_off(days, kind, char):
    """Two days' labels were drawn over each other and the last ran off the chart ("06/12/202"): whatever the count,
    the labels written stand a label's width apart, the first and the last are always there, and the last ends at
    the axis' end, inside the picture."""
    points = [(f"{n % 28 + 1:02d}/{n // 28 + 10:02d}/2021", float(n)) for n in range(days)]
    svg = _drawings(line_chart("many", LABELS, points, fmt=lambda v: f"{v:g}%", maximum=100))[kind]
    labels = [t for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-label" and "/" in (t.text or "")]
    assert labels[0].text == points[0][0] and labels[-1].text == points[-1][0]
    width = float(svg.get("viewBox").split()[2])

    def span(t) -> tuple[float, float]:
        x, wide = float(t.get("x")), len(t.text) * char
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
