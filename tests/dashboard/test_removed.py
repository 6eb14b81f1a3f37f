"""People the employer took off its list ("Không có tại đơn vị", ``removed``) are counted where a supervisor looks:
the summary, the tables and their files, beside the rejected and the declined, so that the listed add up: eligible,
rejected, declined and not at the unit make every claim."""

from __future__ import annotations

import csv
import io
import re

import openpyxl

from disburse.dashboard.exports import FIGURES_HEADER
from tests.dashboard.conftest import DONG_ANH, PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_user

REMOVED = "Không có tại đơn vị / Not employed at unit"


def _figure(html: str, name: str) -> int:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found, name
    return int(found.group(1).replace(".", ""))


def test_the_people_not_at_the_unit_are_counted_and_the_listed_add_up(client, country):
    for _ in range(3):
        create_claim("removed", employee=create_employee(employer_id=country["slow"].id, district_code=DONG_ANH))
    sign_in(client, create_user("supervisor", province="01", password=PASSWORD))
    html = client.get(f"/dashboard/?district={DONG_ANH}").get_data(as_text=True)
    summary = html.split('id="summary"', 1)[1].split("</dl>", 1)[0]
    assert "<dt>Không có tại đơn vị</dt>" in summary and _figure(summary, "removed") == 3
    # Đông Anh lists 11 people (6 at near, 5 at slow) and the 3 taken off slow's list: all of them are somewhere.
    counted = sum(_figure(html, name) for name in ("eligible", "rejected", "declined", "removed"))
    assert counted == 11 + 3
    # The table of units: the column after the declined.
    head = html.split('id="dashboard-table"', 1)[1].split("</thead>", 1)[0]
    labels = [re.sub(r"<[^>]+>|[▲▼]", "", th).strip() for th in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]
    assert labels[labels.index("Không nhận hỗ trợ") + 1] == "Không có tại đơn vị"
    body = html.split('id="dashboard-table"', 1)[1].split("<tbody>", 1)[1]
    rows = {
        cells[1]: cells
        for cells in (
            [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.split("</tbody>", 1)[0], re.S)
        )
    }
    assert rows["Công ty Chậm"][labels.index("Không có tại đơn vị")] == "3"
    # The province's table of districts, and its files.
    province = client.get("/dashboard/?province=01").get_data(as_text=True)
    assert "Không có tại đơn vị" in province.split('id="dashboard-table"', 1)[1]
    lines = list(csv.reader(io.StringIO(client.get("/dashboard/export?format=csv").get_data(as_text=True)[1:])))
    column = lines[0].index(REMOVED)
    assert lines[0][column - 1] == "Không nhận hỗ trợ / Declined" and REMOVED in FIGURES_HEADER
    assert {line[0]: line[column] for line in lines[1:]} == {"016": "0", DONG_ANH: "3"}
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/dashboard/export?format=xlsx").data), read_only=True).active
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0][column] == REMOVED and {row[0]: row[column] for row in cells[1:]} == {"016": 0, DONG_ANH: 3}
