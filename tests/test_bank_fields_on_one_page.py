"""A page of many bank fields (Form 02 in the browser, up to 200 people) lists the banks once and reads them once: it
wrote the 40-odd banks' suggestions for every row (about a megabyte for 200 people, on an employer's phone) and read
the banks table once per row sent."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from disburse.extensions import db
from disburse.registry.models import Employee
from tests.factories import create_claim, create_employee, create_employer, create_user


@pytest.fixture
def unit(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-25")  # inside the employers' review window
    return create_employer(name="Công ty TNHH Nhiều Người")


def _signed_in_employer(client, unit):
    user = create_user("employer", employer_unit=unit.unit_code)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    db.session.commit()
    return client


def test_a_page_of_many_bank_fields_lists_the_banks_once_and_reads_them_once(client, unit):
    people = [create_claim("listed", employee=create_employee(employer_id=unit.id)) for _ in range(6)]
    client = _signed_in_employer(client, unit)
    page = client.get(f"/employers/{unit.unit_code}/form-02").get_data(as_text=True)
    lists = re.findall(r'<datalist id="([^"]+)">', page)
    assert len(lists) == 1 and page.count('<option value="VCB">') == 1
    boxes = re.findall(r'<input[^>]*id="rows-\d+-bank_code"[^>]*>', page)
    assert len(boxes) == len(people) and all(f'list="{lists[0]}"' in box for box in boxes)

    data = {}
    for n, claim in enumerate(people):
        data |= {f"rows-{n}-si_code": db.session.get(Employee, claim.employee_id).si_code, f"rows-{n}-choice": "bank"}
        data |= {f"rows-{n}-bank_code": "Vietcombank", f"rows-{n}-bank_account": f"00110012345{n}"}
    reads: list[str] = []

    def count(conn, cursor, statement, *args):
        if re.search(r"\bFROM banks\b", statement):
            reads.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.post(f"/employers/{unit.unit_code}/form-02/rows", data=data)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 302
    assert all(db.session.get(type(c), c.id).bank_code == "VCB" for c in people)  # each row's name read as VCB
    assert len([s for s in reads if "banks.bin" in s]) == 2  # by the fields once, not once a row; by the service once
