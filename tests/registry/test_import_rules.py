"""Every validation rule: one bad row between good rows; the good rows land, the bad one is reported with its
spreadsheet row, column and reason, and the command exits 1. Plus --strict, duplicates and the exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from disburse.registry.importer import import_file
from tests.registry.test_import_support import (
    count,
    employee_row,
    employer_row,
    read_errors,
    run_cli,
    salary_row,
    seed_employer,
    stored_si_codes,
    write_csv,
)

EMPLOYEE_RULES = [
    ({"si_code": "790000001"}, "si_code", "si_format"),
    ({"si_code": "79000000AB"}, "si_code", "si_format"),
    ({"si_code": ""}, "si_code", "required"),
    ({"national_id": "12345"}, "national_id", "nid_format"),
    ({"national_id": "07901234567X"}, "national_id", "nid_format"),
    ({"national_id": ""}, "national_id", "required"),
    ({"full_name": "  "}, "full_name", "required"),
    ({"full_name": "Ngô " * 60}, "full_name", "too_long"),
    ({"date_of_birth": "1990-02-30"}, "date_of_birth", "date"),
    ({"date_of_birth": "01/31/1990"}, "date_of_birth", "date"),
    ({"date_of_birth": "31/01/90"}, "date_of_birth", "date"),
    ({"date_of_birth": "2099-01-01"}, "date_of_birth", "future"),
    ({"gender": "nam"}, "gender", "gender"),
    ({"phone": "gọi sau"}, "phone", "phone"),
    ({"province_code": "99"}, "province_code", "province_unknown"),
    ({"district_code": "999"}, "district_code", "district_unknown"),
    ({"district_code": "760"}, "district_code", "district_province"),  # Quận 1 is in Hồ Chí Minh City, not Hà Nội
    ({"address": "x" * 501}, "address", "too_long"),
    ({"employer_unit_code": "KHONGCO01"}, "employer_unit_code", "employer_unknown"),
    ({"employer_unit_code": ""}, "employer_unit_code", "employer_required"),
    ({"ui_status": "retired"}, "ui_status", "ui_status"),
    ({"ui_status": ""}, "ui_status", "required"),
    ({"ui_status": "stopped", "ui_stopped_on": ""}, "ui_stopped_on", "stop_required"),
    ({"ui_status": "stopped", "ui_stopped_on": "2021-13-01"}, "ui_stopped_on", "date"),
    ({"ui_status": "stopped", "ui_stopped_on": "2099-06-30"}, "ui_stopped_on", "future"),
    ({"unused_months": "601"}, "unused_months", "months"),
    ({"unused_months": "-1"}, "unused_months", "months"),
    ({"unused_months": "12.5"}, "unused_months", "months"),
    ({"unused_months": ""}, "unused_months", "required"),
    ({"pension_decision": "maybe"}, "pension_decision", "yes_no"),
    ({"bank_code": "NOBANK"}, "bank_code", "bank_unknown"),
    ({"bank_account": ""}, "bank_account", "bank_pair"),
    ({"bank_code": ""}, "bank_code", "bank_pair"),
    ({"bank_account": "12-34/56"}, "bank_account", "account_format"),
]


@pytest.mark.parametrize(
    ("overrides", "column", "code"), EMPLOYEE_RULES, ids=[f"{c}-{k}" for _, c, k in EMPLOYEE_RULES]
)
def test_employee_rule(
    app: Flask, db_session: Session, tmp_path: Path, overrides: dict[str, str], column: str, code: str
) -> None:
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit), employee_row(unit, **overrides), employee_row(unit)]
    path = write_csv(tmp_path / "employees.csv", "employees", rows)
    errors = tmp_path / "errors.csv"

    outcome = run_cli(app, "employees", str(path), "--errors", str(errors))

    assert outcome.exit_code == 1, outcome.output
    reported = read_errors(errors)
    assert {(e["row"], e["column"], e["error_code"]) for e in reported} == {("3", column, code)}
    assert reported[0]["value"] == rows[1][column]  # as the file has it
    assert reported[0]["message_vi"] and reported[0]["message_en"]
    good = [rows[0]["si_code"], rows[2]["si_code"]]
    assert stored_si_codes(good) == set(good)
    assert count("SELECT count(*) FROM employees WHERE national_id = :n", n=rows[1]["national_id"]) == 0


def test_si_code_message_counts_the_digits(db_session: Session, tmp_path: Path) -> None:
    unit = seed_employer(tmp_path)
    path = write_csv(tmp_path / "e.csv", "employees", [employee_row(unit, si_code="790000001")])
    error = import_file("employees", path).errors[0]
    assert error.message_vi == "Mã số BHXH phải gồm đúng 10 chữ số (đang có 9)."
    assert error.message_en == "The SI code must have exactly 10 digits (this one has 9)."


def test_a_row_can_break_several_rules_and_is_counted_once(db_session: Session, tmp_path: Path) -> None:
    unit = seed_employer(tmp_path)
    bad = employee_row(unit, si_code="1", national_id="2", gender="x", unused_months="999")
    path = write_csv(tmp_path / "e.csv", "employees", [bad, employee_row(unit)])
    result = import_file("employees", path)
    assert (result.rejected, result.inserted, result.error_count) == (1, 1, 4)
    assert {e.column for e in result.errors} == {"si_code", "national_id", "gender", "unused_months"}


def test_same_si_code_twice_rejects_every_such_row(db_session: Session, tmp_path: Path) -> None:
    unit = seed_employer(tmp_path)
    first = employee_row(unit)
    again = employee_row(unit, si_code=first["si_code"], full_name="Trần Thị Bình (sửa)")
    other = employee_row(unit)
    path = write_csv(tmp_path / "e.csv", "employees", [first, other, again])
    result = import_file("employees", path)
    assert (result.inserted, result.rejected) == (1, 2)
    assert {(e.row, e.error_code) for e in result.errors} == {(2, "duplicate"), (4, "duplicate")}
    assert stored_si_codes([first["si_code"], other["si_code"]]) == {other["si_code"]}


def test_same_national_id_under_two_si_codes_is_imported_as_possible_duplicates(
    db_session: Session, tmp_path: Path
) -> None:
    unit = seed_employer(tmp_path)
    earlier = employee_row(unit)
    assert import_file("employees", write_csv(tmp_path / "a.csv", "employees", [earlier])).inserted == 1

    same_in_file = [employee_row(unit, national_id="001234567"), employee_row(unit, national_id="001234567")]
    same_as_stored = employee_row(unit, national_id=earlier["national_id"])
    unrelated = employee_row(unit)
    path = write_csv(tmp_path / "b.csv", "employees", [*same_in_file, same_as_stored, unrelated])
    result = import_file("employees", path)

    assert (result.inserted, result.rejected) == (4, 0)
    assert result.possible_duplicates == 4  # three new rows and the stored one
    flagged = {si for (si,) in db_session.execute(text("SELECT si_code FROM employees WHERE possible_duplicate"))}
    expected = {r["si_code"] for r in [*same_in_file, same_as_stored, earlier]}
    assert expected <= flagged
    assert unrelated["si_code"] not in flagged


EMPLOYER_RULES = [
    ({"unit_code": ""}, "unit_code", "required"),
    ({"unit_code": "AB CD"}, "unit_code", "unit_format"),
    ({"unit_code": "AB/12"}, "unit_code", "unit_format"),  # /employers/<unit_code> could never open it
    ({"unit_code": ".."}, "unit_code", "unit_format"),
    ({"name": ""}, "name", "required"),
    ({"tax_code": "12345"}, "tax_code", "tax_format"),
    ({"sector": "bank"}, "sector", "sector"),
    ({"sector": ""}, "sector", "required"),
    ({"province_code": ""}, "province_code", "required"),
    ({"province_code": "99"}, "province_code", "province_unknown"),
    ({"district_code": ""}, "district_code", "required"),
    ({"district_code": "999"}, "district_code", "district_unknown"),
    ({"district_code": "760"}, "district_code", "district_province"),
    ({"ui_joined_on": "2021-02-29"}, "ui_joined_on", "date"),
    ({"ui_joined_on": "2099-01-01"}, "ui_joined_on", "future"),
    ({"email": "không có"}, "email", "email"),
    ({"phone": "abc"}, "phone", "phone"),
]


@pytest.mark.parametrize(
    ("overrides", "column", "code"), EMPLOYER_RULES, ids=[f"{c}-{k}" for _, c, k in EMPLOYER_RULES]
)
def test_employer_rule(
    app: Flask, db_session: Session, tmp_path: Path, overrides: dict[str, str], column: str, code: str
) -> None:
    rows = [employer_row(), employer_row(**overrides), employer_row()]
    path = write_csv(tmp_path / "employers.csv", "employers", rows)
    errors = tmp_path / "errors.csv"
    outcome = run_cli(app, "employers", str(path), "--errors", str(errors))
    assert outcome.exit_code == 1, outcome.output
    assert {(e["row"], e["column"], e["error_code"]) for e in read_errors(errors)} == {("3", column, code)}
    good = [rows[0]["unit_code"], rows[2]["unit_code"]]
    assert count("SELECT count(*) FROM employers WHERE unit_code = ANY(:u)", u=good) == 2


def test_same_unit_code_twice_rejects_both(db_session: Session, tmp_path: Path) -> None:
    row = employer_row()
    path = write_csv(tmp_path / "u.csv", "employers", [row, employer_row(unit_code=row["unit_code"]), employer_row()])
    result = import_file("employers", path)
    assert (result.inserted, result.rejected) == (1, 2)
    assert {e.error_code for e in result.errors} == {"duplicate"}


SALARY_RULES = [
    ({"unit_code": "KHONGCO01"}, "unit_code", "employer_unknown"),
    ({"unit_code": ""}, "unit_code", "required"),
    ({"month": "2021-13"}, "month", "month"),
    ({"month": "13/2021"}, "month", "month"),
    ({"month": "10/21"}, "month", "month"),
    ({"month": "2099-01"}, "month", "future"),
    ({"ui_salary_fund_vnd": "-5"}, "ui_salary_fund_vnd", "money"),
    ({"ui_salary_fund_vnd": "1,000,000"}, "ui_salary_fund_vnd", "money"),
    ({"ui_salary_fund_vnd": "1" + "0" * 15}, "ui_salary_fund_vnd", "money"),  # 10^15: the reductions would overflow
    ({"ui_salary_fund_vnd": ""}, "ui_salary_fund_vnd", "required"),
    ({"ui_participants": "mười"}, "ui_participants", "count"),
]


@pytest.mark.parametrize(("overrides", "column", "code"), SALARY_RULES, ids=[f"{c}-{k}" for _, c, k in SALARY_RULES])
def test_salary_fund_rule(
    app: Flask, db_session: Session, tmp_path: Path, overrides: dict[str, str], column: str, code: str
) -> None:
    unit = seed_employer(tmp_path)
    rows = [salary_row(unit, month="2021-10"), salary_row(unit, **{"month": "2021-11", **overrides})]
    rows.append(salary_row(unit, month="2021-12"))
    path = write_csv(tmp_path / "funds.csv", "salary_funds", rows)
    errors = tmp_path / "errors.csv"
    outcome = run_cli(app, "salary-funds", str(path), "--errors", str(errors))
    assert outcome.exit_code == 1, outcome.output
    assert {(e["row"], e["column"], e["error_code"]) for e in read_errors(errors)} == {("3", column, code)}
    stored = count(
        "SELECT count(*) FROM salary_funds f JOIN employers e ON e.id = f.employer_id WHERE e.unit_code = :u", u=unit
    )
    assert stored == 2


def test_same_unit_and_month_twice_rejects_both(db_session: Session, tmp_path: Path) -> None:
    unit = seed_employer(tmp_path)
    rows = [salary_row(unit), salary_row(unit, ui_salary_fund_vnd="1"), salary_row(unit, month="2021-11")]
    result = import_file("salary_funds", write_csv(tmp_path / "f.csv", "salary_funds", rows))
    assert (result.inserted, result.rejected) == (1, 2)


def test_salary_funds_upsert_by_unit_and_month(db_session: Session, tmp_path: Path) -> None:
    unit = seed_employer(tmp_path)
    rows = [salary_row(unit, month=f"2021-{m}") for m in ("10", "11", "12")]
    first = import_file("salary_funds", write_csv(tmp_path / "f1.csv", "salary_funds", rows))
    rows[1]["ui_salary_fund_vnd"] = "130000000"
    second = import_file("salary_funds", write_csv(tmp_path / "f2.csv", "salary_funds", rows))
    assert (first.inserted, second.inserted, second.updated, second.unchanged) == (3, 0, 1, 2)
    fund = count(
        "SELECT ui_salary_fund_vnd FROM salary_funds f JOIN employers e ON e.id = f.employer_id "
        "WHERE e.unit_code = :u AND f.month = DATE '2021-11-01'",
        u=unit,
    )
    assert fund == 130_000_000


def test_strict_lands_nothing(app: Flask, db_session: Session, tmp_path: Path) -> None:
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit), employee_row(unit, unused_months="abc"), employee_row(unit)]
    path = write_csv(tmp_path / "e.csv", "employees", rows)
    errors = tmp_path / "errors.csv"
    outcome = run_cli(app, "employees", str(path), "--strict", "--errors", str(errors))
    assert outcome.exit_code == 1
    assert "--strict" in outcome.output
    assert stored_si_codes([r["si_code"] for r in rows]) == set()
    assert [e["row"] for e in read_errors(errors)] == ["3"]


def test_exit_code_0_when_every_row_is_imported(app: Flask, db_session: Session, tmp_path: Path) -> None:
    rows = [employer_row(), employer_row()]
    errors = tmp_path / "errors.csv"
    outcome = run_cli(app, "employers", str(write_csv(tmp_path / "u.csv", "employers", rows)), "--errors", str(errors))
    assert outcome.exit_code == 0, outcome.output
    assert read_errors(errors) == []  # the errors file exists with its header, so scripts can rely on it
    # Not a terminal: one summary line, Vietnamese then English.
    lines = outcome.output.strip().splitlines()
    assert len(lines) == 1
    assert "thêm 2" in lines[0] and "2 inserted" in lines[0]


def test_exit_code_2_for_an_unusable_file(app: Flask, db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("si_code,full_name\n0100000001,Nguyễn Văn A\n", encoding="utf-8")
    before = count("SELECT count(*) FROM employees")
    outcome = run_cli(app, "employees", str(path))
    assert outcome.exit_code == 2
    assert "Thiếu cột" in outcome.output and "Missing columns" in outcome.output
    assert count("SELECT count(*) FROM employees") == before
