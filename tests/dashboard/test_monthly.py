"""The monthly report to the ministry: by province, completion at the month's end (its last daily snapshot), the
people paid during the month, the month's contribution reductions, and where the eligible not yet paid were at its
end (a past month's as its snapshot kept them, the running month's as the dashboard counts them, the parts adding up
to the not yet paid; unknown in a snapshot taken before migration 0036: "—" with a note, never 0); printable HTML,
and CSV and XLSX with the same columns; a province's report (its supervisor's, or opened from the national one) is by
district."""

from __future__ import annotations

import csv
import importlib.util
import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import text

from disburse.claims import service
from disburse.claims.states import ClaimAction
from disburse.dashboard.exports import MONTHLY_HEADER
from disburse.dashboard.queries import MONTHLY_UNPAID, MONTHLY_UNPAID_PARTS, monthly_report, monthly_totals
from disburse.reports.dashboard import children, figures
from disburse.reports.rollups import take_snapshots
from disburse.reports.service import Area
from tests.dashboard.conftest import DONG_ANH, PASSWORD, QUAN_1, SOC_SON, downloaded_name, sign_in
from tests.factories import (
    create_cash_payment,
    create_claim,
    create_employee,
    create_employer,
    create_payment,
    create_user,
    nq116,
)

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0036_snapshot_unpaid.py"


@pytest.fixture
def months(app, country, monkeypatch):
    """October ends with 6 of 13 paid; one more person of Đông Anh is paid in November."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-12-06")
    program = nq116()
    take_snapshots(program.id, date(2021, 10, 31))
    unit = create_employer(district_code=DONG_ANH)
    create_claim("paid", employee=create_employee(employer_id=unit.id, district_code=DONG_ANH))
    take_snapshots(program.id, date(2021, 11, 30))
    return program


def _rows(html: str) -> dict[str, list[str]]:
    body = html.split('id="monthly"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


def test_november_by_province_in_html(client, months):
    sign_in(client, create_user("admin", password=PASSWORD))
    response = client.get("/dashboard/monthly?month=11/2021")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<title>Báo cáo tháng 11/2021 · disburse</title>" in html
    rows = _rows(html)
    assert rows["Thành phố Hà Nội"][:5] == ["12", "6", "1", "50,0%", rows["Thành phố Hà Nội"][4]]
    assert rows["Thành phố Hồ Chí Minh"][:4] == ["2", "1", "0", "50,0%"]
    assert rows["Thành phố Hà Nội"][5:] == ["0", "0", "0 ₫"]  # no reduction booked for November
    october = _rows(client.get("/dashboard/monthly?month=10/2021").get_data(as_text=True))
    assert october["Thành phố Hà Nội"][:3] == ["11", "5", "5"]  # NQ116's first month: nobody was paid before it
    assert october["Thành phố Hà Nội"][5:] == ["1", "12", "1.000.000 ₫"]
    # A month written as people often do, one digit: the same month (September: before NQ116's first, October).
    one_digit, two_digits = (client.get(f"/dashboard/monthly?month={month}") for month in ("9/2021", "09/2021"))
    assert one_digit.status_code == two_digits.status_code == 422
    assert _month_error(one_digit) == _month_error(two_digits) and "09/2021" in _month_error(one_digit)
    assert "Dạng mm/yyyy, ví dụ 12/2021." in html  # the hint's example is a month it takes: this one


def test_the_report_as_xlsx_with_its_total(client, months):
    sign_in(client, create_user("supervisor", password=PASSWORD))
    response = client.get("/dashboard/monthly?month=10/2021&format=xlsx")
    assert response.status_code == 200 and downloaded_name(response) == "bao-cao-thang-2021-10.xlsx"
    rows = _xlsx(response.data)
    assert rows[0][0] == "Mã tỉnh / Province code"
    assert rows[1][:4] == ["01", "Thành phố Hà Nội", 11, 5] and rows[1][7:10] == [1, 12, 1_000_000]
    # Where Hà Nội's 6 not yet paid were (after the reduction's columns, in the page's order): none in payment at a
    # bank or in cash (nor their VND), 1 approved, none failed, 1 awaiting details, 2 in review, 2 being confirmed.
    assert rows[0][10:] == MONTHLY_HEADER[10:] and rows[0][10] == "Chưa chi trả / Not yet paid"
    assert rows[1][10:] == [6, 0, 0, 0, 0, 1, 0, 1, 2, 2]
    assert rows[-3][1] == "Tổng cộng / Total" and rows[-3][2:4] == [13, 6] and rows[-3][9] == 1_000_000
    assert rows[-3][4:6] == [6, 46.1]  # paid in the month (every province knows it) and the total's percentage
    # Under it, the day of the snapshot of the month's end, and why the people paid in the month are all the paid.
    assert rows[-2][1] == "Cuối tháng: bản chụp số liệu ngày 31/10/2021. / Month's end: the snapshot of 31/10/2021."
    assert rows[-1][1].startswith("Chi trả trong tháng: trước tháng này chưa ai được chi trả")


#: The XLSX's title lines (the report, the programme, the area, the day it was made) and the blank row under them.
TITLE_ROWS = 5


def _sheet(data: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _xlsx(data: bytes) -> list[list[Any]]:
    """The XLSX's table: its header, rows and the notes under it, without the title above it."""
    return _sheet(data)[TITLE_ROWS:]


