"""The dashboard pages: the country, a province, a district and its units for each role that may see them, the
same figures as the reports' service, sorting and limits validated, scope as elsewhere (another area is a 404)."""

from __future__ import annotations

import html as html_
import re

import pytest

from disburse.dashboard.queries import SORT_COLUMNS, TableQuery, table_rows
from disburse.reports.service import Area, area_progress
from tests.dashboard.conftest import DONG_ANH, PASSWORD, SOC_SON, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_user, nq116


def _figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found, name
    return found.group(1)


#: The table's columns after the amount paid, in order.
_UNPAID_AND_REFUSED = (
    "unpaid",
    "payment_pending_bank",
    "payment_pending_cash",
    "approved",
    "payment_failed",
    "awaiting_details",
    "needs_review",
    "checking",
    "rejected",
    "declined",
    "removed",
)


def _crumbs(html: str) -> str:
    return html.split('class="breadcrumbs"', 1)[1].split("</nav>", 1)[0]


def _table(html: str) -> list[list[str]]:
    body = html.split('id="dashboard-table"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        rows.append([re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)])
    return rows


@pytest.mark.parametrize(
    ("locale", "title"), [("vi", "Tiến độ chi trả: Toàn quốc"), ("en", "Payment progress: The whole country")]
)
def test_the_country_for_a_national_supervisor(client, country, locale, title):
    sign_in(client, create_user("supervisor", password=PASSWORD), locale)
    response = client.get("/dashboard/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"<title>{title} · disburse</title>" in html
    service = area_progress(nq116().id, Area())
    assert _figure(html, "eligible") == "13" and service["eligible"] == 13
    assert _figure(html, "paid") == str(service["paid"]) == "6"
    assert _figure(html, "percent_paid") == ("46,1%" if locale == "vi" else "46.1%")  # 6 of 13, rounded down
    assert _figure(html, "paid_amount_vnd") == (
        f"{service['paid_amount_vnd']:,} ₫".replace(",", ".")
        if locale == "vi"
        else f"VND {service['paid_amount_vnd']:,}"
    )
    assert _figure(html, "needs_review") == "2"
    assert (_figure(html, "rejected"), _figure(html, "declined"), _figure(html, "awaiting_details")) == ("1", "1", "1")
    assert (_figure(html, "reduction_employers"), _figure(html, "reduction_employees")) == ("1", "12")
    rows = _table(html)
    assert [row[0] for row in rows] == ["01", "79"]
    assert rows[0][2:5] == ["45,4%" if locale == "vi" else "45.4%", "11", "5"]  # the completion after the name
    assert 'href="/dashboard/?province=01"' in html  # the drill-down
    assert '<svg class="chart chart-wide" role="img"' in html and "completion-by-area-title" in html


def test_a_province_its_districts_and_the_lowest_units(client, country):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    html = client.get("/dashboard/").get_data(as_text=True)  # their own province by default
    assert "Tiến độ chi trả: Thành phố Hà Nội" in html
    rows = _table(html)
    assert [row[0] for row in rows] == [SOC_SON, DONG_ANH]
    assert 'href="/dashboard/?district=017"' in html
    assert '<span aria-current="page">Thành phố Hà Nội</span>' in html and 'href="/dashboard/"' not in _crumbs(html)
    # The 20 units with the lowest completion, across the province's districts.
    html = client.get("/dashboard/?province=01&table=units&sort=percent_paid&order=asc&limit=20").get_data(as_text=True)
    assert [row[1] for row in _table(html)] == ["Công ty Chậm", "Công ty Bắc", "Công ty Gần"]
    assert 'aria-sort="ascending"' in html
    html = client.get("/dashboard/?province=01&table=units&sort=percent_paid&order=desc&limit=1").get_data(as_text=True)
    assert [row[1] for row in _table(html)] == ["Công ty Gần"]
    assert "Dòng 1–1 trên 3; tệp tải về có đủ các dòng." in html
    # ... as the download link does: the page's order, every row (it carried the limit and gave one row).
    link = html_.unescape(re.search(r'href="(/dashboard/export\?[^"]*format=csv[^"]*)"', html).group(1))
    assert "limit" not in link and "sort=percent_paid" in link
    exported = client.get(link).get_data(as_text=True)
    assert all(name in exported for name in ("Công ty Gần", "Công ty Chậm", "Công ty Bắc"))
    for other in ("?province=79", "?district=760", "?district=999", "?province=01&district=760"):
        assert client.get(f"/dashboard/{other}").status_code == 404


def test_a_provinces_units_go_page_by_page_and_back_to_its_districts(client, country, monkeypatch):
    """The units of a province were cut at 100 on the page ("100 of 185 rows"): the others only in the download or
    with a limit typed in the address. And from the units there was no way back to the districts but Back."""
    from disburse.dashboard import views

    monkeypatch.setattr(views, "UNITS_ON_PAGE", 2)
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    first = client.get("/dashboard/?province=01&table=units&sort=name").get_data(as_text=True)
    assert [row[1] for row in _table(first)] == ["Công ty Bắc", "Công ty Chậm"]
    assert "Trang 1 / 2" in first and 'rel="prev"' not in first
    assert 'href="/dashboard/?province=01">Xem theo quận/huyện</a>' in first
    assert "20 đơn vị có tỷ lệ chi trả thấp nhất" not in first  # this is the units' table already
    following = html_.unescape(re.search(r'href="([^"]+)" rel="next"', first).group(1))
    assert "sort=name" in following and "page=2" in following
    second = client.get(following).get_data(as_text=True)
    assert [row[1] for row in _table(second)] == ["Công ty Gần"]
    assert "Trang 2 / 2" in second and 'rel="next"' not in second and 'rel="prev"' in second
    beyond = client.get("/dashboard/?province=01&table=units&sort=name&page=9").get_data(as_text=True)
    assert [row[1] for row in _table(beyond)] == ["Công ty Gần"]  # a page past the last shows the last
    assert client.get("/dashboard/?province=01&table=units&page=0").status_code == 400


def test_a_district_lists_its_units_with_links_to_their_pages(client, country):
    sign_in(client, create_user("caseworker", district=DONG_ANH, password=PASSWORD))
    response = client.get("/dashboard/?sort=eligible&order=desc")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Tiến độ chi trả: Huyện Đông Anh" in html
    rows = _table(html)
    assert [row[1] for row in rows] == ["Công ty Gần", "Công ty Chậm"]
    # Completion, eligible, paid; then not yet paid, in payment at a bank and in cash, approved, failed, awaiting
    # details, needs review; rejected, declined.
    assert rows[0][2:5] == ["60,0%", "5", "3"] and rows[0][6:] == [
        "2",
        "0",
        "0",
        "1",
        "0",
        "0",
        "1",
        "0",
        "1",
        "0",
        "0",
    ]
    assert rows[1][2:5] == ["25,0%", "4", "1"] and rows[1][6:] == [
        "3",
        "0",
        "0",
        "0",
        "0",
        "1",
        "0",
        "2",
        "0",
        "1",
        "0",
    ]
    assert f'href="/employers/{country["near"].unit_code}"' in html
    service = area_progress(nq116().id, Area("01", DONG_ANH))
    assert _figure(html, "eligible") == str(service["eligible"])
    # A caseworker's breadcrumbs link nowhere above their district; other areas are not theirs.
    assert "href" not in _crumbs(html)
    for other in ("?province=01", "?district=016", "?district=760"):
        assert client.get(f"/dashboard/{other}").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "sort=salary",
        "order=sideways",
        "limit=0",
        "limit=100000",
        "limit=abc",
        "table=people",
        "province=1x",
        "district=17a",
        "province=%00",
        "sort=name%3B+DROP+TABLE+claims",
    ],
)
def test_bad_parameters_are_a_clear_400(client, country, query):
    sign_in(client, create_user("admin", password=PASSWORD))
    response = client.get(f"/dashboard/?{query}")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "tham số không hợp lệ" in text
    problems = text.split("tham số không hợp lệ:", 1)[1].split("<", 1)[0]
    said = problems.split(":", 1)[1].strip()
    assert problems.count(":") == 1 and said.count(said.split(".", 1)[0]) == 1, problems  # one field, said once


