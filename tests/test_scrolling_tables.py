"""One macro (templates/components/tables.html) writes "a table in its scrolling box, or the words saying nothing was
found" for the pages that repeated it: the box a focusable region named by its heading or caption (or words), with
.table-spaced unless told; no rows, no box but a paragraph for each of the words, the first with its id."""

from __future__ import annotations

import re

from flask import Flask

from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employer, create_user

MACRO = '{% from "components/tables.html" import scrolling_table %}'


def _render(app: Flask, call: str) -> str:
    with app.test_request_context():
        rendered = app.jinja_env.from_string(MACRO + call).render()
    return re.sub(r"\s+", " ", rendered).strip()


def test_rows_are_a_table_in_a_focusable_labelled_scrolling_box(app):
    rendered = _render(
        app, '{% call scrolling_table([1], labelledby="t", nothing="Không có.") %}<table id="x"></table>{% endcall %}'
    )
    assert rendered == (
        '<div class="table-scroll table-spaced" tabindex="0" role="region" aria-labelledby="t">'
        ' <table id="x"></table> </div>'
    )


def test_a_box_named_by_words_without_spacing_and_with_an_id(app):
    rendered = _render(
        app, '{% call scrolling_table(label="Bảng <1>", spaced=false, id="b") %}<table></table>{% endcall %}'
    )
    assert rendered == (
        '<div class="table-scroll" tabindex="0" role="region" aria-label="Bảng &lt;1&gt;" id="b">'
        " <table></table> </div>"
    )


def test_no_rows_are_the_words_saying_so_and_no_box(app):
    one = _render(app, '{% call scrolling_table([], labelledby="t", nothing="Không <có>.") %}<table>{% endcall %}')
    assert one == "<p>Không &lt;có&gt;.</p>"
    with_id = _render(app, '{% call scrolling_table(none, nothing="Không có.", nothing_id="none") %}x{% endcall %}')
    assert with_id == '<p id="none">Không có.</p>'
    two = _render(app, '{% call scrolling_table([], nothing=["Một.", "Hai."], nothing_id="n") %}x{% endcall %}')
    assert two == '<p id="n">Một.</p> <p>Hai.</p>'
    assert _render(app, "{% call scrolling_table([]) %}x{% endcall %}") == ""


def _page(client, url: str, **query: str) -> str:
    return re.sub(r"\s+", " ", client.get(url, query_string=query).get_data(as_text=True))


def test_the_queue_with_nothing_found_says_so_without_a_box_or_pages(client, db_session):
    create_claim("needs_review")  # the programme
    unit = create_employer(district_code="017")  # a unit with no claim
    sign_in(client, create_user("caseworker", district="017", password=PASSWORD))
    page = _page(client, "/caseworker/queue", employer=unit.unit_code, state="")
    assert '<h2 id="rows-title">Hồ sơ</h2> <p>Không có hồ sơ nào khớp bộ lọc.</p>' in page
    assert "table-scroll" not in page and 'class="pagination"' not in page


def test_units_not_found_say_so_and_what_to_try_under_their_heading(client, db_session):
    sign_in(client, create_user("caseworker", district="017", password=PASSWORD))
    page = _page(client, "/units", unit="không có đâu")
    assert re.search(
        r'<h2 id="units-found-title">Không tìm thấy đơn vị nào</h2> <p id="no-units">[^<]*“không có đâu”.</p>'
        r" <p>Hãy thử: [^<]+</p> </section>",
        page,
    ), page
    assert "table-scroll" not in page


def test_no_targets_say_so_without_a_box(client, db_session):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    page = _page(client, "/dashboard/targets")
    assert '<h2 id="in-force-title">Mục tiêu đang áp dụng</h2> <p>Chưa có mục tiêu nào.</p>' in page
    assert "table-scroll" not in page


def test_an_empty_outreach_list_says_so_where_the_results_are(client, db_session):
    create_claim("needs_review")  # the programme
    sign_in(client, create_user("caseworker", district="017", password=PASSWORD))
    page = _page(client, "/caseworker/outreach", kind="awaiting_details")
    assert '</form> <p id="outreach-results">Không có ai trong danh sách này.</p>' in page
    assert "table-scroll" not in page and 'class="pagination"' not in page


def test_an_empty_cash_desk_says_so_without_a_box_or_pages(client, db_session):
    create_claim("needs_review")  # the programme
    sign_in(client, create_user("caseworker", district="017", password=PASSWORD))
    page = _page(client, "/caseworker/cash-desk")
    assert "<p>Không có khoản chi tiền mặt nào đang chờ.</p>" in page
    assert "table-scroll" not in page and 'class="pager"' not in page


def test_a_claim_not_paid_yet_says_so_under_its_payments(client, db_session):
    claim = create_claim("needs_review")
    sign_in(client, create_user("caseworker", district="017", password=PASSWORD))
    page = _page(client, f"/caseworker/claims/{claim.id}")
    assert '<h2 id="payments-title">Chi trả</h2> <p>Chưa có lần chi trả nào.</p>' in page
    assert 'aria-labelledby="payments-title"' not in page