def _month_error(response: Any) -> str:
    return re.sub(r"<[^>]+>", "", response.get_data(as_text=True).split('id="month-error"', 1)[1].split("</p>", 1)[0])


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith("\ufeff".encode())  # UTF-8 with BOM: Excel reads the Vietnamese
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))


def _same(field: str, cell: Any) -> bool:
    """A CSV field holds the XLSX cell: a blank is an empty field, a number the same number (the XLSX keeps 50.0 as
    50)."""
    if isinstance(cell, int | float):
        return field != "" and float(field) == cell
    return field == ("" if cell is None else cell)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_report_as_csv_is_the_xlsx_in_both_languages(client, months, locale):
    sign_in(client, create_user("supervisor", password=PASSWORD), locale)
    response = client.get("/dashboard/monthly?month=10/2021&format=csv")
    assert downloaded_name(response) == "bao-cao-thang-2021-10.csv"
    rows = _csv(response)
    assert rows[0] == MONTHLY_HEADER  # the one column definition, headers in both languages whatever the locale
    assert rows[1][:4] == ["01", "Thành phố Hà Nội", "11", "5"] and rows[1][7:10] == ["1", "12", "1000000"]
    assert rows[1][10:] == ["6", "0", "0", "0", "0", "1", "0", "1", "2", "2"]
    assert rows[-3][1] == "Tổng cộng / Total" and rows[-3][4:6] == ["6", "46.1"]  # 6 of 13: 46.15 % cut, as shown
    xlsx = _xlsx(client.get("/dashboard/monthly?month=10/2021&format=xlsx").data)
    assert len(rows) == len(xlsx)
    for row, cells in zip(rows, xlsx, strict=True):
        assert all(_same(field, cell) for field, cell in zip(row, cells, strict=True)), (row, cells)


def test_the_page_links_both_files_of_its_month(client, months):
    sign_in(client, create_user("admin", password=PASSWORD), "en")
    html = client.get("/dashboard/monthly?month=10/2021").get_data(as_text=True)
    assert '<a href="/dashboard/monthly?month=10/2021&amp;format=csv">Download the report (CSV)</a>' in html
    assert '<a href="/dashboard/monthly?month=10/2021&amp;format=xlsx">Download the report (XLSX)</a>' in html


def test_without_a_snapshot_before_a_later_month_the_people_paid_in_it_are_not_guessed(client, months, db_session):
    from sqlalchemy import text

    db_session.execute(text("DELETE FROM completion_snapshots WHERE day = '2021-10-31'"))
    sign_in(client, create_user("admin", password=PASSWORD))
    # No payment settled before November: nobody was paid before it, so its people paid are all those paid by its end.
    html = client.get("/dashboard/monthly?month=11/2021").get_data(as_text=True)
    assert _rows(html)["Thành phố Hà Nội"][1:3] == ["6", "6"]

    # One settled in October: the people paid before November are not known without October's snapshot.
    paid = create_payment(state="paid")
    db_session.execute(text("UPDATE payments SET settled_at = '2021-10-20 10:00+07' WHERE id = :id"), {"id": paid.id})
    html = client.get("/dashboard/monthly?month=11/2021").get_data(as_text=True)
    assert _rows(html)["Thành phố Hà Nội"][2] == "—"
    total = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S)
    assert total and '<td class="num">—</td>' in total.group(1)


def test_a_province_supervisor_gets_their_province_by_district_and_the_running_month_is_live(client, months):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD), "en")
    html = client.get("/dashboard/monthly").get_data(as_text=True)  # December, still running
    rows = _rows(html)
    assert list(rows) == ["Huyện Sóc Sơn", "Huyện Đông Anh"]  # by code: 016, 017
    total = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", total, re.S)]
    assert cells[1:4] == ["12", "6", "0"]  # the province's figures, as its one row said before
    assert "Monthly report 12/2021" in html and "by district, 12/2021" in html
    assert 'name="province" value="01"' in html  # another month asked for keeps the province
    assert client.get("/dashboard/monthly?province=79").status_code == 404  # another province's
    response = client.get("/dashboard/monthly?month=11/2021&format=xlsx")
    assert downloaded_name(response) == "bao-cao-thang-2021-11-tinh-01.xlsx"
    sheet = _xlsx(response.data)
    assert sheet[0][:2] == ["Mã quận/huyện / District code", "Quận/huyện / District"]
    # November's end by district (its snapshot's district rows): the one paid in November was in Đông Anh.
    assert [row[:5] for row in sheet[1:3]] == [
        [SOC_SON, "Huyện Sóc Sơn", 2, 1, 0],
        [DONG_ANH, "Huyện Đông Anh", 10, 5, 1],
    ]
    assert sheet[3][1:5] == ["Tổng cộng / Total", 12, 6, 1]


