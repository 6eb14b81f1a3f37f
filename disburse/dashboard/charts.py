"""Charts as inline SVG, drawn in Python (no chart library, no script): bars and a line.

Each chart is a ``<figure>``: an ``<svg role="img">`` named by its ``<title>`` and ``<desc>``, every value also
written as text beside its bar or point (so that a printed page or a colour-blind reader loses nothing), and the
same figures in a table inside ``<details>`` for screen readers and for copying. The words come from the caller,
already in the page's language; the numbers are formatted by the caller's ``fmt``. No ``style`` attribute (the
Content-Security-Policy allows none): the look is in ``disburse.css`` (``.chart …``).

Each chart is drawn twice, for two widths of screen, and the stylesheet shows one: ``chart-wide`` (720 units, the
labels beside the bars) on a computer or a tablet, ``chart-narrow`` (320 units, each bar's label above it, fewer days
under a line) on a phone, as wide as the screen, so that its words stay 13 px or more at 360 px (the wide one,
shrunk to a phone's width, wrote them at 5 px). The one not shown is ``display: none``, out of the accessibility
tree too; the narrow one's ids end in ``-narrow``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 720
LABEL_WIDTH = 210
ROW = 26
#: A row whose label takes two lines (a failure reason: "Ngân hàng người nhận không tìm thấy tài khoản").
ROW_TALL = 42
#: Characters of a label line that fit in LABEL_WIDTH.
LABEL_CHARS = 30
TOP = 12
BOTTOM = 12
#: The phone's drawing: its width in the chart's units (shown about as wide as a 360 px screen's text column), the
#: width of a character of its 13 px text, and the characters of a bar's label line (the label spans the chart).
NARROW_WIDTH = 320
NARROW_CHAR_WIDTH = 8.2
NARROW_LABEL_CHARS = 38


@dataclass(frozen=True)
class Labels:
    """The chart's words, in the page's language: its title, a sentence saying what it shows, the data table's
    summary and its two column headings."""

    title: str
    description: str
    table_summary: str
    category: str
    value: str


def _fmt_default(value: float) -> str:
    return f"{value:g}"


def _header(chart_id: str, labels: Labels, height: int, *, narrow: bool = False) -> str:
    width, kind = (NARROW_WIDTH, "narrow") if narrow else (WIDTH, "wide")
    svg_id = f"{chart_id}-narrow" if narrow else chart_id
    return (
        f'<svg class="chart chart-{kind}" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" preserveAspectRatio="xMinYMin meet" aria-labelledby="{svg_id}-title {svg_id}-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{svg_id}-title">{escape(labels.title)}</title>'
        f'<desc id="{svg_id}-desc">{escape(labels.description)}</desc>'
    )


def _table(labels: Labels, items: Sequence[tuple[str, float | None]], fmt: Callable[[float], str]) -> str:
    rows = "".join(
        f'<tr><th scope="row">{escape(label)}</th><td class="num">{escape(fmt(value) if value is not None else "—")}'
        "</td></tr>"
        for label, value in items
    )
    return (
        # The summary names its chart for those who list a page's controls (every chart's says the same words).
        f'<details class="chart-data"><summary>{escape(labels.table_summary)}'
        f'<span class="visually-hidden">: {escape(labels.title)}</span></summary><table>'
        f'<caption class="visually-hidden">{escape(labels.title)}</caption>'
        f'<thead><tr><th scope="col">{escape(labels.category)}</th><th scope="col" class="num">'
        f"{escape(labels.value)}</th></tr></thead><tbody>{rows}</tbody></table></details>"
    )


def _figure(chart_id: str, labels: Labels, svg: str, table: str, empty: str | None, note: str | None = None) -> Markup:
    caption = f'<figcaption id="{chart_id}-caption">{escape(labels.title)}</figcaption>'
    body = f'<p class="muted">{escape(empty)}</p>' if empty is not None else svg + table
    if note is not None:
        body += f'<p class="muted" id="{chart_id}-note">{escape(note)}</p>'
    # Every text in the figure went through escape() above; the rest is our own markup.
    return Markup(f'<figure class="chart-figure" id="{chart_id}">{caption}{body}</figure>')  # noqa: S704


def bar_chart(
    chart_id: str,
    labels: Labels,
    items: Sequence[tuple[str, float | None]],
    *,
    fmt: Callable[[float], str] = _fmt_default,
    maximum: float | None = None,
    target: tuple[float, str] | None = None,
    empty: str = "—",
    note: str | None = None,
) -> Markup:
    """Horizontal bars, one per ``(label, value)`` (None: no bar, "—"), longest at ``maximum`` (the largest value
    when not given); ``target``: a dashed line at that value, with its words; ``note``: a line under the chart (e.g.
    when its figures were counted)."""
    if not items:
        return _figure(chart_id, labels, "", "", empty, note)
    values = [value for _, value in items if value is not None]
    top = max([maximum or 0, *values, target[0] if target else 0]) or 1
    svg = _bars_wide(chart_id, labels, items, fmt, top, target) + _bars_narrow(
        chart_id, labels, items, fmt, top, target
    )
    return _figure(chart_id, labels, svg, _table(labels, items, fmt), None, note)


def _bars_wide(
    chart_id: str,
    labels: Labels,
    items: Sequence[tuple[str, float | None]],
    fmt: Callable[[float], str],
    top: float,
    target: tuple[float, str] | None,
) -> str:
    """The computer's bars: each label beside its bar, on one or two lines."""
    span = WIDTH - LABEL_WIDTH - 90
    lines = [_lines(label) for label, _ in items]
    row = ROW_TALL if any(len(each) > 1 for each in lines) else ROW
    height = TOP + row * len(items) + BOTTOM + (ROW if target else 0)
    parts = [_header(chart_id, labels, height)]
    for i, ((label, value), label_lines) in enumerate(zip(items, lines, strict=True)):
        y = TOP + i * row
        middle = y + row // 2 + 4
        length = 0.0 if value is None else max(0.0, span * value / top)
        text = fmt(value) if value is not None else "—"
        first = middle - 8 * (len(label_lines) - 1)
        spans = "".join(
            f'<tspan x="{LABEL_WIDTH - 8}" y="{first + 16 * n}">{escape(line)}</tspan>'
            for n, line in enumerate(label_lines)
        )
        parts.append(
            f'<g class="chart-row"><title>{escape(label)}</title>'
            f'<text class="chart-label" text-anchor="end">{spans}</text>'
            f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{y + 4}" width="{length:.1f}" height="{row - 8}"></rect>'
            f'<text class="chart-value" x="{LABEL_WIDTH + length + 6:.1f}" y="{middle}">{escape(text)}</text></g>'
        )
    parts.append(
        f'<line class="chart-axis" x1="{LABEL_WIDTH}" y1="{TOP}" x2="{LABEL_WIDTH}" y2="{TOP + row * len(items)}">'
        "</line>"
    )
    if target:
        x = LABEL_WIDTH + span * target[0] / top
        bottom = TOP + row * len(items)
        parts.append(
            f'<line class="chart-target" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom}"></line>'
            f'<text class="chart-value" x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">{escape(target[1])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _bars_narrow(
    chart_id: str,
    labels: Labels,
    items: Sequence[tuple[str, float | None]],
    fmt: Callable[[float], str],
    top: float,
    target: tuple[float, str] | None,
) -> str:
    """The phone's bars: each label above its bar across the chart's width (one or two lines), the bar under it
    from the left edge, its value after it; the longest value still fits on the right."""
    texts = [fmt(value) if value is not None else "—" for _, value in items]
    room = 8 + NARROW_CHAR_WIDTH * max(len(text) for text in texts)
    span = max(NARROW_WIDTH - room, NARROW_WIDTH / 2)
    left, bar, line = 1, 14, 16
    parts: list[str] = []
    y = TOP
    for (label, value), text in zip(items, texts, strict=True):
        label_lines = _lines(label, NARROW_LABEL_CHARS)
        length = 0.0 if value is None else max(0.0, span * value / top)
        spans = "".join(
            f'<tspan x="{left + 5}" y="{y + 12 + line * n}">{escape(each)}</tspan>'
            for n, each in enumerate(label_lines)
        )
        bar_y = y + line * len(label_lines) + 2
        parts.append(
            f'<g class="chart-row"><title>{escape(label)}</title><text class="chart-label">{spans}</text>'
            f'<rect class="chart-bar" x="{left}" y="{bar_y}" width="{length:.1f}" height="{bar}"></rect>'
            f'<text class="chart-value" x="{left + length + 6:.1f}" y="{bar_y + 11}">{escape(text)}</text></g>'
        )
        y = bar_y + bar + 8
    bottom = y - 4
    if target:
        x = left + span * target[0] / top
        wide = NARROW_CHAR_WIDTH * len(target[1])
        # Centred under its line unless that would cut it off at an edge.
        anchor = "start" if x < wide / 2 else "end" if x + wide / 2 > NARROW_WIDTH else "middle"
        parts.append(
            f'<line class="chart-target" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom}"></line>'
            f'<text class="chart-value" x="{x:.1f}" y="{bottom + 18}" text-anchor="{anchor}">{escape(target[1])}</text>'
        )
    height = bottom + BOTTOM + (ROW if target else 0)
    return (
        _header(chart_id, labels, height, narrow=True)
        + f'<line class="chart-axis" x1="{left}" y1="{TOP}" x2="{left}" y2="{bottom}"></line>'
        + "".join(parts)
        + "</svg>"
    )


