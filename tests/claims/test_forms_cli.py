"""``disburse forms list`` writes the Form 01 spreadsheet; the same file, filled in, comes back as Form 02."""

from __future__ import annotations

import csv

import openpyxl
import pytest

from disburse.claims.forms_cli import forms_cli
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.factories import create_claim, create_employee, create_employer


@pytest.fixture
def unit(db_session):
    employer = create_employer(name="Công ty TNHH May Thử")
    claims = [create_claim("listed", employee=create_employee(employer_id=employer.id)) for _ in range(4)]
    return employer, claims


def _si(claim: Claim) -> str:
    return db.session.get(Employee, claim.employee_id).si_code


def test_the_form_01_workbook_filled_in_comes_back_as_form_02(app, db_session, unit, tmp_path):
    employer, claims = unit
    runner = app.test_cli_runner()
    out = tmp_path / "mau01.xlsx"
    listed = runner.invoke(forms_cli, ["list", employer.unit_code, "--out", str(out), "--program", "NQ116"])
    assert listed.exit_code == 0, listed.output
    assert "4 người" in listed.output

    workbook = openpyxl.load_workbook(out)
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    assert header[1] == "Mã số BHXH (si_code)" and header[-1] == "Không nhận hỗ trợ: ghi x (decline)"
    si_codes = [sheet.cell(row=r, column=2).value for r in range(2, 6)]
    assert sorted(si_codes) == sorted(_si(c) for c in claims)
    bank, account, decline = (
        header.index("Ngân hàng (bank_code)") + 1,
        header.index("Số tài khoản (bank_account)") + 1,
        len(header),
    )
    sheet.cell(row=2, column=bank, value="VCB")
    sheet.cell(row=2, column=account, value="0071000123456")
    sheet.cell(row=3, column=decline, value="x")
    sheet.cell(row=4, column=bank, value="KHONGCO")
    sheet.cell(row=4, column=account, value="123456")
    workbook.save(out)

    errors = tmp_path / "loi.csv"
    returned = runner.invoke(
        forms_cli, ["confirm", employer.unit_code, str(out), "--errors", str(errors), "--program", "NQ116"]
    )
    assert returned.exit_code == 1, returned.output
    assert "xác nhận 2" in returned.output and "1 rows refused" in returned.output
    states = {_si(c): db_session.get(Claim, c.id).state for c in claims}
    assert states[si_codes[0]] == "employer_confirmed" and states[si_codes[1]] == "declined"
    assert states[si_codes[2]] == "listed" and states[si_codes[3]] == "employer_confirmed"
    with errors.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert [(line["row"], line["column"], line["error_code"]) for line in lines] == [("4", "bank_code", "bank_unknown")]


def test_a_csv_form_02_and_the_unusable_cases(app, db_session, unit, tmp_path):
    employer, claims = unit
    runner = app.test_cli_runner()
    out = tmp_path / "mau01.csv"
    assert runner.invoke(forms_cli, ["list", employer.unit_code, "--out", str(out)]).exit_code == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    for row in rows[1:]:
        row[-1] = "x"
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result = runner.invoke(forms_cli, ["confirm", employer.unit_code, str(out)])
    assert result.exit_code == 0, result.output
    assert {db_session.get(Claim, c.id).state for c in claims} == {"declined"}

    assert runner.invoke(forms_cli, ["confirm", "NOUNIT", str(out)]).exit_code == 2
    pdf = tmp_path / "scan.csv"
    pdf.write_bytes(b"\xff\xfe\x00garbage")
    unusable = runner.invoke(forms_cli, ["confirm", employer.unit_code, str(pdf)])
    assert unusable.exit_code == 2 and "UTF-8" in unusable.output
    same = runner.invoke(forms_cli, ["confirm", employer.unit_code, str(out), "--errors", str(out)])
    assert same.exit_code == 2 and "must not be the file" in same.output