def test_the_national_report_opens_a_provinces_report_by_district(client, months):
    sign_in(client, create_user("admin", password=PASSWORD))
    national = client.get("/dashboard/monthly?month=11/2021").get_data(as_text=True)
    assert 'href="/dashboard/monthly?month=11/2021&amp;province=79"' in national
    html = client.get("/dashboard/monthly?month=11/2021&province=79").get_data(as_text=True)
    assert list(_rows(html)) == ["Quận 1"] and _rows(html)["Quận 1"][:3] == ["2", "1", "0"]
    assert "Về báo cáo toàn quốc" in html and "Thành phố Hồ Chí Minh" in html
    assert client.get("/dashboard/monthly?province=99").status_code == 404
    assert client.get("/dashboard/monthly?province=1x").status_code == 400


@pytest.mark.parametrize(
    ("query", "status"),
    [("month=13/2021", 422), ("month=2021-11", 422), ("month=%00", 422), ("format=pdf", 400), ("district=7600", 400)],
)
def test_bad_months_are_the_form_again_and_other_bad_values_a_400(client, months, query, status):
    """A month is typed in the page's form: it comes back with its error (422); a value no link of ours carries
    is the 400 page naming it."""
    sign_in(client, create_user("admin", password=PASSWORD))
    answer = client.get(f"/dashboard/monthly?{query}")
    assert answer.status_code == status
    assert ('id="month-error"' in answer.get_data(as_text=True)) is (status == 422)


@pytest.mark.parametrize(("locale", "words"), [("vi", "Báo cáo tháng"), ("en", "Monthly report")])
def test_a_month_typed_wrong_keeps_the_form_with_its_error_on_the_field(client, months, locale, words):
    sign_in(client, create_user("admin", password=PASSWORD), locale)
    answer = client.get("/dashboard/monthly?month=13/2021")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and f"<h1>{words}</h1>" in html
    assert 'id="month-error"' in html and 'name="month"' in html and 'value="13/2021"' in html
    assert 'id="monthly"' not in html  # no table for a month that is not one


def test_caseworkers_do_not_report_to_the_ministry(client, db_session):
    sign_in(client, create_user("caseworker", password=PASSWORD))
    assert client.get("/dashboard/monthly").status_code == 403


# ------------------------------------------------------------------------------------ where the not yet paid were


