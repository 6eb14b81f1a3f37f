"""Each figure of a dashboard's summary is shown once. A review heard "awaiting details" and "needs review" twice (in
the summary's list, then again among the not yet paid); for the country, a province and a district, in Vietnamese and
English: every figure the summary marks (``data-figure``) is there once, no two of its labels say the same, every
value in its lists is a marked figure, the not yet paid are listed where they are and add up to their heading; and no
column of the table below is named twice."""

from __future__ import annotations

import re

import pytest

from tests.dashboard.conftest import DONG_ANH, PASSWORD, sign_in
from tests.factories import create_cash_payment, create_employee, create_user

#: The summary's figures, each once: the completion line, then the money paid and the refused, then where the
#: eligible not yet paid are, then the employers' contribution reduction.
FIGURES = (
    "paid",
    "eligible",
    "percent_paid",
    "paid_amount_vnd",
    "rejected",
    "declined",
    "removed",
    "payment_pending_bank",
    "payment_pending_cash",
    "approved",
    "payment_failed",
    "awaiting_details",
    "needs_review",
    "checking",
    "reduction_employers",
    "reduction_employees",
    "reduction_amount_vnd",
)
#: The list under "Not yet paid: N people": every eligible person not paid is in one of these.
UNPAID = (
    "payment_pending_bank",
    "payment_pending_cash",
    "approved",
    "payment_failed",
    "awaiting_details",
    "needs_review",
    "checking",
)


def _words(markup: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", markup)).strip()


def summary_of(html: str) -> str:
    return html.split('<section aria-labelledby="summary-title">', 1)[1].split("</section>", 1)[0]


def repeated(summary: str) -> list[str]:
    """What the summary shows more than once, or shows without marking it: a figure's name, a label (case and spaces
    aside), a value in a list that is no marked figure."""
    names = re.findall(r'data-figure="([^"]+)"', summary)
    labels = [_words(label).casefold() for label in re.findall(r"<dt\b[^>]*>(.*?)</dt>", summary, re.S)]
    unmarked = [tag for tag in re.findall(r"<dd\b[^>]*>", summary) if "data-figure=" not in tag]
    return (
        sorted({f"figure {name}" for name in names if names.count(name) > 1})
        + sorted({f"label {label}" for label in labels if labels.count(label) > 1})
        + [f"unmarked {tag}" for tag in unmarked]
    )


def test_the_check_finds_a_figure_shown_twice():
    """The summary as the review found it: needs review in the summary's list and again among the not yet paid."""
    twice = (
        '<dl id="summary"><dt>Cần xác minh</dt><dd data-figure="needs_review">2</dd></dl>'
        '<dl id="unpaid"><dt>Cần xác minh</dt><dd data-figure="unpaid_needs_review">2</dd></dl>'
    )
    assert repeated(twice) == ["label cần xác minh"]
    assert repeated('<dd data-figure="paid">1</dd><p><span data-figure="paid">1</span></p>') == ["figure paid"]
    assert repeated("<dt>Đã chi trả</dt><dd>1</dd>") == ["unmarked <dd>"]
    assert repeated('<dt>Đã chi trả</dt><dd data-figure="paid">1</dd>') == []


def _number(text: str, locale: str) -> int:
    """The count a figure starts with ("1.234 (…)" in Vietnamese, "1,234 (…)" in English)."""
    first = text.split("(", 1)[0].strip().replace("." if locale == "vi" else ",", "")
    assert first.isascii() and first.isdigit(), text
    return int(first)


@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize(
    "query", ["", "?province=01", f"?district={DONG_ANH}"], ids=["country", "province", "district"]
)
def test_every_figure_of_the_summary_is_shown_once(client, country, locale, query):
    # Someone on the cash list of Đông Anh's office, so that every part of the not yet paid has its line.
    create_cash_payment(employee=create_employee(employer_id=country["near"].id, district_code=DONG_ANH))
    sign_in(client, create_user("supervisor", password=PASSWORD), locale)
    response = client.get(f"/dashboard/{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    summary = summary_of(html)
    assert repeated(summary) == []
    assert re.findall(r'data-figure="([^"]+)"', summary) == list(FIGURES)
    # Where the not yet paid are: in their own list, adding up to its heading (6 in Đông Anh, 7 in Hà Nội, 8 in all:
    # the fixture's 5, 6 and 7, and the person on the cash list).
    unpaid = summary.split('id="unpaid-title"', 1)[1].split("</dl>", 1)[0]
    counted = dict(re.findall(r'data-figure="([^"]+)">([^<]*)<', unpaid))
    assert list(counted) == list(UNPAID)
    heading = re.search(r"(?:Chưa chi trả|Not yet paid): ([0-9.,]+)", unpaid)
    assert heading is not None
    total = _number(heading.group(1), locale)
    assert total == {"": 8, "?province=01": 7}.get(query, 6)
    assert sum(_number(value, locale) for value in counted.values()) == total
    assert _number(counted["payment_pending_cash"], locale) == 1
    # The table's columns, each named once.
    head = html.split('id="dashboard-table"', 1)[1].split("</thead>", 1)[0]
    columns = [
        _words(re.sub(r"<span aria-hidden.*?</span>", "", th)) for th in re.findall(r"<th\b.*?</th>", head, re.S)
    ]
    assert len(columns) >= 15 and len(set(columns)) == len(columns), columns
