"""Helpers for the import tests: files written the way users' spreadsheets write them, and CLI runs."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import text

from disburse.extensions import db
from disburse.registry.imports.employees import EMPLOYEE_COLUMNS
from disburse.registry.imports.employers import EMPLOYER_COLUMNS
from disburse.registry.imports.salary_funds import SALARY_FUND_COLUMNS

_serial = itertools.count(1)
COLUMNS = {"employers": EMPLOYER_COLUMNS, "employees": EMPLOYEE_COLUMNS, "salary_funds": SALARY_FUND_COLUMNS}


def unit_code() -> str:
    return f"IM{next(_serial):07d}"


def si_code() -> str:
    return f"79{next(_serial):08d}"


def employer_row(**overrides: str) -> dict[str, str]:
    n = next(_serial)
    row = {
        "unit_code": f"IM{n:07d}",
        "name": f"Công ty TNHH Nhập liệu {n}",
        "tax_code": f"01{n:08d}",
        "sector": "enterprise",
        "province_code": "01",
        "district_code": "017",
        "address": "Số 5, đường Cao Lỗ, Đông Anh",
        "ui_joined_on": "2015-03-01",
        "email": f"nhansu{n}@example.vn",
        "phone": "024 3883 1234",
    }
    row.update(overrides)
    return row


def employee_row(unit: str, **overrides: str) -> dict[str, str]:
    n = next(_serial)
    row = {
        "si_code": f"79{n:08d}",
        "national_id": f"0790{n:08d}",
        "full_name": f"Trần Thị Bình {n}",
        "date_of_birth": "1990-01-31",
        "gender": "female",
        "phone": "0912345678",
        "province_code": "01",
        "district_code": "017",
        "address": "Thôn Cổ Loa, Đông Anh, Hà Nội",
        "employer_unit_code": unit,
        "ui_status": "participating",
        "ui_stopped_on": "",
        "unused_months": "24",
        "pension_decision": "no",
        "bank_code": "VCB",
        "bank_account": f"0011{n:09d}",
    }
    row.update(overrides)
    return row


def salary_row(unit: str, **overrides: str) -> dict[str, str]:
    row = {"unit_code": unit, "month": "2021-10", "ui_salary_fund_vnd": "125000000", "ui_participants": "25"}
    row.update(overrides)
    return row


def write_csv(
    path: Path,
    kind: str,
    rows: Sequence[dict[str, Any]],
    *,
    columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> Path:
    columns = list(columns or COLUMNS[kind])
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


def read_errors(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def run_cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["import", *args], catch_exceptions=False)


def count(sql: str, **params: Any) -> int:
    return int(db.session.execute(text(sql), params).scalar_one())


def stored_si_codes(codes: Sequence[str]) -> set[str]:
    rows = db.session.execute(text("SELECT si_code FROM employees WHERE si_code = ANY(:c)"), {"c": list(codes)})
    return {r[0] for r in rows}


def seed_employer(tmp_path: Path, **overrides: str) -> str:
    """One employer imported through the importer itself; returns its unit code."""
    from disburse.registry.importer import import_file

    row = employer_row(**overrides)
    result = import_file("employers", write_csv(tmp_path / f"seed-{row['unit_code']}.csv", "employers", [row]))
    assert result.inserted == 1, result.errors
    return row["unit_code"]
