"""The backlog's overdue units count a unit's people as the unit's own page does: those a late Form 02 still confirms
(docs/rules.md, "A late Form 02 is taken"). Before, the backlog also counted the people in review for another reason
as well and those being verified, and a supervisor read "186" for a unit whose page said "184 người đang chờ đơn vị
xác nhận"."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from tests.dashboard.conftest import DONG_ANH, PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_user

LATE = "not_confirmed_by_employer"
DUE = date(2021, 10, 20)


def _person(unit, state, **values):
    employee = create_employee(employer_id=unit.id, district_code=DONG_ANH)
    return create_claim(state, employee=employee, review_due_on=DUE, **values)


def _unit_page_waiting(client, unit_code: str) -> int | None:
    text = re.sub(r"\s+", " ", client.get(f"/employers/{unit_code}").get_data(as_text=True))
    found = re.search(r"([0-9.]+) người đang chờ đơn vị xác nhận", text)
    return int(found[1].replace(".", "")) if found else None


def _backlog_row(client, unit_code: str) -> int | None:
    html = client.get("/dashboard/backlog").get_data(as_text=True)
    if 'id="overdue-employers"' not in html:
        return None
    table = html.split('id="overdue-employers"', 1)[1].split("</table>", 1)[0]
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        if f"<td>{unit_code}</td>" in row:
            return int(re.findall(r'<td class="num">([0-9.]+)</td>', row)[0].replace(".", ""))
    return None


def _file_row(client, unit_code: str) -> int | None:
    response = client.get("/dashboard/backlog/overdue-units?format=csv")
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))
    assert lines[0][-1] == "Số người đang chờ đơn vị xác nhận / People waiting for the unit to confirm them"
    return next((int(line[-1]) for line in lines[1:] if line[0] == unit_code), None)


@pytest.mark.parametrize(
    ("today", "waiting"),
    [
        # While adjustments are taken: the two still overdue and the one in review only because the unit was late.
        ("2021-10-25", 3),
        # After the adjustment deadline (10/11/2021) a late Form 02 no longer confirms anyone in review.
        ("2021-11-15", 2),
    ],
)
def test_the_backlog_and_the_units_page_count_the_same_people(app, client, db_session, monkeypatch, today, waiting):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", today)
    unit = create_employer(district_code=DONG_ANH, name="Công ty Chưa Xác Nhận")
    for _ in range(2):
        _person(unit, "employer_overdue")
    _person(unit, "needs_review", reasons=sorted([LATE, "bank_details_missing"]))  # a late Form 02 confirms them
    for _ in range(2):  # in review for a missing bank account, unconfirmed, and for a possible duplicate too
        _person(unit, "needs_review", reasons=sorted([LATE, "bank_details_missing", "possible_duplicate"]))
    _person(unit, "verifying")  # being checked right now
    _person(unit, "approved")  # decided without the unit's Form 02
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))

    assert _unit_page_waiting(client, unit.unit_code) == waiting
    assert _backlog_row(client, unit.unit_code) == waiting
    assert _file_row(client, unit.unit_code) == waiting


def test_a_unit_whose_people_are_all_decided_by_the_office_is_not_overdue(app, client, db_session, monkeypatch):
    """Everyone left unconfirmed is in review for another reason as well: the unit's page says the office checks them
    (no one waits for its Form 02), and the backlog does not list the unit as one to chase."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-25")
    unit = create_employer(district_code=DONG_ANH, name="Công ty Đã Chuyển Xác Minh")
    _person(unit, "needs_review", reasons=sorted([LATE, "zero_months"]))
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    page = re.sub(r"\s+", " ", client.get(f"/employers/{unit.unit_code}").get_data(as_text=True))
    assert "1 người đơn vị chưa xác nhận đang được cơ quan BHXH xem xét" in page
    assert _unit_page_waiting(client, unit.unit_code) is None
    assert _backlog_row(client, unit.unit_code) is None
    assert _file_row(client, unit.unit_code) is None
