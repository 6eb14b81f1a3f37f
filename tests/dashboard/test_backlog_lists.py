"""The backlog page's lists: reconciliation runs of one day told apart by when they ran, the latest of a day and
provider marked as the one that counts; the overdue units, the first 20 said to be so, and all of them as a file."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest

from disburse.payments.models import Reconciliation
from tests.admin.conftest import folders  # noqa: F401 - the fixture
from tests.dashboard.conftest import DONG_ANH, PASSWORD, downloaded_name, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_user


def _runs(html: str) -> list[list[str]]:
    table = html.split('id="reconciliations"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_runs_of_the_same_day_show_when_they_ran_and_which_one_counts(client, db_session, locale):
    """Three runs of 07/12/2026 with the sandbox (the second ran last: 09:30 in Vietnam) and one of the day before:
    each with its time, to the minute in Vietnam's time, the latest of each day marked as the one that counts."""
    runs = [
        (date(2026, 12, 7), datetime(2026, 12, 7, 1, 5, tzinfo=UTC), 3),  # 08:05 in Vietnam
        (date(2026, 12, 7), datetime(2026, 12, 7, 2, 30, tzinfo=UTC), 4),  # 09:30
        (date(2026, 12, 7), datetime(2026, 12, 7, 1, 45, tzinfo=UTC), 5),  # 08:45, recorded last
        (date(2026, 12, 6), datetime(2026, 12, 6, 17, 10, tzinfo=UTC), 6),  # 07/12 00:10 in Vietnam
    ]
    for day, ran_at, matched in runs:
        db_session.add(
            Reconciliation(provider="sandbox", day=day, matched=matched, differences=0, details=[], ran_at=ran_at)
        )
    db_session.flush()
    sign_in(client, create_user("supervisor", password=PASSWORD), locale)
    rows = _runs(client.get("/dashboard/backlog").get_data(as_text=True))
    counts, again = (
        ("lần được tính", "đã có lần chạy sau") if locale == "vi" else ("the one that counts", "run again later")
    )
    assert [row[:2] + row[3:4] for row in rows] == [
        ["07/12/2026", f"07/12/2026 09:30 · {counts}", "4"],
        ["07/12/2026", f"07/12/2026 08:45 · {again}", "5"],
        ["07/12/2026", f"07/12/2026 08:05 · {again}", "3"],
        ["06/12/2026", f"07/12/2026 00:10 · {counts}", "6"],
    ]


def test_the_overdue_units_past_the_first_20_are_said_and_downloaded_whole(client, db_session):
    """22 units of Đông Anh past their Form 02 deadline: the page lists 20 and says they are the first 20 of 22; the
    files have all 22, the most unconfirmed first."""
    units = [create_employer(district_code=DONG_ANH, name=f"Công ty Trễ {n:02d}") for n in range(22)]
    for n, unit in enumerate(units):
        for _ in range(2 if n == 21 else 1):
            create_claim(
                "employer_overdue",
                employee=create_employee(employer_id=unit.id, district_code=DONG_ANH),
                review_due_on=date(2021, 10, 20),
            )
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    html = client.get("/dashboard/backlog").get_data(as_text=True)
    listed = html.split('id="overdue-employers"', 1)[1].split("</table>", 1)[0]
    assert listed.count("<tr>") == 1 + 20  # the heading's row and 20 units
    shown = re.sub(r"\s+", " ", html.split('id="overdue-shown">', 1)[1].split("</p>", 1)[0])
    assert "Dưới đây là 20 đơn vị đầu tiên (nhiều người đang chờ đơn vị xác nhận nhất) trên tổng số 22." in shown
    assert 'href="/dashboard/backlog/overdue-units?province=01&amp;format=csv"' in shown
    response = client.get("/dashboard/backlog/overdue-units?province=01&format=csv")
    assert re.fullmatch(r"don-vi-qua-han-01-[0-9]{8}-[0-9]{4}\.csv", downloaded_name(response))
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))
    assert lines[0][0] == "Mã đơn vị / Unit code" and len(lines) == 1 + 22
    assert lines[1] == [units[21].unit_code, "Công ty Trễ 21", DONG_ANH, "Huyện Đông Anh", "2"]
    assert {line[0] for line in lines[1:]} == {unit.unit_code for unit in units}
    xlsx = client.get("/dashboard/backlog/overdue-units?province=01&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data), read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 1 + 22
    assert client.get("/dashboard/backlog/overdue-units?province=79&format=csv").status_code == 404


def test_a_short_overdue_list_is_not_said_to_be_cut(client, db_session):
    unit = create_employer(district_code=DONG_ANH, name="Công ty Trễ")
    create_claim(
        "employer_overdue",
        employee=create_employee(employer_id=unit.id, district_code=DONG_ANH),
        review_due_on=date(2021, 10, 20),
    )
    sign_in(client, create_user("caseworker", district=DONG_ANH, password=PASSWORD), "en")
    html = client.get("/dashboard/backlog").get_data(as_text=True)
    shown = html.split('id="overdue-shown">', 1)[1].split("</p>", 1)[0]
    assert "first" not in shown and "Download the whole list:" in shown


def _overdue(count: int) -> list[str]:
    """``count`` units of Đông Anh past their Form 02 deadline, the last with the most people unconfirmed (two);
    their codes, most first."""
    units = [create_employer(district_code=DONG_ANH, name=f"Công ty Quá Hạn {n:02d}") for n in range(count)]
    for n, unit in enumerate(units):
        for _ in range(2 if n == count - 1 else 1):
            create_claim(
                "employer_overdue",
                employee=create_employee(employer_id=unit.id, district_code=DONG_ANH),
                review_due_on=date(2021, 10, 20),
            )
    return [units[-1].unit_code, *sorted(unit.unit_code for unit in units[:-1])]


def _ours(rows: list[list[object]]) -> list[list[object]]:
    return [row for row in rows if str(row[1]).startswith("Công ty Quá Hạn")]


def test_overdue_units_up_to_the_export_limit_are_downloaded_at_once(app, client, db_session, monkeypatch):
    codes = _overdue(3)
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    monkeypatch.setitem(app.config, "DISBURSE_EXPORT_DIRECT_ROWS", 3)  # as many units as the file has: at once
    response = client.get("/dashboard/backlog/overdue-units?province=01&format=csv")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))
    assert [line[0] for line in _ours(lines)] == codes
    assert _ours(lines)[0] == [codes[0], "Công ty Quá Hạn 02", DONG_ANH, "Huyện Đông Anh", "2"]