def test_employers_may_not_open_the_dashboard(client, country):
    sign_in(client, create_user("employer", employer_unit=country["near"].unit_code, password=PASSWORD))
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/dashboard/export?format=csv").status_code == 403


@pytest.mark.parametrize("role", ["supervisor", "admin", "caseworker"])
def test_the_home_page_and_the_header_link_to_the_dashboard(client, role):
    """Every staff page's header links the dashboard and the find page (the hotline's tool, wanted from anywhere)."""
    sign_in(client, create_user(role, password=PASSWORD))
    html = client.get("/").get_data(as_text=True)
    header, main = html.split('<main id="main"', 1)
    assert 'class="site-nav"' in header and 'href="/dashboard/"' in header
    assert 'href="/caseworker/people/find"' in header
    assert 'href="/dashboard/"' in main
    found = client.get("/caseworker/people/find").get_data(as_text=True).split('<main id="main"', 1)[0]
    assert 'href="/caseworker/people/find" aria-current="page"' in found


def test_employers_have_no_dashboard_link(client, db_session):
    sign_in(client, create_user("employer", password=PASSWORD))
    assert "/dashboard/" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("query", ["", "?province=01", "?district=017", "?province=01&table=units"])
def test_every_row_equals_the_rollups_service(client, country, query):
    """The table's figures are the service's, row by row, whatever the level (units of a province: our query over
    the counters, checked against the service's units of each district)."""
    from disburse.reports.dashboard import children

    sign_in(client, create_user("admin", password=PASSWORD))
    rows = _table(client.get(f"/dashboard/{query}").get_data(as_text=True))
    program = nq116().id
    if "table=units" in query:
        expected = [row for code in (SOC_SON, DONG_ANH) for row in children(program, Area("01", code))]
    else:
        area = Area("01", DONG_ANH) if "district" in query else Area("01") if "province" in query else Area()
        expected = children(program, area)
    by_code = {row["code"]: row for row in expected}
    assert sorted(row[0] for row in rows) == sorted(by_code)
    for row in rows:
        want = by_code[row[0]]
        assert row[3:5] == [str(want["eligible"]), str(want["paid"])]
        assert row[6:17] == [str(want[k]) for k in _UNPAID_AND_REFUSED]
        assert int(row[6]) == sum(int(cell) for cell in row[7:14])  # not yet paid is where its people are


