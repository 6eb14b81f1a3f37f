"""The cash list as a file: the XLSX an office prints and pays against has a title (the office and the day, in
Vietnamese and English), blank receipt number and signature columns and a total (people, đồng) under the table;
the CSV stays the header and the rows, for a program."""

from __future__ import annotations

import csv
from datetime import datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from disburse.extensions import db
from disburse.payments.cli import payments_cli
from disburse.reference.models import District
from disburse.reference.service import area_in_sentence
from disburse.registry.models import Employee
from tests.factories import create_program
from tests.payments.test_cash import DONG_ANH, EARLY_ON_THE_15TH, ON_THE_16TH, _cash_claim, _issue, _payment

HEADER_ROW = 4  # the two lines of the title, a blank row, then the header
AMOUNT = "Số tiền (đồng) / Amount (VND)"
BORN = "Ngày sinh / Date of birth"


def _list(app: Any, out: Path, program_code: str, *extra: str) -> Any:
    base = ["cash-list", "--district", DONG_ANH, "--program", program_code, "--out", str(out), *extra]
    result = app.test_cli_runner().invoke(payments_cli, base)
    assert result.exit_code == 0, result.output
    return result


def _cells(out: Path) -> list[list[Any]]:
    return [list(row) for row in openpyxl.load_workbook(out).active.iter_rows(values_only=True)]


@pytest.fixture
def office() -> str:
    return db.session.get(District, DONG_ANH).name


def test_the_xlsx_has_the_title_the_columns_to_fill_and_the_total(app, db_session, tmp_path, office):
    program = create_program()
    claims = [
        _cash_claim(program, name, unused_months=months) for name, months in (("Trần Thị Ánh", 8), ("Lê Văn Bình", 30))
    ]
    _issue(program, EARLY_ON_THE_15TH)
    later = _cash_claim(program, "Nguyễn Văn An")
    _issue(program, ON_THE_16TH)  # another day's list: neither in the rows nor in the total
    amounts = [_payment(claim).amount_vnd for claim in claims]
    assert len(set(amounts)) == 2  # two amounts: the total is their sum, not a count of anything
    out = tmp_path / "chi-tien-mat.xlsx"

    printed = _list(app, out, program.code, "--date", "15/10/2021")

    workbook = openpyxl.load_workbook(out)
    sheet = workbook.active
    cells = _cells(out)
    assert cells[0][0] == f"Danh sách chi tiền mặt tại cơ quan BHXH {area_in_sentence(office)[0]} ngày 15/10/2021"
    assert cells[1][0] == f"Cash payment list, social security office of {office}, 15/10/2021"
    assert sheet["A1"].font.b and not any(cells[2])
    header = cells[HEADER_ROW - 1]
    assert header[-2:] == ["Số biên lai / Receipt number", "Chữ ký / Signature"]
    rows = cells[HEADER_ROW : HEADER_ROW + 2]
    amount, issued, born = (header.index(h) for h in (AMOUNT, "Ngày lập danh sách / List issued on", BORN))
    assert [row[1] for row in rows] == ["Trần Thị Ánh", "Lê Văn Bình"]  # name order: Ánh before Bình
    assert all(row[-2] is None and row[-1] is None for row in rows)  # written by hand at the desk
    assert [row[amount] for row in rows] == amounts
    assert [row[issued] for row in rows] == [datetime(2021, 10, 15)] * 2  # a date cell, shown dd/mm/yyyy
    # The cashier checks the ID card's date of birth (the ID number shows its last four digits only).
    assert [row[born] for row in rows] == [
        datetime.combine(db.session.get(Employee, claim.employee_id).date_of_birth, time()) for claim in claims
    ]
    assert all(sheet.cell(HEADER_ROW + 1, column + 1).number_format == "dd/mm/yyyy" for column in (issued, born))
    total = cells[HEADER_ROW + 2]
    assert total[1] == "Tổng cộng / Total" and total[2] == "2 người / 2 people"
    assert total[amount] == sum(amounts) and sheet.cell(HEADER_ROW + 3, amount + 1).number_format == "#,##0"
    # Under the total, who signs the list off, as a paper payment list has them.
    assert [cell for cell in cells[HEADER_ROW + 3] if cell] == [
        "Người lập biểu / Prepared by",
        "Kế toán / Accountant",
        "Thủ quỹ / Cashier",
        "Giám đốc / Director",
    ]
    assert len(cells) == HEADER_ROW + 4 and _payment(later).provider_reference not in str(cells)
    # The file's total is the one the command says.
    grouped = f"{sum(amounts):,}".replace(",", ".")
    assert f"tổng {grouped}" in printed.output
    # Paper: the header kept in view and on every printed page, the filter on the people only, room to sign.
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}" and sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert sheet.auto_filter.ref == f"A{HEADER_ROW}:J{HEADER_ROW + 2}"
    assert (
        sheet.column_dimensions["I"].width >= 20
        and sheet.column_dimensions["J"].width >= 20
        and sheet.row_dimensions[HEADER_ROW + 1].height >= 25
    )