@pytest.mark.usefixtures("folders")  # the export folder in the test's own directory
def test_more_overdue_units_than_the_export_limit_are_written_by_the_export_job(app, client, db_session, monkeypatch):
    """As the dashboard's large tables: the link opens a page with a button; the button starts the export job
    (the worker's task run here), whose page then offers the file: the same rows as the file downloaded at once."""
    from disburse.extensions import db
    from disburse.jobs.models import Job
    from workers.exports import export_dashboard

    codes = _overdue(3)
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    url = "/dashboard/backlog/overdue-units?province=01&format=xlsx"
    at_once = openpyxl.load_workbook(io.BytesIO(client.get(url).data), read_only=True).active
    expected = [list(row) for row in at_once.iter_rows(values_only=True)]
    assert [row[0] for row in _ours(expected)] == codes

    monkeypatch.setitem(app.config, "DISBURSE_EXPORT_DIRECT_ROWS", 2)
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'method="post"' in html and "Chuẩn bị tệp XLSX" in html
    assert "<h1>Tải danh sách đơn vị quá hạn xác nhận</h1>" in html
    assert f"có {len(expected) - 1} dòng" in html  # every overdue unit of Hà Nội, a row each
    assert '<a href="/dashboard/backlog?province=01">Quay lại trang Tồn đọng</a>' in html  # not "back to the table"
    started = client.post(url)
    assert started.status_code == 302
    job_id = int(re.fullmatch(r"/jobs/(\d+)", started.headers["Location"]).group(1))
    job = db.session.get(Job, job_id)
    assert job.kind == "export.dashboard" and job.params["table"] == "overdue_units"
    assert job.params["province"] == "01" and job.params["scope"]["provinces"] == ["01"]
    assert re.fullmatch(r"don-vi-qua-han-01-[0-9]{8}-[0-9]{4}\.xlsx", job.params["filename"])

    export_dashboard(job_id)
    db.session.refresh(job)
    assert job.state == "succeeded", job.error
    assert job.result["file"] == f"job-{job_id}.xlsx" and job.result["total_rows"] == len(expected) - 1
    written = Path(app.config["DISBURSE_EXPORT_DIR"]) / job.result["file"]
    sheet = openpyxl.load_workbook(written, read_only=True).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == expected
    with client.get(f"/jobs/{job_id}/download") as download:
        assert download.status_code == 200 and download.data == written.read_bytes()
        assert job.params["filename"] in download.headers["Content-Disposition"]
