"""``disburse forms list`` writes the Form 01 spreadsheet; the same file, filled in, comes back as Form 02."""

from __future__ import annotations

import csv

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import text

from disburse.claims.forms_cli import forms_cli
from disburse.claims.models import Claim
from disburse.claims.unit import form_01_table
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.factories import create_claim, create_employee, create_employer, nq116
from tests.fuzz_files import CELL, WORKBOOK_BYTES, workbook_parts


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
    assert "xác nhận 2" in returned.output and "1 row refused" in returned.output
    states = {_si(c): db_session.get(Claim, c.id).state for c in claims}
    assert states[si_codes[0]] == "employer_confirmed" and states[si_codes[1]] == "declined"
    assert states[si_codes[2]] == "listed" and states[si_codes[3]] == "employer_confirmed"
    with errors.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert [(line["row"], line["column"], line["error_code"]) for line in lines] == [("4", "bank_code", "bank_unknown")]


def test_a_form_02_saved_by_excel_with_number_cells_keeps_si_codes_and_refuses_a_numeric_account(
    app, db_session, unit, tmp_path
):
    """Excel stores a code typed in as a number, without its leading zeros: an SI code is padded back to its ten
    digits (as the registry importer does); an account number cannot be (how many zeros?), so that row is refused
    with a message saying how to fix the column, and no money goes to an account one digit short."""
    employer, claims = unit
    runner = app.test_cli_runner()
    out = tmp_path / "mau01.xlsx"
    assert (
        runner.invoke(forms_cli, ["list", employer.unit_code, "--out", str(out), "--program", "NQ116"]).exit_code == 0
    )
    workbook = openpyxl.load_workbook(out)
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    bank, account = header.index("Ngân hàng (bank_code)") + 1, header.index("Số tài khoản (bank_account)") + 1
    si_codes = [sheet.cell(row=r, column=2).value for r in range(2, 6)]
    assert all(str(si).startswith("0") for si in si_codes)  # the factories' SI codes start with 0, as real ones do
    for r in range(2, 6):
        sheet.cell(row=r, column=2, value=int(sheet.cell(row=r, column=2).value))
        sheet.cell(row=r, column=bank, value="VCB")
        sheet.cell(row=r, column=account, value="0071000123456")
    sheet.cell(row=3, column=account, value=71000123456)  # typed as a number: its "00" is gone
    workbook.save(out)

    errors = tmp_path / "loi.csv"
    returned = runner.invoke(
        forms_cli, ["confirm", employer.unit_code, str(out), "--errors", str(errors), "--program", "NQ116"]
    )
    assert returned.exit_code == 1, returned.output
    states = {_si(c): db_session.get(Claim, c.id).state for c in claims}
    assert [states[si] for si in si_codes] == [
        "employer_confirmed",
        "listed",
        "employer_confirmed",
        "employer_confirmed",
    ]
    accounts = {_si(c): db_session.get(Claim, c.id).bank_account for c in claims}
    assert [accounts[si] == "0071000123456" for si in si_codes] == [True, False, True, True]
    assert "71000123456" not in accounts.values()
    with errors.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert [(line["row"], line["column"], line["error_code"]) for line in lines] == [
        ("3", "bank_account", "account_number_cell")
    ]


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
    for path, words in ((tmp_path / "none.csv", "There is no file"), (tmp_path, "is a directory")):
        missing = runner.invoke(forms_cli, ["confirm", employer.unit_code, str(path)])
        assert missing.exit_code == 2 and words in missing.output and "Traceback" not in missing.output


# ------------------------------------------------------------------------------------------------------ fuzz
# The returned Form 02 is read by the same reader for the upload page and `forms confirm`: whatever the file holds,
# each row gets a clear error or the file a refusal, never a traceback, and a refusal changes no claim.