def test_every_open_payment_is_titled_with_the_day_it_is_printed(app, db_session, tmp_path, office, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-20")
    program = create_program()
    _cash_claim(program, "Trần Thị Ánh")
    _issue(program, EARLY_ON_THE_15TH)
    _cash_claim(program, "Lê Văn Bình")
    _issue(program, ON_THE_16TH)
    out = tmp_path / "mo.xlsx"

    _list(app, out, program.code)

    cells = _cells(out)
    vi = area_in_sentence(office)[0]
    assert cells[0][0] == f"Danh sách chi tiền mặt tại cơ quan BHXH {vi}: các khoản chưa chi đến ngày 20/10/2021"
    assert (
        cells[1][0] == f"Cash payment list, social security office of {office}: every payment still open on 20/10/2021"
    )
    assert cells[-2][1:3] == ["Tổng cộng / Total", "2 người / 2 people"]


def test_an_empty_list_still_has_its_title_header_and_a_total_of_none(app, db_session, tmp_path, office):
    program = create_program()
    out = tmp_path / "trong.xlsx"

    _list(app, out, program.code, "--date", "15/10/2021")

    cells = _cells(out)
    assert cells[0][0].endswith("ngày 15/10/2021") and cells[HEADER_ROW - 1][-1] == "Chữ ký / Signature"
    total = cells[HEADER_ROW]
    assert total[1:3] == ["Tổng cộng / Total", "0 người / 0 people"] and total[cells[HEADER_ROW - 1].index(AMOUNT)] == 0


def test_one_person_is_counted_in_the_singular(app, db_session, tmp_path):
    program = create_program()
    _cash_claim(program, "Trần Thị Ánh")
    _issue(program, EARLY_ON_THE_15TH)
    out = tmp_path / "mot.xlsx"
    _list(app, out, program.code, "--date", "15/10/2021")
    assert _cells(out)[HEADER_ROW + 1][2] == "1 người / 1 person"


def test_the_csv_is_the_header_and_the_rows_only(app, db_session, tmp_path):
    program = create_program()
    for name in ("Trần Thị Ánh", "Lê Văn Bình"):
        _cash_claim(program, name)
    _issue(program, EARLY_ON_THE_15TH)
    out = tmp_path / "chi.csv"

    _list(app, out, program.code, "--date", "15/10/2021")

    with out.open(encoding="utf-8-sig", newline="") as handle:
        read = list(csv.reader(handle))
    assert read[0][0] == "STT (row)" and read[0][-2:] == ["Số biên lai (receipt_number)", "Ký nhận (signature)"]
    assert [row[1] for row in read[1:]] == ["Trần Thị Ánh", "Lê Văn Bình"]  # no title, no total
