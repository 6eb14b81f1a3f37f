"""The monthly report to the ministry: by province, completion at the month's end (its last daily snapshot), the
people paid during the month, the month's contribution reductions; printable HTML and XLSX; a province's
supervisor gets their province only."""

from __future__ import annotations

import io
import re
from datetime import date

import openpyxl
import pytest

from disburse.reports.rollups import take_snapshots
from tests.dashboard.conftest import DONG_ANH, PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_payment, create_user, nq116


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


def test_the_report_as_xlsx_with_its_total(client, months):
    sign_in(client, create_user("supervisor", password=PASSWORD))
    response = client.get("/dashboard/monthly?month=10/2021&format=xlsx")
    assert (
        response.status_code == 200
        and 'filename="bao-cao-thang-2021-10.xlsx"' in response.headers["Content-Disposition"]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "Mã tỉnh / Province code"
    assert rows[1][:4] == ["01", "Thành phố Hà Nội", 11, 5] and rows[1][7:] == [1, 12, 1_000_000]
    assert rows[-1][1] == "Tổng cộng / Total" and rows[-1][2:4] == [13, 6] and rows[-1][9] == 1_000_000
    assert rows[-1][4:6] == [6, 46.1]  # paid in the month (every province knows it) and the total's percentage


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


def test_a_province_supervisor_sees_their_province_and_the_running_month_is_live(client, months):
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD), "en")
    html = client.get("/dashboard/monthly").get_data(as_text=True)  # December, still running
    rows = _rows(html)
    assert list(rows) == ["Thành phố Hà Nội"] and rows["Thành phố Hà Nội"][:3] == ["12", "6", "0"]
    assert "Monthly report 12/2021" in html


@pytest.mark.parametrize("query", ["month=13/2021", "month=2021-11", "format=pdf", "month=%00"])
def test_bad_months_are_a_400(client, months, query):
    sign_in(client, create_user("admin", password=PASSWORD))
    assert client.get(f"/dashboard/monthly?{query}").status_code == 400


@pytest.mark.parametrize(("locale", "words"), [("vi", "Báo cáo tháng"), ("en", "Monthly report")])
def test_a_month_typed_wrong_keeps_the_form_with_its_error_on_the_field(client, months, locale, words):
    sign_in(client, create_user("admin", password=PASSWORD), locale)
    answer = client.get("/dashboard/monthly?month=13/2021")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and f"<h1>{words}</h1>" in html
    assert 'id="month-error"' in html and 'name="month"' in html and 'value="13/2021"' in html
    assert 'id="monthly"' not in html  # no table for a month that is not one


def test_caseworkers_do_not_report_to_the_ministry(client, db_session):
    sign_in(client, create_user("caseworker", password=PASSWORD))
    assert client.get("/dashboard/monthly").status_code == 403