@pytest.fixture
def in_payment(app, country, monkeypatch):
    """The country with, in Hà Nội, someone in payment at a bank and someone on Đông Anh's cash list (different
    amounts) and a failed payment in Sóc Sơn, and in Quận 1 someone being checked and someone in payment; October
    closed by its snapshot, with the figures the dashboard showed then. In November the bank pays its person in Đông
    Anh and Quận 1's payment fails, and November's snapshot is taken; December is running (today 06/12/2021).

    At October's end Hà Nội's 9 not yet paid: 1 at a bank, 1 in cash, 1 approved, 1 failed, 1 awaiting details, 2 in
    review, 2 listed (being confirmed); Hồ Chí Minh City's 3: 1 at a bank, 2 being confirmed or checked."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-12-06")
    program = nq116()

    def person(district: str) -> Any:
        return create_employee(employer_id=create_employer(district_code=district).id, district_code=district)

    bank = create_payment(create_claim("payment_pending", employee=person(DONG_ANH), unused_months=60), state="sent")
    cash = create_cash_payment(employee=person(DONG_ANH))
    assert bank.amount_vnd != cash.amount_vnd  # each VND shown where it waits, not one for the other
    create_claim("payment_failed", employee=person(SOC_SON))
    create_claim("verifying", employee=person(QUAN_1))
    far = create_claim("payment_pending", employee=person(QUAN_1))
    october = {code: figures(program.id, Area(code)) for code in ("01", "79")}
    take_snapshots(program.id, date(2021, 10, 31))
    service.transition(bank.claim_id, ClaimAction.PAYMENT_SUCCEEDED)
    service.transition(far.id, ClaimAction.PAYMENT_FAILED)
    take_snapshots(program.id, date(2021, 11, 30))
    return {"program": program, "october": october, "bank": bank, "cash": cash, "far": far}


def _adds_up(row: dict[str, Any]) -> None:
    assert sum(row[name] for name in MONTHLY_UNPAID_PARTS) == row["unpaid"] == row["eligible"] - row["paid"], row


_KEPT = """SELECT eligible, paid, needs_review, awaiting_details, checking, approved, payment_pending_bank,
                  payment_pending_bank_amount_vnd, payment_pending_cash, payment_pending_cash_amount_vnd, payment_failed
           FROM completion_snapshots WHERE program_id = :p AND level = :level AND area_code = :code AND day = :day"""


def test_a_past_month_is_its_snapshot_and_the_parts_add_up_to_the_not_yet_paid(in_payment, db_session):
    program, october = in_payment["program"], in_payment["october"]
    rows = {row["code"]: row for row in monthly_report(program.id, date(2021, 10, 1), date(2021, 12, 6))}
    assert set(rows) == {"01", "79"}
    for code, then in october.items():
        # What the dashboard showed when October's snapshot was taken, and what the snapshot kept.
        assert {name: rows[code][name] for name in ("eligible", "paid", *MONTHLY_UNPAID)} == {
            name: then[name] for name in ("eligible", "paid", *MONTHLY_UNPAID)
        }
        params = {"p": program.id, "level": "province", "code": code, "day": date(2021, 10, 31)}
        kept = dict(db_session.execute(text(_KEPT), params).mappings().one())
        assert kept == {name: rows[code][name] for name in kept}
        _adds_up(rows[code])
    hanoi, hcm = rows["01"], rows["79"]
    bank, cash = in_payment["bank"], in_payment["cash"]
    assert (hanoi["unpaid"], hanoi["payment_failed"], hanoi["checking"], hanoi["approved"]) == (9, 1, 2, 1)
    assert (hanoi["payment_pending_bank"], hanoi["payment_pending_bank_amount_vnd"]) == (1, bank.amount_vnd)
    assert (hanoi["payment_pending_cash"], hanoi["payment_pending_cash_amount_vnd"]) == (1, cash.amount_vnd)
    assert (hcm["unpaid"], hcm["checking"], hcm["payment_pending_bank"], hcm["payment_failed"]) == (3, 2, 1, 0)
    _adds_up(monthly_totals(list(rows.values())))
    # November's end, after the bank paid and Quận 1's payment failed: its own snapshot, not October's.
    november = {row["code"]: row for row in monthly_report(program.id, date(2021, 11, 1), date(2021, 12, 6))}
    assert (november["01"]["payment_pending_bank"], november["01"]["payment_pending_bank_amount_vnd"]) == (0, 0)
    assert (november["79"]["payment_pending_bank"], november["79"]["payment_failed"]) == (0, 1)
    for row in november.values():
        _adds_up(row)


@pytest.mark.parametrize("province", [None, "01", "79"])
def test_the_running_month_is_the_dashboards_figures_of_the_same_area(in_payment, province):
    program = in_payment["program"]
    rows = monthly_report(program.id, date(2021, 12, 1), date(2021, 12, 6), province)
    table = {row["code"]: row for row in children(program.id, Area(province))}  # the area's dashboard table
    assert [row["code"] for row in rows] == {None: ["01", "79"], "01": [SOC_SON, DONG_ANH], "79": [QUAN_1]}[province]
    for row in rows:
        # The part's own dashboard: a province's, or a district's of the province.
        own = figures(program.id, Area(province, row["code"]) if province else Area(row["code"]))
        for name in ("eligible", "paid", "paid_amount_vnd", *MONTHLY_UNPAID):
            assert row[name] == own[name] == table[row["code"]][name], name
        _adds_up(row)
    total = monthly_totals(rows)
    _adds_up(total)
    whole = figures(program.id, Area(province))
    assert {name: total[name] for name in ("eligible", "paid", "paid_amount_vnd")} == {
        name: whole[name] for name in ("eligible", "paid", "paid_amount_vnd")
    }


def _unpaid_table(html: str) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """The second table's column headings after the province's, its rows by province, and its total row's cells
    after its heading."""
    table = html.split('id="monthly-unpaid"', 1)[1].split("</table>", 1)[0]

    def words(cell: str) -> str:
        return re.sub(r"<[^>]+>", "", cell).strip()

    head = [words(cell) for cell in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', table, re.S)]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1].split("</tbody>", 1)[0], re.S):
        cells = [words(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows[cells[0]] = cells[1:]
    total = table.split("<tfoot>", 1)[1] if "<tfoot>" in table else ""
    return head[1:], rows, [words(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", total, re.S)][1:]


def _money(amount: int, locale: str) -> str:
    return f"{amount:,} ₫".replace(",", ".") if locale == "vi" else f"VND {amount:,}"


@pytest.mark.parametrize(
    ("locale", "heading", "columns"),
    [
        (
            "vi",
            "Chưa chi trả cuối tháng 10/2021, theo tỉnh",
            ["Chưa chi trả", "Đang chi trả: chuyển khoản ngân hàng", "Số tiền đang chuyển khoản"],
        ),
        (
            "en",
            "Not yet paid at the end of 10/2021, by province",
            ["Not yet paid", "Payment in progress: bank transfer", "Amount in bank transfer"],
        ),
    ],
)
def test_the_page_shows_where_the_not_yet_paid_were_in_both_languages(client, in_payment, locale, heading, columns):
    bank, cash = in_payment["bank"], in_payment["cash"]
    sign_in(client, create_user("admin", password=PASSWORD), locale)
    response = client.get("/dashboard/monthly?month=10/2021")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<h2 id="unpaid-title">{heading}</h2>' in html and '<table id="monthly-unpaid" aria-labelledby' in html
    head, rows, total = _unpaid_table(html)
    assert head[:3] == columns and len(head) == 10
    assert rows["Thành phố Hà Nội"] == [
        *("9", "1", _money(bank.amount_vnd, locale), "1", _money(cash.amount_vnd, locale)),
        *("1", "1", "1", "2", "2"),
    ]
    far = in_payment["far"].amount_vnd
    assert rows["Thành phố Hồ Chí Minh"] == [
        "3",
        "1",
        _money(far, locale),
        "0",
        _money(0, locale),
        "0",
        "0",
        "0",
        "0",
        "2",
    ]
    assert total[0] == "12"  # Hà Nội's 9 and Hồ Chí Minh City's 3
    assert "—" not in total and 'id="unknown-note"' not in html  # every figure known: no "—", no note


def _older(db_session: Any, program_id: int, day: date) -> None:
    """The snapshot of ``day`` as a row taken before migration 0036 is left by it: without the columns it added."""
    db_session.execute(
        text(
            """UPDATE completion_snapshots SET checking = NULL, approved = NULL, payment_pending_bank = NULL,
                      payment_pending_bank_amount_vnd = NULL, payment_pending_cash = NULL,
                      payment_pending_cash_amount_vnd = NULL, payment_failed = NULL
               WHERE program_id = :p AND day = :day"""
        ),
        {"p": program_id, "day": day},
    )


def test_the_migration_fills_an_older_snapshot_only_where_its_own_figures_settle_it(in_payment, db_session):
    program = in_payment["program"]
    _older(db_session, program.id, date(2021, 10, 31))
    # An older district row whose not yet paid (3) are all in review (2) or awaiting details (1): none can have been
    # anywhere else, so every new figure was 0.
    db_session.execute(
        text(
            """INSERT INTO completion_snapshots (program_id, level, area_code, day, claims, eligible, paid,
                                                 paid_amount_vnd, needs_review, rejected, declined, awaiting_details)
               VALUES (:p, 'district', '001', '2021-10-31', 5, 4, 1, 1800000, 2, 1, 0, 1)"""
        ),
        {"p": program.id},
    )
    spec = importlib.util.spec_from_file_location("migration_0036", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db_session.execute(text(migration.FILL))
    found = {
        (row["level"], row["area_code"]): row
        for row in db_session.execute(
            text(
                """SELECT *, eligible - paid - needs_review - awaiting_details AS rest FROM completion_snapshots
                   WHERE program_id = :p AND day = '2021-10-31'"""
            ),
            {"p": program.id},
        ).mappings()
    }
    new = [name for name, _ in migration.COLUMNS]
    assert [found[("district", "001")][name] for name in new] == [0] * 7
    # This fixture's areas had people being checked, approved or in payment: which of them were where is not known.
    ours = [("country", ""), ("province", "01"), ("province", "79"), ("district", DONG_ANH), ("district", QUAN_1)]
    assert all(found[key]["rest"] > 0 and [found[key][name] for name in new] == [None] * 7 for key in ours)
    # And the rule holds for every row of the day, whatever else the database holds (rows other tests committed).
    for row in found.values():
        assert [row[name] for name in new] == ([0] * 7 if row["rest"] == 0 else [None] * 7), row


@pytest.mark.parametrize(
    ("locale", "note"),
    [
        ("vi", "—: không có trong bản chụp số liệu cuối tháng, không phải 0."),
        ("en", "—: not in the month's last snapshot, not 0."),
    ],
)
def test_a_month_whose_snapshot_did_not_keep_them_shows_a_dash_and_says_why(
    client, in_payment, db_session, locale, note
):
    program = in_payment["program"]
    _older(db_session, program.id, date(2021, 10, 31))
    sign_in(client, create_user("admin", password=PASSWORD), locale)
    html = client.get("/dashboard/monthly?month=10/2021").get_data(as_text=True)
    _, rows, total = _unpaid_table(html)
    # Known: the not yet paid (eligible - paid), awaiting details and in review; the rest "—", never 0.
    assert rows["Thành phố Hà Nội"] == ["9", "—", "—", "—", "—", "—", "—", "1", "2", "—"]
    assert rows["Thành phố Hồ Chí Minh"] == ["3", "—", "—", "—", "—", "—", "—", "0", "0", "—"]
    assert total == ["12", "—", "—", "—", "—", "—", "—", "1", "2", "—"]
    assert f'<p class="muted" id="unknown-note">{note}' in html
    # The completion table is as before; November's snapshot has every figure, and no note.
    assert _rows(html)["Thành phố Hà Nội"][:2] == ["14", "5"]
    assert 'id="unknown-note"' not in client.get("/dashboard/monthly?month=11/2021").get_data(as_text=True)


def test_the_xlsx_leaves_an_unknown_figure_blank_and_says_why(client, in_payment, db_session):
    _older(db_session, in_payment["program"].id, date(2021, 10, 31))
    sign_in(client, create_user("admin", password=PASSWORD))
    rows = _xlsx(client.get("/dashboard/monthly?month=10/2021&format=xlsx").data)
    assert rows[0] == MONTHLY_HEADER
    hanoi, total = (dict(zip(rows[0], row, strict=True)) for row in (rows[1], rows[3]))
    assert (hanoi["Chưa chi trả / Not yet paid"], hanoi["Cần xác minh / Needs review"]) == (9, 2)
    assert hanoi["Chờ bổ sung thông tin tài khoản / Awaiting payment details"] == 1
    assert [hanoi[name] for name in MONTHLY_HEADER[11:16]] == [None] * 5  # blank, not 0
    assert hanoi["Đang xác nhận, kiểm tra / Being confirmed or checked"] is None
    assert (total["Tỉnh / Province"], total["Chưa chi trả / Not yet paid"]) == ("Tổng cộng / Total", 12)
    assert total["Chi trả không thành công / Payment failed"] is None
    note = rows[4][1]
    assert note.startswith("Ô để trống:") and "Blank:" in note and len(rows) == 7  # then the snapshots' days


def test_the_csv_leaves_an_unknown_figure_empty_and_says_why(client, in_payment, db_session):
    _older(db_session, in_payment["program"].id, date(2021, 10, 31))
    sign_in(client, create_user("admin", password=PASSWORD))
    rows = _csv(client.get("/dashboard/monthly?month=10/2021&format=csv"))
    assert rows[0] == MONTHLY_HEADER
    hanoi, total = (dict(zip(rows[0], row, strict=True)) for row in (rows[1], rows[3]))
    assert (hanoi["Chưa chi trả / Not yet paid"], hanoi["Cần xác minh / Needs review"]) == ("9", "2")
    assert [hanoi[name] for name in MONTHLY_HEADER[11:16]] == [""] * 5  # empty, not 0
    assert hanoi["Đang xác nhận, kiểm tra / Being confirmed or checked"] == ""
    assert (total["Tỉnh / Province"], total["Chưa chi trả / Not yet paid"]) == ("Tổng cộng / Total", "12")
    assert total["Chi trả không thành công / Payment failed"] == ""
    assert rows[4][0] == "" and rows[4][1].startswith("Ô để trống:") and "Blank:" in rows[4][1] and len(rows) == 7


def test_a_month_without_any_snapshot_does_not_make_up_its_completion(client, months, db_session):
    db_session.execute(text("DELETE FROM completion_snapshots WHERE day = '2021-10-31'"))
    sign_in(client, create_user("admin", password=PASSWORD))
    html = client.get("/dashboard/monthly?month=10/2021").get_data(as_text=True)
    # October's reduction is booked; its completion was never kept: "—", not 0.
    assert _rows(html)["Thành phố Hà Nội"] == ["—", "—", "—", "—", "—", "1", "12", "1.000.000 ₫"]
    _, rows, _ = _unpaid_table(html)
    assert rows["Thành phố Hà Nội"] == ["—"] * 10
    assert 'id="unknown-note"' in html


def _sources(html: str) -> str:
    said = re.sub(r"<[^>]+>", " ", html.split('id="sources">', 1)[1].split("</div>", 1)[0])
    return re.sub(r"\s+", " ", said.replace("&#39;", "'"))


def test_the_people_paid_in_a_month_are_counted_against_a_snapshot_of_the_previous_month_only(
    client, months, db_session
):
    """December (running, 06/12/2021) against November's last snapshot; without one in November, not against
    October's (that would count November's payment as December's): unknown, and the page says why."""
    paid = create_payment(state="paid")  # settled in October: December is not the programme's first month
    db_session.execute(text("UPDATE payments SET settled_at = '2021-10-20 10:00+07' WHERE id = :id"), {"id": paid.id})
    sign_in(client, create_user("admin", password=PASSWORD))
    html = client.get("/dashboard/monthly?month=12/2021").get_data(as_text=True)
    assert _rows(html)["Thành phố Hà Nội"][1:3] == ["6", "0"]
    assert "Chi trả trong tháng: so với bản chụp số liệu cuối cùng của tháng trước, ngày 30/11/2021." in _sources(html)
    assert "Cuối tháng: tháng đang diễn ra, số liệu hiện tại ngày 06/12/2021." in _sources(html)

    db_session.execute(text("DELETE FROM completion_snapshots WHERE day = '2021-11-30'"))
    html = client.get("/dashboard/monthly?month=12/2021").get_data(as_text=True)
    assert _rows(html)["Thành phố Hà Nội"][1:3] == ["6", "—"]  # October's snapshot would have said 1
    assert "Chi trả trong tháng không xác định (—): tháng trước không có bản chụp số liệu nào" in _sources(html)
    rows = _csv(client.get("/dashboard/monthly?month=12/2021&format=csv"))
    assert rows[1][4] == "" and rows[-1][1].startswith("Chi trả trong tháng không xác định (ô để trống)")


