"""Workbooks with formulas: a cell holding a formula that was never calculated (a file a program wrote and nobody
opened and saved in Excel: openpyxl writes formulas so) has no value in the file. It is refused with its own message
(row and column) by the registry importer and by Form 02, never read as blank; a formula with a calculated (cached)
value is read as that value, as before."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text

from disburse.claims.forms_cli import forms_cli
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.registry.importer import UnusableFile, import_file
from disburse.registry.imports.employees import EMPLOYEE_COLUMNS
from disburse.registry.models import Employee
from disburse.spreadsheets import UNCALCULATED_FORMULA, UncalculatedFormula, open_workbook, read_table
from tests.factories import create_claim, create_employee, create_employer, create_user
from tests.registry.test_import_support import employee_row, read_errors, seed_employer, stored_si_codes

SHEET = "xl/worksheets/sheet1.xml"
VI, EN = UNCALCULATED_FORMULA


def _save(path: Path, rows: list[list[object]]) -> Path:
    """A workbook as openpyxl writes it: a text starting with '=' is a formula, written with no value."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def _calculated(path: Path, values: dict[str, tuple[str | None, str]]) -> Path:
    """Give formula cells the value a spreadsheet program stores when it calculates them: {cell: (type, value)},
    the type as the file says it (None: a number, "str": a text, "b": a boolean)."""
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    xml = parts[SHEET].decode()
    for ref, (kind, value) in values.items():
        pattern = re.compile(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/></c>')
        assert pattern.search(xml), f"{ref} is not a formula cell without a value"
        typed = f' t="{kind}"' if kind else ""
        xml = pattern.sub(lambda m, r=ref, t=typed, v=value: f'<c r="{r}"{m[1]}{t}><f>{m[2]}</f><v>{v}</v></c>', xml)
    parts[SHEET] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


# ------------------------------------------------------------------------------------------------- the reader


def test_the_reader_tells_a_formula_never_calculated_from_a_blank_and_reads_calculated_ones(tmp_path):
    path = _save(
        tmp_path / "f.xlsx",
        [
            ["si_code", "bank_code", "bank_account", "note"],
            ["0100000001", "VCB", '="0071"&"000123456"', None],
            ["=12*2", '="VC"&"B"', "=1=1", '=""'],
            ["0100000003", None, None, "=A2"],
        ],
    )
    assert read_table(path)[1][0][1]["bank_account"] == UncalculatedFormula('"0071"&"000123456"')
    # Excel or LibreOffice saved row 3: every formula has its value, '=""' an empty text (a blank, as before).
    _calculated(path, {"A3": (None, "24"), "B3": ("str", "VCB"), "C3": ("b", "1"), "D3": ("str", "")})

    header, rows, others = read_table(path)

    assert header == ["si_code", "bank_code", "bank_account", "note"] and others == []
    assert rows == [
        (2, {"si_code": "0100000001", "bank_code": "VCB", "bank_account": UncalculatedFormula('"0071"&"000123456"')}),
        (3, {"si_code": 24, "bank_code": "VCB", "bank_account": True}),  # the empty text: a trailing blank
        (4, {"si_code": "0100000003", "bank_code": None, "bank_account": None, "note": UncalculatedFormula("A2")}),
    ]
    assert str(rows[2][1]["note"]) == "=A2"
    with open_workbook(path) as workbook:
        assert [n for n, _ in workbook.rows()] == [1, 2, 3, 4]
        assert workbook.uncalculated_rows == {2, 4}


def test_a_header_cell_holding_a_formula_never_calculated_refuses_the_file(tmp_path):
    path = _save(tmp_path / "h.xlsx", [["si_code", '="bank_"&"code"', "bank_account"], ["0100000001", "VCB", "1"]])
    with pytest.raises(UnusableFile) as refused:
        read_table(path)
    assert refused.value.message_vi == f"Dòng tiêu đề, cột B: {VI}"
    assert refused.value.message_en == f"The header row, column B: {EN}"
    _calculated(path, {"B1": ("str", "bank_code")})
    assert read_table(path)[0] == ["si_code", "bank_code", "bank_account"]


# --------------------------------------------------------------------------------------------- registry import


def _employees(tmp_path: Path, name: str, rows: list[dict[str, object]], *, extra: str | None = None) -> Path:
    columns = [*EMPLOYEE_COLUMNS, *([extra] if extra else [])]
    return _save(tmp_path / name, [columns, *[[row.get(c) or None for c in columns] for row in rows]])


def test_the_registry_import_refuses_a_formula_never_calculated_cell_by_cell(db_session, tmp_path):
    unit = seed_employer(tmp_path)
    rows: list[dict[str, object]] = [employee_row(unit) for _ in range(5)]
    rows[1]["full_name"] = '="Trần Thị "&"Bình"'  # row 3: a formula in a column the import reads
    rows[2]["si_code"] = '="79"&"00000001"'  # row 4: two of them; the row's other cells are not checked
    rows[2]["phone"] = "=0912345678"
    rows[3]["unused_months"] = "=12*2"  # row 5: calculated (its value put in below): imported
    rows[4]["ghi_chu"] = "=A2"  # row 6: in a column the import does not read: ignored, as the column is
    path = _employees(tmp_path, "employees.xlsx", rows, extra="ghi_chu")
    _calculated(path, {"M5": (None, "24")})
    errors = tmp_path / "errors.csv"

    result = import_file("employees", path, errors_out=errors)

    assert (result.reader, result.total_rows, result.inserted, result.rejected) == ("xlsx", 5, 3, 2)
    assert [(e.row, e.column, e.value, e.error_code) for e in result.errors] == [
        (3, "full_name", '="Trần Thị "&"Bình"', "uncalculated_formula"),
        (4, "si_code", '="79"&"00000001"', "uncalculated_formula"),
        (4, "phone", "=0912345678", "uncalculated_formula"),
    ]
    assert {(e.message_vi, e.message_en) for e in result.errors} == {(VI, EN)}
    # The errors file echoes the formula as text (it must not run when the file is opened).
    assert [(line["row"], line["column"], line["value"]) for line in read_errors(errors)] == [
        ("3", "full_name", '\'="Trần Thị "&"Bình"'),
        ("4", "si_code", '\'="79"&"00000001"'),
        ("4", "phone", "'=0912345678"),
    ]
    assert stored_si_codes([str(r["si_code"]) for r in rows]) == {rows[i]["si_code"] for i in (0, 3, 4)}
    months = db_session.execute(
        text("SELECT unused_months FROM employees WHERE si_code = :s"), {"s": rows[3]["si_code"]}
    )
    assert months.scalar_one() == 24


def test_a_workbook_whose_every_row_holds_one_is_refused_row_by_row_not_as_empty(db_session, tmp_path):
    """A script's file: a formula on every row. Each row says why, not "the file has no data rows"."""
    unit = seed_employer(tmp_path)
    rows: list[dict[str, object]] = [employee_row(unit, bank_account=f'="0011"&{n}') for n in range(3)]
    path = _employees(tmp_path, "script.xlsx", rows)

    result = import_file("employees", path, strict=True)

    assert (result.total_rows, result.inserted, result.rejected, result.applied) == (3, 0, 3, False)
    assert [(e.row, e.column, e.error_code) for e in result.errors] == [
        (n, "bank_account", "uncalculated_formula") for n in (2, 3, 4)
    ]
    assert stored_si_codes([str(r["si_code"]) for r in rows]) == set()


def test_a_registry_header_cell_holding_one_refuses_the_file(db_session, tmp_path):
    unit = seed_employer(tmp_path)
    row = employee_row(unit)
    columns = ['=LOWER("SI_CODE")', *EMPLOYEE_COLUMNS[1:]]
    path = _save(tmp_path / "header.xlsx", [columns, [row[c] for c in EMPLOYEE_COLUMNS]])
    with pytest.raises(UnusableFile) as refused:
        import_file("employees", path)
    assert refused.value.message_en == f"The header row, column A: {EN}"


# ---------------------------------------------------------------------------------------------------- Form 02


@pytest.fixture
def unit(db_session):
    employer = create_employer(name="Công ty TNHH Công Thức")
    claims = [create_claim("listed", employee=create_employee(employer_id=employer.id)) for _ in range(4)]
    return employer, claims


def _si(claim: Claim) -> str:
    return db.session.get(Employee, claim.employee_id).si_code


def _form_01(app, employer, path: Path) -> tuple[openpyxl.Workbook, list[str]]:
    listed = app.test_cli_runner().invoke(forms_cli, ["list", employer.unit_code, "--out", str(path)])
    assert listed.exit_code == 0, listed.output
    workbook = openpyxl.load_workbook(path)
    header = [str(cell.value) for cell in workbook.active[1]]
    return workbook, [re.sub(r".*\((\w+)\)$", r"\1", name) for name in header]


def test_form_02_refuses_a_formula_never_calculated_in_a_cell_it_reads(app, db_session, unit, tmp_path):
    employer, claims = unit
    path = tmp_path / "mau02.xlsx"
    workbook, names = _form_01(app, employer, path)
    sheet = workbook.active
    si, bank, account = (names.index(n) + 1 for n in ("si_code", "bank_code", "bank_account"))
    si_codes = [sheet.cell(row=r, column=si).value for r in range(2, 6)]
    for r in range(2, 6):
        sheet.cell(row=r, column=bank, value="VCB")
    sheet.cell(row=2, column=account, value='="0071"&"000123456"')  # never calculated: refused
    sheet.cell(row=3, column=account, value='="0071"&"000654321"')  # calculated below: confirmed
    sheet.cell(row=4, column=account, value="0071000111222")
    sheet.cell(row=4, column=names.index("full_name") + 1, value="=UPPER(C4)")  # a column Form 02 does not read
    sheet.cell(row=5, column=si, value=f'="{si_codes[3]}"')  # never calculated: refused, for that reason alone
    sheet.cell(row=5, column=account, value="0071000333444")
    workbook.save(path)
    account_ref = f"{openpyxl.utils.get_column_letter(account)}3"
    _calculated(path, {account_ref: ("str", "0071000654321")})
    errors = tmp_path / "loi.csv"

    returned = app.test_cli_runner().invoke(
        forms_cli, ["confirm", employer.unit_code, str(path), "--errors", str(errors)]
    )

    assert returned.exit_code == 1, returned.output
    assert f"{VI} / {EN}" in returned.output
    by_si = {_si(c): db_session.get(Claim, c.id) for c in claims}
    assert [by_si[s].state for s in si_codes] == ["listed", "employer_confirmed", "employer_confirmed", "listed"]
    assert by_si[si_codes[1]].bank_account == "0071000654321"
    with errors.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert [(line["row"], line["column"], line["value"], line["error_code"]) for line in lines] == [
        ("2", "bank_account", '\'="0071"&"000123456"', "uncalculated_formula"),
        ("5", "si_code", f'\'="{si_codes[3]}"', "uncalculated_formula"),
    ]
    assert {(line["message_vi"], line["message_en"]) for line in lines} == {(VI, EN)}


def test_form_02_upload_page_says_why_on_the_row(app, client, db_session, unit, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-25")
    employer, _ = unit
    path = tmp_path / "mau02.xlsx"
    workbook, names = _form_01(app, employer, path)
    workbook.active.cell(row=2, column=names.index("bank_code") + 1, value="VCB")
    workbook.active.cell(row=2, column=names.index("bank_account") + 1, value="=A2*1000")
    workbook.save(path)
    user = create_user("employer", employer_unit=employer.unit_code)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    user.locale = "vi"
    db.session.commit()

    response = client.post(
        f"/employers/{employer.unit_code}/form-02/upload",
        data={"file": (io.BytesIO(path.read_bytes()), "mau02.xlsx")},
        content_type="multipart/form-data",
    )

    page = re.sub(r"\s+", " ", response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Ô này chứa công thức chưa được tính" in page and "=A2*1000" in page
    assert "Dòng bị từ chối: 1" in page


def test_a_text_formula_with_no_value_element_is_never_calculated_and_one_with_an_empty_value_is_blank(tmp_path):
    path = _save(tmp_path / "t.xlsx", [["si_code", "note"], ["0100000001", '=""'], ["0100000002", '=""']])
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    xml = parts[SHEET].decode()
    xml = re.sub(r'<c r="B2"([^>]*)><f>(.*?)</f><v\s*/></c>', r'<c r="B2"\1 t="str"><f>\2</f><v></v></c>', xml)
    xml = re.sub(r'<c r="B3"([^>]*)><f>(.*?)</f><v\s*/></c>', r'<c r="B3"\1 t="str"><f>\2</f></c>', xml)
    parts[SHEET] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)

    assert read_table(path)[1] == [
        (2, {"si_code": "0100000001"}),
        (3, {"si_code": "0100000002", "note": UncalculatedFormula('""')}),
    ]
