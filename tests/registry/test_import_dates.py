"""Dates in registry files as people write them here (dd/mm/yyyy, a one-digit day or month too) or as ISO, and date
cells of a workbook, in every date column of every kind; a date that is ambiguous (a two-digit year), month first
(05/31/1990) or not in the calendar is refused with the reason, in both languages. The same on every path of the
check (small file, big file raw or normalised) and on a re-import (the fast path knows a dd/mm/yyyy file)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from disburse.extensions import db
from disburse.registry import importer
from disburse.registry.imports import check as imports_check
from disburse.registry.imports.employees import EMPLOYEE_COLUMNS
from tests.registry.test_import_support import (
    employee_row,
    employer_row,
    read_errors,
    run_cli,
    salary_row,
    write_csv,
)

#: How the check runs: the BIG_FILE threshold and the DIRTY_SHARE.
WAYS = {"small": (10**9, 0.1), "big, raw cells": (1, 1.0), "big, normalised": (1, -1.0)}


def check_as(monkeypatch: pytest.MonkeyPatch, way: str) -> None:
    """Make the import's check run the way ``way`` names in :data:`WAYS`, for this test only."""
    threshold, share = WAYS[way]
    monkeypatch.setattr(importer, "BIG_FILE", threshold)
    monkeypatch.setattr(imports_check, "DIRTY_SHARE", share)


def imported_unit(tmp_path: Path) -> dict[str, str]:
    """One unit imported from its own file, every row taken: the employer the employees' rows name."""
    unit = employer_row()
    assert importer.import_file("employers", write_csv(tmp_path / "u.csv", "employers", [unit])).rejected == 0
    return unit


def _stored(sql: str, **params: object) -> list[tuple[object, ...]]:
    return [tuple(r) for r in db.session.execute(text(sql), params)]