def test_a_month_end_snapshot_taken_before_the_months_last_day_says_so(client, months, db_session):
    """November's last snapshot was taken on 10/11: November's end is of that day, and December's people paid are
    counted from it (those paid from 11/11 to 30/11 fall in December): both said, on the page and in the files."""
    db_session.execute(text("DELETE FROM completion_snapshots WHERE day = '2021-11-30'"))
    take_snapshots(months.id, date(2021, 11, 10))
    sign_in(client, create_user("admin", password=PASSWORD), "en")
    november = _sources(client.get("/dashboard/monthly?month=11/2021").get_data(as_text=True))
    assert "Month's end: the snapshot of 10/11/2021, taken before the month's last day, 30/11/2021" in november
    assert "against the previous month's last snapshot, of 31/10/2021." in november
    december = _sources(client.get("/dashboard/monthly?month=12/2021").get_data(as_text=True))
    assert "against the previous month's last snapshot, of 10/11/2021." in december
    assert "taken before the previous month's last day, 30/11/2021" in december
    rows = _xlsx(client.get("/dashboard/monthly?month=11/2021&format=xlsx").data)
    assert rows[-2][1].startswith("Cuối tháng: bản chụp số liệu ngày 10/11/2021, lập trước ngày cuối tháng 30/11/2021")


