"""The recoveries as CSV or XLSX, as the dashboard's other lists: the page's columns in its order, the area and the
state the page shows, at once up to DISBURSE_EXPORT_DIRECT_ROWS rows and by the export job beyond (the same file);
the page said only "the command disburse payments recoveries lists them all"."""

from __future__ import annotations

import csv
import html as html_
import io
import re
from pathlib import Path

import openpyxl
import pytest

from disburse.dashboard.exports import RECOVERIES_HEADER
from disburse.extensions import db
from disburse.jobs.models import Job
from disburse.payments import recoveries as recovery_service
from disburse.payments.models import Payment
from disburse.programs.calendar import VIETNAM_TZ
from tests.admin.conftest import folders  # noqa: F401 - the fixture
from tests.dashboard.conftest import DONG_ANH, PASSWORD, QUAN_1, SOC_SON, downloaded_name, sign_in
from tests.dashboard.test_recoveries import _returned
from tests.factories import create_user


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))


def _page_headers(html: str) -> list[str]:
    table = html.split('id="recoveries"', 1)[1].split("</thead>", 1)[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]


@pytest.fixture
def returned(db_session):
    """Two recoveries in Đông Anh (the newer written off), one in Sóc Sơn, one in Hồ Chí Minh City's Quận 1."""
    first, second = _returned(DONG_ANH, 2_100_000), _returned(DONG_ANH, 1_800_000)
    north, far = _returned(SOC_SON, 3_000_000), _returned(QUAN_1, 3_300_000)
    admin = create_user("admin", password=PASSWORD)
    recovery_service.move(second.id, "written_off", admin, "Người nhận đã mất.")
    return {"first": first, "second": second, "north": north, "far": far}


def test_the_page_links_its_list_as_files_and_they_have_its_columns_in_its_order(client, returned):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    html = client.get(f"/dashboard/recoveries?district={DONG_ANH}").get_data(as_text=True)
    shown = html_.unescape(html.split('id="recoveries-shown"', 1)[1].split("</p>", 1)[0])
    assert f'href="/dashboard/recoveries/export?district={DONG_ANH}&format=csv"' in shown
    assert f'href="/dashboard/recoveries/export?district={DONG_ANH}&format=xlsx"' in shown
    response = client.get(f"/dashboard/recoveries/export?district={DONG_ANH}&format=csv")
    assert re.fullmatch(rf"thu-hoi-{DONG_ANH}-[0-9]{{8}}-[0-9]{{4}}\.csv", downloaded_name(response))
    rows = _csv(response)
    # The page's columns, in its order (the district's code before its name), in both languages.
    page = _page_headers(html)
    as_page = [header.split(" / ")[0].removesuffix(" (VND)") for header in rows[0] if "Mã quận" not in header]
    assert as_page[:-2] == page  # then the claim's number and the payment's reference, the page's links
    assert rows[0] == RECOVERIES_HEADER
    second, first = returned["second"], returned["first"]
    opened = first.created_at.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y")
    references = [db.session.get(Payment, r.payment_id).provider_reference for r in (first, second)]
    assert all(references)
    assert rows[1:] == [  # newest first, as the page lists them
        [str(second.id), f"Người {DONG_ANH} 1800000", DONG_ANH, "Huyện Đông Anh", "1800000", "0",
         "Tài khoản đã đóng / Closed account", "Đã xoá nợ / Written off", opened, str(second.claim_id), references[1]],
        [str(first.id), f"Người {DONG_ANH} 2100000", DONG_ANH, "Huyện Đông Anh", "2100000", "0",
         "Tài khoản đã đóng / Closed account", "Chờ thu hồi / Owed", opened, str(first.claim_id), references[0]],
    ]  # fmt: skip
    xlsx = client.get(f"/dashboard/recoveries/export?district={DONG_ANH}&format=xlsx")
    sheet = [list(row) for row in openpyxl.load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True)]
    assert sheet[0] == RECOVERIES_HEADER and [row[0] for row in sheet[1:]] == [str(second.id), str(first.id)]
    assert sheet[1][4:6] == [1_800_000, 0] and sheet[1][8].strftime("%d/%m/%Y") == opened  # numbers, a date cell