@pytest.mark.parametrize("way", list(WAYS))
def test_every_date_column_takes_dd_mm_yyyy_and_iso(
    db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    check_as(monkeypatch, way)
    units = [employer_row(ui_joined_on=joined) for joined in ("15/01/2015", "5/1/2015", "2015-01-05", " 05/01/2015 ")]
    assert importer.import_file("employers", write_csv(tmp_path / "u.csv", "employers", units)).rejected == 0
    unit = units[0]["unit_code"]
    written = ["31/05/1990", "1/5/1990", "1990-05-31", " 31/5/1990 ", "01/12/1985"]
    people = [employee_row(unit, date_of_birth=born) for born in written]
    people.append(employee_row(unit, ui_status="stopped", ui_stopped_on="30/6/2021"))
    assert importer.import_file("employees", write_csv(tmp_path / "e.csv", "employees", people)).rejected == 0
    funds = [salary_row(unit, month=month) for month in ("10/2021", "9/2021", "2021-08")]
    assert importer.import_file("salary_funds", write_csv(tmp_path / "f.csv", "salary_funds", funds)).rejected == 0

    codes = [p["si_code"] for p in people]
    stored = _stored(
        "SELECT date_of_birth, ui_stopped_on FROM employees WHERE si_code = ANY(:c) ORDER BY si_code", c=codes
    )
    expected = [date(1990, 5, 31), date(1990, 5, 1), date(1990, 5, 31), date(1990, 5, 31), date(1985, 12, 1)]
    assert [r[0] for r in stored[:5]] == expected and stored[5][1] == date(2021, 6, 30)
    joined = _stored(
        "SELECT ui_joined_on FROM employers WHERE unit_code = ANY(:c) ORDER BY unit_code",
        c=[u["unit_code"] for u in units],
    )
    assert [r[0] for r in joined] == [date(2015, 1, 15), *[date(2015, 1, 5)] * 3]
    months = _stored(
        "SELECT f.month FROM salary_funds f JOIN employers e ON e.id = f.employer_id WHERE e.unit_code = :u "
        "ORDER BY f.month",
        u=unit,
    )
    assert [r[0] for r in months] == [date(2021, 8, 1), date(2021, 9, 1), date(2021, 10, 1)]


REFUSED = [
    ("05/31/1990", "ghi tháng trước ngày", "puts the month first"),
    ("31/05/90", "năm hai chữ số", "two-digit year"),
    ("31/02/1990", "không có trong lịch", "not in the calendar"),
    ("29/02/2021", "không có trong lịch", "not in the calendar"),
    ("1990/05/31", "dd/mm/yyyy", "dd/mm/yyyy"),
    ("31.05.1990", "dd/mm/yyyy", "dd/mm/yyyy"),
    ("31/05/1899", "từ 1900 đến 2100", "from 1900 to 2100"),
    ("3１/05/1990", "dd/mm/yyyy", "dd/mm/yyyy"),  # a full-width digit is no digit here
]


@pytest.mark.parametrize("way", list(WAYS))
def test_a_date_that_is_ambiguous_month_first_or_not_in_the_calendar_is_refused_with_the_reason(
    app: Flask, db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    check_as(monkeypatch, way)
    unit = imported_unit(tmp_path)
    people = [employee_row(unit["unit_code"], date_of_birth=value) for value, _, _ in REFUSED]
    errors = tmp_path / "errors.csv"

    outcome = run_cli(
        app, "employees", str(write_csv(tmp_path / "e.csv", "employees", people)), "--errors", str(errors)
    )

    assert outcome.exit_code == 1, outcome.output
    reported = {e["value"]: e for e in read_errors(errors)}
    assert set(reported) == {value for value, _, _ in REFUSED}
    for value, vi, en in REFUSED:
        error = reported[value]
        assert (error["column"], error["error_code"]) == ("date_of_birth", "date")
        assert error["message_vi"].startswith("Ngày sinh: ") and vi in error["message_vi"], error
        assert error["message_en"].startswith("date_of_birth: ") and en in error["message_en"], error


def test_a_workbook_with_date_cells_and_dd_mm_yyyy_texts(db_session: Session, tmp_path: Path) -> None:
    unit = imported_unit(tmp_path)
    people = [employee_row(unit["unit_code"]) for _ in range(3)]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(EMPLOYEE_COLUMNS))
    for person, born in zip(people, [datetime(1990, 5, 31), date(1985, 12, 1), "1/5/1990"], strict=True):
        sheet.append([born if column == "date_of_birth" else person[column] for column in EMPLOYEE_COLUMNS])
    workbook.save(tmp_path / "e.xlsx")

    result = importer.import_file("employees", tmp_path / "e.xlsx")

    assert (result.inserted, result.rejected) == (3, 0), result.errors
    stored = _stored(
        "SELECT date_of_birth FROM employees WHERE si_code = ANY(:c) ORDER BY si_code", c=[p["si_code"] for p in people]
    )
    assert [r[0] for r in stored] == [date(1990, 5, 31), date(1985, 12, 1), date(1990, 5, 1)]


def test_a_dd_mm_yyyy_file_imported_again_takes_the_fast_path(
    db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BIG_FILE", 1)
    unit = imported_unit(tmp_path)
    people = [employee_row(unit["unit_code"], date_of_birth="31/05/1990") for _ in range(3)]
    people.append(employee_row(unit["unit_code"], ui_status="stopped", ui_stopped_on="30/06/2021"))
    path = write_csv(tmp_path / "e.csv", "employees", people)
    assert importer.import_file("employees", path).inserted == 4

    again = importer.import_file("employees", path)

    assert (again.unchanged, again.fast_unchanged, again.rejected) == (4, 4, 0)


def test_a_workbooks_month_typed_as_excel_keeps_it_a_date_cell_on_the_first_is_that_month(
    db_session: Session, tmp_path: Path
) -> None:
    """Excel turns "10/2021" typed in a salary fund's month into the date cell 01/10/2021: every such row was refused
    as "Tháng «2021-10-01» không hợp lệ". A date cell on the first of a month is that month; another day stays a date,
    refused as a month."""
    from disburse.registry.imports.salary_funds import SALARY_FUND_COLUMNS

    unit = imported_unit(tmp_path)["unit_code"]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(SALARY_FUND_COLUMNS))
    for month in (datetime(2021, 9, 1), date(2021, 10, 1), "11/2021", date(2021, 12, 15)):
        row = salary_row(unit, month="")
        sheet.append([month if column == "month" else row[column] for column in SALARY_FUND_COLUMNS])
    workbook.save(tmp_path / "f.xlsx")

    result = importer.import_file("salary_funds", tmp_path / "f.xlsx")

    assert (result.inserted, result.rejected) == (3, 1), result.errors
    [error] = result.errors
    assert (error.row, error.column, error.value) == (5, "month", "2021-12-15"), error
    stored = _stored(
        "SELECT f.month FROM salary_funds f JOIN employers e ON e.id = f.employer_id WHERE e.unit_code = :u "
        "ORDER BY f.month",
        u=unit,
    )
    assert [r[0] for r in stored] == [date(2021, 9, 1), date(2021, 10, 1), date(2021, 11, 1)]