def line_chart(
    chart_id: str,
    labels: Labels,
    points: Sequence[tuple[str, float | None]],
    *,
    fmt: Callable[[float], str] = _fmt_default,
    maximum: float | None = None,
    empty: str = "—",
    table: Sequence[tuple[str, float | None]] | None = None,
) -> Markup:
    """A line through ``(label, value)`` points in order (a day and its percentage), each point marked and its
    value written above it (the first, the last and every few in between when there are many). Every point has its
    place on the axis, evenly spaced; a None point is a gap: the line stops before it and starts again after it (a
    week without figures is not drawn as one straight stretch between its neighbours). ``table``: the rows of the
    data table when they are not the points (the days that have figures)."""
    known = [(i, value) for i, (_, value) in enumerate(points) if value is not None]
    if not known:
        return _figure(chart_id, labels, "", "", empty)
    top = max([maximum or 0, *(value for _, value in known)]) or 1
    svg = _line(chart_id, labels, points, known, fmt, top) + _line(
        chart_id, labels, points, known, fmt, top, narrow=True
    )
    return _figure(chart_id, labels, svg, _table(labels, points if table is None else table, fmt), None)


def _line(
    chart_id: str,
    labels: Labels,
    points: Sequence[tuple[str, float | None]],
    known: list[tuple[int, float]],
    fmt: Callable[[float], str],
    top: float,
    *,
    narrow: bool = False,
) -> str:
    """One drawing of :func:`line_chart`: the computer's, or the phone's (narrower, its axis as far left as its
    values' words allow, fewer days written under it)."""
    if narrow:
        char = NARROW_CHAR_WIDTH
        left = round(8 + char * max(len(fmt(0)), len(fmt(top))))
        height, right, plot_top, plot_bottom = 240, NARROW_WIDTH - 4, 24, 200
    else:
        char = LABEL_CHAR_WIDTH
        height, left, right, plot_top, plot_bottom = 260, 56, WIDTH - 24, 24, 220
    step = (right - left) / max(len(points) - 1, 1)

    def xy(i: int, value: float) -> tuple[float, float]:
        return left + i * step, plot_bottom - (plot_bottom - plot_top) * value / top

    parts = [_header(chart_id, labels, height, narrow=narrow)]
    parts.append(
        f'<line class="chart-axis" x1="{left}" y1="{plot_bottom}" x2="{right}" y2="{plot_bottom}"></line>'
        f'<line class="chart-axis" x1="{left}" y1="{plot_top}" x2="{left}" y2="{plot_bottom}"></line>'
        f'<text class="chart-label" x="{left - 6}" y="{plot_bottom + 4}" text-anchor="end">{escape(fmt(0))}</text>'
        f'<text class="chart-label" x="{left - 6}" y="{plot_top + 4}" text-anchor="end">{escape(fmt(top))}</text>'
    )
    runs: list[list[tuple[int, float]]] = []
    for i, value in known:
        if runs and runs[-1][-1][0] == i - 1:
            runs[-1].append((i, value))
        else:
            runs.append([(i, value)])
    for run in runs:  # one line per stretch of points without a gap; a point alone is its mark only
        if len(run) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, value) for i, value in run))
            parts.append(f'<polyline class="chart-line" points="{path}"></polyline>')
    shown = _labelled(len(points), step, max(len(label) for label, _ in points), char)
    width = NARROW_WIDTH if narrow else WIDTH
    written: list[tuple[float, float, str, str]] = []  # x, y, anchor, words: from the last point back
    for n, (i, value) in reversed(list(enumerate(known))):
        x, y = xy(i, value)
        if n == 0 or n == len(known) - 1 or i in shown:
            said = fmt(value)
            wide = char * len(said)
            # Centred over its point unless that would cut it off at the picture's right edge.
            anchor = "end" if x + wide / 2 > width else "middle"
            right_edge = x if anchor == "end" else x + wide / 2
            # A value that would touch the one after it is left out (the last one is always written; the table
            # has them all): two days side by side with figures wrote "40.0%" over "40.0%".
            if written and right_edge + LABEL_GAP / 2 > _left_edge(written[-1], char):
                continue
            written.append((x, y, anchor, said))
    for i, value in known:
        x, y = xy(i, value)
        parts.append(f'<circle class="chart-point" cx="{x:.1f}" cy="{y:.1f}" r="3.5"></circle>')
    for x, y, anchor, said in reversed(written):
        parts.append(
            f'<text class="chart-value" x="{x:.1f}" y="{y - 8:.1f}" text-anchor="{anchor}">{escape(said)}</text>'
        )
    for i, (label, _) in enumerate(points):
        if i in shown:
            # The last day's label ends at the axis' end, the others are centred on their day: none is cut off.
            anchor = "end" if i == len(points) - 1 and i > 0 else "middle"
            parts.append(
                f'<text class="chart-label" x="{left + i * step:.1f}" y="{plot_bottom + 20}" text-anchor="{anchor}">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


#: The width a label's character takes on the axis, in the chart's units (its font at 12px), and the gap kept between.
LABEL_CHAR_WIDTH, LABEL_GAP = 7, 12


def _left_edge(written: tuple[float, float, str, str], char: float) -> float:
    """Where a value written above a point begins (its ``x``, anchor and words)."""
    x, _y, anchor, said = written
    return x - char * len(said) * (1 if anchor == "end" else 0.5)


def _labelled(count: int, step: float, longest: int, char: float = LABEL_CHAR_WIDTH) -> set[int]:
    """The points whose day is written under the axis: every few, spaced so that no two labels of ``longest``
    characters of ``char`` units each touch, the first and the last always. The last ends at the axis' end (a
    label's width left of its day), so the one before it is left out when it would touch it."""
    wide = longest * char + LABEL_GAP
    every = max(1, int(-(-wide // int(step)))) if count > 1 and step >= 1 else 1
    last = count - 1
    shown = set(range(0, count, every)) | {last}
    before = max(shown - {last}, default=None)
    if before is not None and before > 0 and (last - before) * step < 1.5 * wide:
        shown.discard(before)
    return shown


def _clip(label: str, most: int = LABEL_CHARS) -> str:
    """A label that fits beside its bar (the table below the chart has it whole)."""
    return label if len(label) <= most else label[: most - 1] + "…"


def _lines(label: str, most: int = LABEL_CHARS) -> list[str]:
    """A bar's label on one line, or on two broken between words, the second clipped (its row's ``<title>`` and
    the table below the chart have it whole): two reasons that begin alike still read apart."""
    if len(label) <= most:
        return [label]
    cut = label.rfind(" ", 0, most + 1)
    if cut <= 0:
        return [label[:most], _clip(label[most:], most)]
    return [label[:cut], _clip(label[cut + 1 :], most)]