def _claims_state(employer_id: int) -> tuple[str, int]:
    claims = db.session.execute(
        text("SELECT coalesce(md5(string_agg(c::text, '|' ORDER BY c.id)), '') FROM claims c WHERE employer_id = :e"),
        {"e": employer_id},
    ).scalar_one()
    return str(claims), int(db.session.execute(text("SELECT count(*) FROM claim_events")).scalar_one())


def _fuzz_confirm(app, employer, path) -> None:
    errors = path.with_name("errors.csv")
    errors.unlink(missing_ok=True)
    before = _claims_state(employer.id)
    result = app.test_cli_runner().invoke(
        forms_cli, ["confirm", employer.unit_code, str(path), "--errors", str(errors), "--program", "NQ116"]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code == 1:
        with errors.open(encoding="utf-8-sig", newline="") as fh:
            refused = list(csv.DictReader(fh))
        assert refused and all(line["message_vi"] and line["message_en"] for line in refused)
    if result.exit_code == 2:
        message_vi, message_en, *_ = [*result.output.strip().splitlines(), "", ""]
        assert message_vi and message_en, result.output
        assert _claims_state(employer.id) == before


_FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _form_01(employer) -> tuple[list[str], list[list]]:
    """The unit's Form 01 table; the unit committed first, as it is when an office takes a form back (a refusal's
    rollback would otherwise take the unit with it)."""
    db.session.commit()
    header, rows = form_01_table(nq116(), employer)
    return header, rows


@_FUZZ
@given(data=st.binary(max_size=400), with_header=st.booleans())
def test_any_bytes_as_a_form_02_csv_are_a_row_error_or_a_refusal(app, db_session, unit, tmp_path, data, with_header):
    employer, _ = unit
    header, _rows = _form_01(employer)
    path = tmp_path / "mau02.csv"
    path.write_bytes((",".join(header).encode() + b"\n" if with_header else b"") + data)
    _fuzz_confirm(app, employer, path)


@_FUZZ
@given(recipe=WORKBOOK_BYTES)
def test_any_bytes_as_a_form_02_workbook_are_a_row_error_or_a_refusal(app, db_session, unit, tmp_path, recipe):
    employer, _ = unit
    header, rows = _form_01(employer)
    workbook = openpyxl.Workbook()
    workbook.active.append(header)
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / "mau02.xlsx"
    path.write_bytes(recipe(workbook_parts(workbook)))
    _fuzz_confirm(app, employer, path)


@_FUZZ
@given(data=st.data())
def test_any_cells_in_a_form_02_workbook_are_a_row_error_or_a_refusal(app, db_session, unit, tmp_path, data):
    employer, claims = unit
    header, _rows = _form_01(employer)
    si_codes = [_si(c) for c in claims]
    cell = st.one_of(CELL, st.sampled_from(si_codes), st.sampled_from(["x", "VCB", "0071000123456", " "]))
    workbook = openpyxl.Workbook()
    workbook.active.append(header)
    for row in data.draw(st.lists(st.lists(cell, max_size=len(header) + 2), max_size=6)):
        workbook.active.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row])
    path = tmp_path / "mau02.xlsx"
    workbook.save(path)
    _fuzz_confirm(app, employer, path)


def test_a_person_on_two_rows_is_named_by_the_rows_the_spreadsheet_shows(app, db_session, unit, tmp_path):
    """The message names the rows as the file numbers them (the header is row 1, a blank line counts), as the errors
    file does, not their places among the data rows."""
    employer, _claims = unit
    runner = app.test_cli_runner()
    out = tmp_path / "mau01.csv"
    assert runner.invoke(forms_cli, ["list", employer.unit_code, "--out", str(out)]).exit_code == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        header, first, *_ = list(csv.reader(fh))
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([header, first, [], first])
    errors = tmp_path / "loi.csv"
    result = runner.invoke(forms_cli, ["confirm", employer.unit_code, str(out), "--errors", str(errors)])
    assert result.exit_code == 1 and "(2, 4)" in result.output, result.output
    with errors.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))[1:]
    assert [line[0] for line in lines] == ["2", "4"] and all("(2, 4)" in line[-1] for line in lines)