def _source_lines(html: str) -> list[str]:
    """The page's sentences on the snapshots' days, under its general one on where the figures come from."""
    div = html.split('id="sources">', 1)[1].split("</div>", 1)[0].replace("&#39;", "'")
    return [re.sub(r"\s+", " ", line).strip() for line in re.findall(r"<p>(.*?)</p>", div, re.S)][1:]


@pytest.mark.parametrize("month", ["11/2021", "12/2021"])
def test_the_page_and_the_files_say_the_same_about_the_snapshots_days(client, months, db_session, month):
    """One wording of the snapshots' days: each of the page's sentences, Vietnamese and English, is a note under the
    files' total ('Vietnamese / English'), in the same order, but for how an unknown figure shows ('—' on the page,
    a blank cell in the files). November ends on a snapshot of 10/11; December is running, against it."""
    db_session.execute(text("DELETE FROM completion_snapshots WHERE day = '2021-11-30'"))
    take_snapshots(months.id, date(2021, 11, 10))
    user = create_user("admin", password=PASSWORD)
    sign_in(client, user)
    vi = _source_lines(client.get(f"/dashboard/monthly?month={month}").get_data(as_text=True))
    client.post("/logout")
    sign_in(client, user, "en")
    en = _source_lines(client.get(f"/dashboard/monthly?month={month}").get_data(as_text=True))
    assert len(vi) == len(en) >= 2
    expected = [f"{v} / {e}" for v, e in zip(vi, en, strict=True)]
    rows = _csv(client.get(f"/dashboard/monthly?month={month}&format=csv"))
    assert [row[1] for row in rows[-len(expected) :]] == expected
    assert [row[1] for row in _xlsx(client.get(f"/dashboard/monthly?month={month}&format=xlsx").data)][
        -len(expected) :
    ] == expected
    if month == "12/2021":  # the November snapshot was early: said as its own sentence, with both its days
        assert vi[-1] == (
            "Bản chụp đó lập trước ngày cuối tháng trước 30/11/2021: người được chi trả sau ngày 10/11/2021 đến hết "
            "tháng trước được tính vào tháng này."
        )