@pytest.mark.parametrize(
    ("locale", "at_the_bank", "in_cash"),
    [
        ("vi", "Đang chi trả: chuyển khoản ngân hàng", "Đang chi trả: tiền mặt tại cơ quan BHXH"),
        ("en", "Payment in progress: bank transfer", "Payment in progress: cash at the office"),
    ],
)
def test_money_on_its_way_is_shown_where_it_waits(client, country, locale, at_the_bank, in_cash):
    """A unit whose one eligible person waits at the office's cash desk, and a bank payment on its way: both show as
    in payment (not yet paid), each where it waits (at the bank, in cash at the office, with its VND), in the
    district's figures, its table and its export, from the rollups."""
    import csv
    import io

    from disburse.claims.models import Claim
    from disburse.extensions import db
    from tests.factories import create_cash_payment, create_claim, create_employee, create_employer, create_payment

    unit = create_employer(district_code=DONG_ANH, name="Công ty Tiền Mặt")
    cash = create_cash_payment(employee=create_employee(employer_id=unit.id, district_code=DONG_ANH))
    near = create_employee(employer_id=country["near"].id, district_code=DONG_ANH)
    bank = create_payment(create_claim("payment_pending", employee=near, unused_months=60), state="sent")
    assert cash.amount_vnd != bank.amount_vnd  # each amount shown where it waits, not one for the other
    states = {db.session.get(Claim, payment.claim_id).state for payment in (cash, bank)}
    assert states == {"payment_pending"}
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD), locale)
    html = client.get(f"/dashboard/?district={DONG_ANH}").get_data(as_text=True)
    assert f"<dt>{at_the_bank}</dt>" in html and f"<dt>{in_cash}</dt>" in html

    def said(amount: int) -> str:
        return f"1 ({amount:,} ₫)".replace(",", ".") if locale == "vi" else f"1 (VND {amount:,})"

    assert _figure(html, "payment_pending_bank") == said(bank.amount_vnd)
    assert _figure(html, "payment_pending_cash") == said(cash.amount_vnd)
    # Not yet paid in Đông Anh: near's approved, review and payment; slow's two listed and one awaiting; the cash.
    assert ("Chưa chi trả: 7 người" if locale == "vi" else "Not yet paid: 7 people") in html
    rows = {row[1]: row for row in _table(html)}
    assert rows["Công ty Tiền Mặt"][2:5] == ["0,0%" if locale == "vi" else "0.0%", "1", "0"]
    # Not yet paid, at the bank, in cash, approved, failed, awaiting details, needs review, being confirmed or
    # checked, rejected, declined.
    assert rows["Công ty Tiền Mặt"][6:16] == ["1", "0", "1", "0", "0", "0", "0", "0", "0", "0"]
    assert rows["Công ty Gần"][6:16] == ["3", "1", "0", "1", "0", "0", "1", "0", "1", "0"]
    export = client.get(f"/dashboard/export?district={DONG_ANH}&format=csv").get_data(as_text=True)
    lines = {r[1]: r for r in csv.reader(io.StringIO(export.lstrip("\ufeff")))}
    # The page's order after the unit's district: %, eligible, paid, amount; not yet paid, at the bank, in cash,
    # approved, failed, awaiting details, needs review, being confirmed or checked; rejected, declined.
    assert lines["Công ty Tiền Mặt"][3:6] == ["0.0", "1", "0"]
    assert lines["Công ty Tiền Mặt"][7:17] == ["1", "0", "1", "0", "0", "0", "0", "0", "0", "0"]
    assert lines["Công ty Gần"][7:17] == ["3", "1", "0", "1", "0", "0", "1", "0", "1", "0"]


