"""The dashboard's tables as CSV and XLSX: the same rows and figures as the page, headers in both languages, a
formula in a unit's name written as text; a large table is offered as a background job instead."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest

from disburse.dashboard.exports import FIGURES_HEADER
from tests.dashboard.conftest import PASSWORD, downloaded_name, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_user


def test_a_districts_units_as_csv(client, country):
    evil = create_employer(district_code="017", name='=HYPERLINK("http://x")')
    create_claim("paid", employee=create_employee(employer_id=evil.id, district_code="017"))
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    response = client.get("/dashboard/export?district=017&sort=percent_paid&order=desc&format=csv")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    # The area, the programme's day and the hour and minute read: two downloads of one day have two names.
    assert re.fullmatch(r"tien-do-units-017-[0-9]{8}-[0-2][0-9][0-5][0-9]\.csv", downloaded_name(response))
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Mã đơn vị / Unit code", "Tên đơn vị / Unit", "Mã quận/huyện / District code"]
    # Then the figures in the page's order: the completion, where the not yet paid are, the refused.
    assert rows[0][3:] == FIGURES_HEADER and rows[0][3] == "Tỷ lệ đã chi trả (%) / Paid (%)"
    by_name = {row[1]: row for row in rows[1:]}
    assert [row[1] for row in rows[1:]] == ['\'=HYPERLINK("http://x")', "Công ty Gần", "Công ty Chậm"]
    assert by_name["Công ty Gần"][2:6] == ["017", "60.0", "5", "3"]
    # Not yet paid, in payment at a bank and in cash at the office, approved, failed, awaiting details, needs review,
    # being confirmed or checked; then rejected, declined, not at the unit.
    assert by_name["Công ty Gần"][7:] == ["2", "0", "0", "1", "0", "0", "1", "0", "1", "0", "0"]
    for row in rows[1:]:  # every row's not yet paid is where its people are: the parts add up
        unpaid, *parts = (int(row[i]) for i in range(7, 15))
        assert unpaid == sum(parts), row
    assert int(by_name["Công ty Gần"][6]) > 0
    assert rows[0][7:15] == [
        "Chưa chi trả / Not yet paid",
        "Đang chi trả: chuyển khoản ngân hàng / Payment in progress: bank transfer",
        "Đang chi trả: tiền mặt tại cơ quan BHXH / Payment in progress: cash at the office",
        "Đã duyệt, chưa chuyển chi trả / Approved, not yet sent",
        "Chi trả không thành công / Payment failed",
        "Chờ bổ sung thông tin tài khoản / Awaiting payment details",
        "Cần xác minh / Needs review",
        "Đang xác nhận, kiểm tra / Being confirmed or checked",
    ]
    assert by_name["Công ty Chậm"][3:6] == ["25.0", "4", "1"]


def test_the_country_by_province_as_xlsx(client, country):
    sign_in(client, create_user("admin", password=PASSWORD))
    response = client.get("/dashboard/export?format=xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:2] == ["Mã tỉnh / Province code", "Tỉnh / Province"]
    assert [row[0] for row in rows[1:]] == ["01", "79"]
    assert rows[1][2:5] == [45.4, 11, 5] and rows[2][2:5] == [50.0, 2, 1]


def test_a_districts_target_date_is_a_date_cell_in_xlsx_and_dd_mm_yyyy_in_csv(client, country):
    """It was the text '30/11/2021' in a General cell: it neither sorted nor filtered as a date."""
    from datetime import date, datetime

    from disburse.reports.dashboard import set_target
    from tests.factories import nq116

    supervisor = create_user("supervisor", province="01", password=PASSWORD)
    set_target(nq116().id, "017", date(2021, 11, 30), 8000, user_id=supervisor.id)
    sign_in(client, supervisor)
    xlsx = client.get("/dashboard/export?province=01&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    header = [cell.value for cell in sheet[1]]
    column = header.index(next(h for h in header if h.startswith("Ngày mục tiêu"))) + 1
    cells = {sheet.cell(row, 1).value: sheet.cell(row, column) for row in range(2, sheet.max_row + 1)}
    assert cells["017"].value == datetime(2021, 11, 30) and cells["017"].number_format == "dd/mm/yyyy"
    rows = list(csv.reader(io.StringIO(client.get("/dashboard/export?province=01&format=csv").get_data(True)[1:])))
    assert {row[0]: row[column - 1] for row in rows[1:]}["017"] == "30/11/2021"


def test_a_districts_target_keeps_its_two_decimals_in_xlsx(client, country):
    """80,05 % was shown as 80.1 (the completion's one-decimal format): a target is set with two."""
    from datetime import date

    from disburse.reports.dashboard import set_target
    from tests.factories import nq116

    supervisor = create_user("supervisor", province="01", password=PASSWORD)
    set_target(nq116().id, "017", date(2021, 11, 30), 8005, user_id=supervisor.id)
    sign_in(client, supervisor)
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/dashboard/export?province=01&format=xlsx").data)).active
    header = [cell.value for cell in sheet[1]]
    column = header.index("Mục tiêu (%) / Target (%)") + 1
    cells = {sheet.cell(row, 1).value: sheet.cell(row, column) for row in range(2, sheet.max_row + 1)}
    assert cells["017"].value == 80.05 and cells["017"].number_format == "0.00"
    assert (
        cells["017"].number_format != sheet.cell(2, header.index("Tỷ lệ đã chi trả (%) / Paid (%)") + 1).number_format
    )


def test_a_large_table_is_offered_as_a_background_job(app, client, country, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_EXPORT_DIRECT_ROWS", 1)
    sign_in(client, create_user("admin", password=PASSWORD))
    page = client.get("/dashboard/export?province=01&table=units&format=xlsx")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "có 3 dòng" in html and 'method="post"' in html
    assert '<a href="/dashboard/?province=01">Quay lại bảng</a>' in html


def test_the_export_page_names_the_area_before_its_sentence(app, client, country, monkeypatch):
    """ "Bảng của Toàn quốc" read "The table of The whole country has 185 rows" in English, a capital mid-sentence:
    the area's name opens the sentence, before a colon, as the pages' titles put it."""
    monkeypatch.setitem(app.config, "DISBURSE_EXPORT_DIRECT_ROWS", 1)
    sign_in(client, create_user("admin", password=PASSWORD))
    text = re.sub(r"\s+", " ", client.get("/dashboard/export?format=xlsx").get_data(as_text=True))
    assert "<p>Toàn quốc: bảng có " in text and "Bảng của" not in text
    text = re.sub(
        r"\s+", " ", client.get("/dashboard/export?province=01&table=units&format=xlsx").get_data(as_text=True)
    )
    assert "<p>Thành phố Hà Nội: bảng có 3 dòng. Tệp được chuẩn bị trong nền;" in text


@pytest.mark.parametrize("query", ["format=pdf", "format=", "table=x&format=csv", "limit=-1&format=csv"])
def test_bad_export_parameters_are_a_400(client, country, query):
    sign_in(client, create_user("admin", password=PASSWORD))
    assert client.get(f"/dashboard/export?{query}").status_code == 400


def test_a_failed_export_job_can_be_run_again(db_session):
    from disburse.jobs import service

    job = service.create_job("export.dashboard", {"table": "units", "format": "csv"})
    service.finish(job, error="disk full")
    assert service.can_retry(job) and service.retry_task(job) == ("exports.dashboard", ())


def _page_columns(html: str) -> list[str]:
    head = html.split('id="dashboard-table"', 1)[1].split("</thead>", 1)[0]
    return [re.sub(r"<[^>]+>|[▲▼]", "", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]


@pytest.mark.parametrize(
    ("page", "file"),
    [
        ("/dashboard/", "/dashboard/export?format=csv"),
        ("/dashboard/?province=01", "/dashboard/export?province=01&format=csv"),
        ("/dashboard/?district=017", "/dashboard/export?district=017&format=csv"),
        ("/dashboard/?province=01&table=units", "/dashboard/export?province=01&table=units&format=csv"),
    ],
)
def test_the_files_columns_are_the_pages_in_its_order(client, country, page, file):
    """The page's columns, one by one, are the file's Vietnamese headers (without the unit the file adds: "(%)",
    "(VND)"); the file has a unit's district code after its name, and a district's target as its figure and its date
    where the page has "So với mục tiêu"."""
    sign_in(client, create_user("admin", password=PASSWORD))
    shown = _page_columns(client.get(page).get_data(as_text=True))
    header = next(csv.reader(io.StringIO(client.get(file).get_data(as_text=True).lstrip("\ufeff"))))
    said = [h.split(" / ")[0].removesuffix(" (%)").removesuffix(" (VND)") for h in header]
    said = [h for h in said if h != "Mã quận/huyện" or header[0].startswith("Mã quận")]  # a unit's district
    if shown[-1] == "So với mục tiêu":
        assert said[-2:] == ["Mục tiêu", "Ngày mục tiêu"]
        shown, said = shown[:-1], said[:-2]
    assert shown[0] == "Mã" and said[0].startswith("Mã")
    assert shown[1] == said[1] or (shown[1], said[1]) == ("Đơn vị", "Tên đơn vị")
    assert shown[2:] == said[2:] and len(shown) == 2 + 15