@pytest.mark.parametrize(("locale", "said"), [("vi", "Năm phải từ 2000 đến 2099."), ("en", "from 2000 to 2099")])
def test_a_month_of_a_year_out_of_range_says_the_years_not_the_format(client, months, locale, said):
    """12/1999 is written as mm/yyyy: the answer is the years a report can be of, not 'write it as mm/yyyy'."""
    sign_in(client, create_user("admin", password=PASSWORD), locale)
    answer = client.get("/dashboard/monthly?month=12/1999")
    error = answer.get_data(as_text=True).split('id="month-error"', 1)[1].split("</p>", 1)[0]
    assert answer.status_code == 422 and said in error and "mm/yyyy" not in error


def test_the_month_field_names_the_running_month_the_report_opens_on(client, months):
    sign_in(client, create_user("admin", password=PASSWORD))
    html = client.get("/dashboard/monthly").get_data(as_text=True)
    assert "Báo cáo tháng 12/2021" in html
    field = re.search(r'<input[^>]*name="month"[^>]*>', html).group(0)
    assert 'value="12/2021"' in field


def test_the_files_headers_use_the_pages_words_for_each_state():
    """'Chờ thông tin tài khoản / Awaiting details' in the files, 'Chờ bổ sung thông tin tài khoản' on the pages."""
    from disburse.claims.states import STATE_LABELS, ClaimState
    from disburse.dashboard.exports import FIGURES_HEADER

    for header in (FIGURES_HEADER, MONTHLY_HEADER):
        for state in (ClaimState.AWAITING_PAYMENT_DETAILS, ClaimState.NEEDS_REVIEW, ClaimState.PAYMENT_FAILED):
            assert " / ".join(STATE_LABELS[state]) in header
    for state in (ClaimState.REJECTED, ClaimState.DECLINED, ClaimState.REMOVED):
        assert " / ".join(STATE_LABELS[state]) in FIGURES_HEADER