def test_the_file_has_the_pages_state_and_area(client, returned):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    html = html_.unescape(client.get("/dashboard/recoveries?state=owed").get_data(as_text=True))
    assert 'href="/dashboard/recoveries/export?province=01&state=owed&format=csv"' in html
    rows = _csv(client.get("/dashboard/recoveries/export?province=01&state=owed&format=csv"))
    assert sorted(row[0] for row in rows[1:]) == sorted(str(returned[k].id) for k in ("first", "north"))
    everything = _csv(client.get("/dashboard/recoveries/export?format=csv"))  # their own province
    assert str(returned["far"].id) not in {row[0] for row in everything[1:]} and len(everything) == 1 + 3
    assert client.get(f"/dashboard/recoveries/export?district={QUAN_1}&format=csv").status_code == 404
    assert client.get("/dashboard/recoveries/export?state=lost&format=csv").status_code == 400


@pytest.mark.parametrize("role", ["caseworker", "employer"])
def test_only_those_who_see_recoveries_download_them(client, returned, role):
    sign_in(client, create_user(role, password=PASSWORD))
    assert client.get("/dashboard/recoveries/export?format=csv").status_code == 403


@pytest.mark.usefixtures("folders")  # the export folder in the test's own directory
def test_more_recoveries_than_the_export_limit_are_written_by_the_export_job(app, client, returned, monkeypatch):
    """As the dashboard's large tables: the link opens a page with a button; the button starts the export job (the
    worker's task run here), whose page then offers the file: the same rows as the file downloaded at once."""
    from workers.exports import export_dashboard

    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    url = "/dashboard/recoveries/export?province=01&format=xlsx"
    at_once = openpyxl.load_workbook(io.BytesIO(client.get(url).data), read_only=True).active
    expected = [list(row) for row in at_once.iter_rows(values_only=True)]
    assert len(expected) == 1 + 3

    monkeypatch.setitem(app.config, "DISBURSE_EXPORT_DIRECT_ROWS", 2)
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'method="post"' in html and "Chuẩn bị tệp XLSX" in html
    assert "<h1>Tải danh sách khoản thu hồi</h1>" in html and "có 3 dòng" in html
    assert '<a href="/dashboard/recoveries?province=01">Quay lại trang Thu hồi</a>' in html  # back to the list
    started = client.post(url)
    assert started.status_code == 302
    job_id = int(re.fullmatch(r"/jobs/(\d+)", started.headers["Location"]).group(1))
    job = db.session.get(Job, job_id)
    assert job.kind == "export.dashboard" and job.params["table"] == "recoveries" and job.params["state"] is None
    assert job.params["scope"]["provinces"] == ["01"]

    export_dashboard(job_id)
    db.session.refresh(job)
    assert job.state == "succeeded", job.error
    assert job.result["total_rows"] == 3
    written = Path(app.config["DISBURSE_EXPORT_DIR"]) / job.result["file"]
    sheet = openpyxl.load_workbook(written, read_only=True).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == expected
    with client.get(f"/jobs/{job_id}/download") as download:
        assert download.status_code == 200 and download.data == written.read_bytes()


def test_a_long_list_says_which_rows_the_page_shows(client, returned, monkeypatch):
    from disburse.dashboard import views

    monkeypatch.setattr(views, "RECOVERIES_SHOWN", 2)
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD), "en")
    html = client.get("/dashboard/recoveries").get_data(as_text=True)
    shown = re.sub(r"\s+", " ", html.split('id="recoveries-shown"', 1)[1].split("</p>", 1)[0])
    assert "Rows 1–2 of 3; the downloaded file has them all." in shown and "disburse payments" not in html