@pytest.mark.parametrize(
    "level", [{}, {"province": "01"}, {"district": DONG_ANH}, {"province": "01", "table": "units"}]
)
def test_every_sort_orders_the_rows_by_its_figure_both_ways(country, level):
    """The class of "units with none paid came last in fewest-paid-first": at every level, for every figure, rows go
    from the least to the most (or back), zero a number like any other; only a row without the value (nobody
    eligible: no percentage) comes last both ways. A unit with nothing paid, nothing in review, nothing failed is
    among them."""
    none_paid = create_employer(district_code=DONG_ANH, name="Công ty Chưa Trả")
    create_claim("listed", employee=create_employee(employer_id=none_paid.id, district_code=DONG_ANH))
    area = Area(level.get("province", "01" if "district" in level else None), level.get("district"))
    for sort in SORT_COLUMNS:
        if sort in ("code", "name", "target_gap", "paid_since"):  # paid_since: tests/dashboard/test_since_last_day.py
            continue
        for descending in (False, True):
            rows, _ = table_rows(nq116().id, TableQuery(area, level.get("table", "areas"), sort, descending))
            known = [row[sort] for row in rows if row[sort] is not None]
            assert known == sorted(known, reverse=descending), (sort, descending)
            assert all(row[sort] is None for row in rows[len(known) :]), (sort, descending)
            assert len(known) == len(rows) or sort == "percent_paid", sort  # a figure is 0, never missing


@pytest.mark.parametrize(
    ("locale", "first", "second"),
    [
        ("vi", "Dòng 1–2 trên 5; tệp tải về có đủ các dòng.", "Dòng 3–4 trên 5; tệp tải về có đủ các dòng."),
        ("en", "Rows 1–2 of 5; the downloaded file has them all.", "Rows 3–4 of 5; the downloaded file has them all."),
    ],
)
def test_a_later_page_of_a_table_says_which_rows_it_shows(client, country, locale, first, second):
    """Page 2 of a unit table said "85 trên 185 dòng" (how many on the page, not which): rows 101–185 of 185."""
    for n in range(3):
        unit = create_employer(district_code=DONG_ANH, name=f"Công ty Trang {n}")
        create_claim("paid", employee=create_employee(employer_id=unit.id, district_code=DONG_ANH))
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD), locale)
    pages = [
        client.get(f"/dashboard/?district={DONG_ANH}&limit=2&page={page}").get_data(as_text=True) for page in (1, 2, 3)
    ]
    assert first in pages[0] and second in pages[1]
    assert ("Dòng 5–5 trên 5;" if locale == "vi" else "Rows 5–5 of 5;") in pages[2]
    assert len(_table(pages[1])) == 2 and len(_table(pages[2])) == 1