def test_an_area_with_nothing_in_it_is_not_a_row(months, db_session):
    """A district whose claims were all deleted keeps rollup rows of zeros, which a snapshot then keeps too (a test
    that commits and deletes its claims left one behind in CI): the report would list it with nothing in it."""
    from datetime import UTC, datetime

    from disburse.reports.models import CompletionSnapshot

    zeros = dict.fromkeys(
        ("claims", "eligible", "paid", "paid_amount_vnd", "needs_review", "rejected", "declined", "awaiting_details"), 0
    )
    db_session.add(
        CompletionSnapshot(
            program_id=months.id,
            level="district",
            area_code="250",
            day=date(2021, 11, 20),
            taken_at=datetime.now(UTC),
            **zeros,
        )
    )
    db_session.flush()
    rows = monthly_report(months.id, date(2021, 11, 1), date(2021, 12, 6), "01")
    assert [row["code"] for row in rows] == [SOC_SON, DONG_ANH]


@pytest.mark.parametrize(
    ("locale", "month", "said"),
    [
        ("vi", "01/2030", "Tháng 01/2030 chưa đến: báo cáo có từ tháng 10/2021 đến tháng này (12/2021)."),
        ("en", "01/2030", "01/2030 has not come yet: reports are for 10/2021 to this month (12/2021)."),
        ("vi", "01/2022", "Tháng 01/2022 chưa đến"),  # next month, by the programme clock
        (
            "vi",
            "01/2000",
            "Tháng 01/2000 trước khi chương trình bắt đầu: báo cáo có từ tháng 10/2021 đến tháng này (12/2021).",
        ),
        ("en", "01/2000", "01/2000 is before the programme began: reports are for 10/2021 to this month (12/2021)."),
        ("vi", "09/2021", "Tháng 09/2021 trước khi chương trình bắt đầu"),  # the cut-off date's month
    ],
)
def test_a_month_to_come_or_before_the_programme_is_said_on_the_field(client, months, locale, month, said):
    """They rendered an empty report as if it were one. NQ116's first month is October 2021 (nobody could be paid
    before 01/10/2021, the day after the cut-off date, and the reduction starts then); the clock is in December."""
    sign_in(client, create_user("supervisor", password=PASSWORD), locale)
    for fmt in ("", "&format=xlsx"):
        answer = client.get(f"/dashboard/monthly?month={month}{fmt}")
        html = answer.get_data(as_text=True)
        assert answer.status_code == 422 and said in _month_error(answer)
        assert f'value="{month}"' in html and 'id="monthly"' not in html  # the form again, no report
    for fine in ("10/2021", "12/2021"):  # the first month and the running one
        assert client.get(f"/dashboard/monthly?month={fine}").status_code == 200


@pytest.mark.parametrize(
    ("user", "query", "area"),
    [
        ({}, "", "Toàn quốc / The whole country"),
        ({"province": "01"}, "", "Thành phố Hà Nội"),
        ({}, f"&district={DONG_ANH}", "Huyện Đông Anh"),
    ],
)
def test_the_xlsx_has_a_title_above_its_table(client, months, user, query, area):
    """As the cash list's: what the report is, of which programme and area, and when it was made, above the header
    (the CSV, a table for programs, has none)."""
    sign_in(client, create_user("supervisor", password=PASSWORD, **user), "en")
    sheet = _sheet(client.get(f"/dashboard/monthly?month=11/2021&format=xlsx{query}").data)
    program = nq116()
    assert [row[0] if row else None for row in sheet[:TITLE_ROWS]] == [
        "Báo cáo tháng 11/2021 / Monthly report 11/2021",
        f"{program.name_vi} / {program.name_en} (NQ116)",
        area,
        "Lập ngày 06/12/2021 / Made on 06/12/2021",
        None,
    ]
    assert sheet[TITLE_ROWS][1] in ("Tỉnh / Province", "Quận/huyện / District")
    workbook = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/dashboard/monthly?month=11/2021&format=xlsx{query}").data)
    )
    assert workbook.active["A1"].font.bold and workbook.active.freeze_panes == f"A{TITLE_ROWS + 2}"
    rows = _csv(client.get(f"/dashboard/monthly?month=11/2021&format=csv{query}"))
    assert rows[0][0] in ("Mã tỉnh / Province code", "Mã quận/huyện / District code")


def test_a_districts_report_is_its_row_of_its_provinces(client, months):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    province = _rows(client.get("/dashboard/monthly?month=11/2021").get_data(as_text=True))
    answer = client.get(f"/dashboard/monthly?month=11/2021&district={DONG_ANH}")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and _rows(html) == {"Huyện Đông Anh": province["Huyện Đông Anh"]}
    assert f'name="district" value="{DONG_ANH}"' in html  # another month asked for keeps the district
    assert 'href="/dashboard/monthly?month=11/2021&amp;province=01"' in html  # up to the province's report
    assert f'href="/dashboard/?district={DONG_ANH}"' in html  # and the district's dashboard
    response = client.get(f"/dashboard/monthly?month=11/2021&district={DONG_ANH}&format=csv")
    assert downloaded_name(response) == f"bao-cao-thang-2021-11-huyen-{DONG_ANH}.csv"
    assert [row[0] for row in _csv(response)[1:2]] == [DONG_ANH]
    assert client.get(f"/dashboard/monthly?district={QUAN_1}").status_code == 404
