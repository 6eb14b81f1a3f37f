"""Plain ``create_<thing>(**overrides)`` factories. Each flushes, so ids exist; the test transaction rolls back."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy import select

from disburse.extensions import db
from disburse.programs.models import Program
from disburse.registry.models import Employee, Employer, SalaryFund

_counter = itertools.count(1)


def nq116() -> Program:
    program = db.session.scalar(select(Program).where(Program.code == "NQ116"))
    assert program is not None, "migration 0002 inserts the NQ116 program"
    return program


def create_employer(**overrides: Any) -> Employer:
    n = next(_counter)
    values: dict[str, Any] = {
        "unit_code": f"TA{n:07d}",
        "name": f"Công ty TNHH Thử nghiệm {n}",
        "tax_code": f"01{n:08d}",
        "sector": "enterprise",
        "district_code": "017",  # Đông Anh, Hà Nội
        "address": "Số 1 Đường Thử nghiệm",
        "ui_joined_on": date(2015, 1, 1),
    }
    values.update(overrides)
    employer = Employer(**values)
    db.session.add(employer)
    db.session.flush()
    return employer


def create_employee(**overrides: Any) -> Employee:
    n = next(_counter)
    values: dict[str, Any] = {
        "si_code": f"01{n:08d}",
        "national_id": f"001{n:09d}",
        "full_name": f"Nguyễn Văn Thử {n}",
        "date_of_birth": date(1990, 1, 1),
        "gender": "male",
        "phone": "0912345678",
        "district_code": "017",
        "ui_status": "participating",
        "unused_months": 24,
        "pension_decision": False,
    }
    values.update(overrides)
    if values["ui_status"] == "participating" and "employer_id" not in values and "employer" not in values:
        values["employer_id"] = create_employer().id
    employee = Employee(**values)
    db.session.add(employee)
    db.session.flush()
    return employee


def create_salary_fund(employer: Employer, month: date, fund_vnd: int, participants: int = 10) -> SalaryFund:
    row = SalaryFund(employer_id=employer.id, month=month, ui_salary_fund_vnd=fund_vnd, ui_participants=participants)
    db.session.add(row)
    db.session.flush()
    return row
