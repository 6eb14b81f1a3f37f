"""Every XLSX file disburse writes shows money and counts as numbers grouped by thousands ('#,##0': Excel in a
Vietnamese locale shows 4.976.300.000, and people can still sum them), percentages as numbers with one decimal
('0.0': 69,0, the unit the "(%)" header promises), and identifiers that look like numbers (SI code, national ID, unit
and area codes, account, phone, claim number) as text, and days as date cells shown dd/mm/yyyy. One test over every
export, each produced by the code that serves it."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from disburse.casework.exports import outreach_file
from disburse.claims.forms_cli import forms_cli
from disburse.dashboard.exports import monthly_file, table_file
from disburse.dashboard.queries import TableQuery, monthly_report
from disburse.extensions import db
from disburse.payments import cash_cli
from disburse.payments.cash import CashListRow
from disburse.reference.models import District
from disburse.reports.rollups import take_snapshots
from disburse.reports.service import Area
from tests.factories import create_claim, create_employee, create_employer, create_user, nq116

MONEY, COUNT, PERCENT, TEXT, DATE = "money", "count", "percent", "text", "date"
NUMBER_FORMATS = {MONEY: "#,##0", COUNT: "#,##0", PERCENT: "0.0"}


@pytest.fixture
def world(app, db_session, monkeypatch):
    """Claims of NQ116 at a unit of Đông Anh: paid, listed, awaiting payment details after two failed payments; the
    month of October 2021 closed by its snapshot."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-12-06")
    unit = create_employer(district_code="017", unit_code="0100123")
    for state in ("paid", "paid", "listed", "listed"):
        create_claim(state, employee=create_employee(employer_id=unit.id, phone="0912000111"))
    create_claim("awaiting_payment_details", employee=create_employee(employer_id=unit.id), payment_failures=2)
    take_snapshots(nq116().id, date(2021, 10, 31))
    return unit


def _form_01(app: Any, unit: Any, tmp_path: Path) -> Path:
    out = tmp_path / "mau01.xlsx"
    result = app.test_cli_runner().invoke(forms_cli, ["list", unit.unit_code, "--out", str(out), "--program", "NQ116"])
    assert result.exit_code == 0, result.output
    return out


def _cash_list(app: Any, unit: Any, tmp_path: Path) -> Path:
    out = tmp_path / "cash.xlsx"
    rows = [
        CashListRow(
            "TM0000001",
            "Trần Thị Ánh",
            "0100000001",
            "********0123",
            date(1990, 1, 2),
            4_976_300_000,
            date(2021, 10, 15),
        ),
        CashListRow("TM0000002", "Lê Văn Bình", "0100000002", "********0456", None, 3_300_000, date(2021, 10, 15)),
    ]
    cash_cli._write(out, rows, db.session.get(District, "017"), date(2021, 10, 15))
    return out


def _bytes(content: bytes, tmp_path: Path) -> Path:
    path = tmp_path / "export.xlsx"
    path.write_bytes(content)
    return path


def _table(area: Area) -> Callable[[Any, Any, Path], Path]:
    return lambda app, unit, tmp_path: _bytes(table_file(nq116().id, TableQuery(area), "xlsx"), tmp_path)


def _monthly(app: Any, unit: Any, tmp_path: Path) -> Path:
    rows = monthly_report(nq116().id, date(2021, 10, 1), date(2021, 12, 6))
    return _bytes(monthly_file(rows, "10/2021"), tmp_path)


def _unit_status(app: Any, unit: Any, tmp_path: Path) -> Path:
    user = create_user("employer", employer_unit=unit.unit_code)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    response = client.get(f"/employers/{unit.unit_code}/status-file")
    assert response.status_code == 200
    return _bytes(response.data, tmp_path)


def _outreach(app: Any, unit: Any, tmp_path: Path) -> Path:
    return _bytes(outreach_file(nq116().id, "017", "awaiting_details", "xlsx", with_phone=True), tmp_path)


_FIGURES = {
    "Đủ điều kiện / Eligible": COUNT,
    "Đã chi trả / Paid": COUNT,
    "Tỷ lệ đã chi trả (%) / Paid (%)": PERCENT,
    "Số tiền đã chi trả (VND) / Amount paid (VND)": MONEY,
    "Cần xác minh / Needs review": COUNT,
    "Từ chối / Rejected": COUNT,
    "Không nhận hỗ trợ / Declined": COUNT,
    "Chờ bổ sung thông tin tài khoản / Awaiting payment details": COUNT,
    "Chưa chi trả / Not yet paid": COUNT,
    "Đã duyệt, chưa chuyển chi trả / Approved, not yet sent": COUNT,
    "Đang chi trả: chuyển khoản ngân hàng / Payment in progress: bank transfer": COUNT,
    "Đang chi trả: tiền mặt tại cơ quan BHXH / Payment in progress: cash at the office": COUNT,
    "Chi trả không thành công / Payment failed": COUNT,
    "Đang xác nhận, kiểm tra / Being confirmed or checked": COUNT,
}

#: Each export: how it is made, and the kind of each column the test holds it to (every row, every non-blank cell).
EXPORTS: dict[str, tuple[Callable[[Any, Any, Path], Path], dict[str, str]]] = {
    "form_01": (
        _form_01,
        {
            "Mã số BHXH (si_code)": TEXT,
            "Số CMND/CCCD (national_id)": TEXT,
            "Số điện thoại (phone)": TEXT,
            "Số tháng đóng BHTN chưa hưởng (unused_months)": COUNT,
            "Mức hỗ trợ (đồng) (amount_vnd)": MONEY,
        },
    ),
    "cash_list": (
        _cash_list,
        {
            "Mã số BHXH / SI code": TEXT,
            "Ngày sinh / Date of birth": DATE,
            "Số CMND/CCCD / National ID": TEXT,
            "Số tiền (đồng) / Amount (VND)": MONEY,
            "Mã chi trả / Payment reference": TEXT,
            "Ngày lập danh sách / List issued on": DATE,
        },
    ),
    "dashboard_provinces": (_table(Area()), {"Mã tỉnh / Province code": TEXT, **_FIGURES}),
    "dashboard_districts": (_table(Area("01")), {"Mã quận/huyện / District code": TEXT, **_FIGURES}),
    "dashboard_units": (
        _table(Area("01", "017")),
        {"Mã đơn vị / Unit code": TEXT, "Mã quận/huyện / District code": TEXT, **_FIGURES},
    ),
    "monthly_report": (
        _monthly,
        {
            "Mã tỉnh / Province code": TEXT,
            "Đủ điều kiện / Eligible": COUNT,
            "Đã chi trả (lũy kế) / Paid (to date)": COUNT,
            "Chi trả trong tháng / Paid in the month": COUNT,
            "Tỷ lệ đã chi trả (%) / Paid (%)": PERCENT,
            "Số tiền đã chi trả (VND) / Amount paid (VND)": MONEY,
            "Số đơn vị được giảm mức đóng trong tháng / Units with a reduction in the month": COUNT,
            "Số người lao động của các đơn vị đó / Their employees": COUNT,
            "Số tiền được giảm trong tháng (VND) / Reduction in the month (VND)": MONEY,
            "Chưa chi trả / Not yet paid": COUNT,
            "Đang chi trả: chuyển khoản ngân hàng / Payment in progress: bank transfer": COUNT,
            "Đang chi trả: chuyển khoản ngân hàng, số tiền (VND) / Payment in progress: bank transfer, amount (VND)": (
                MONEY
            ),
            "Đang chi trả: tiền mặt tại cơ quan BHXH / Payment in progress: cash at the office": COUNT,
            "Đang chi trả: tiền mặt tại cơ quan BHXH, số tiền (VND) / Payment in progress: cash at the office, amount "
            "(VND)": MONEY,
            "Đã duyệt, chưa chuyển chi trả / Approved, not yet sent": COUNT,
            "Chi trả không thành công / Payment failed": COUNT,
            "Chờ bổ sung thông tin tài khoản / Awaiting payment details": COUNT,
            "Cần xác minh / Needs review": COUNT,
            "Đang xác nhận, kiểm tra / Being confirmed or checked": COUNT,
        },
    ),
    "unit_status": (
        _unit_status,
        {
            "Mã số BHXH / SI code": TEXT,
            "Mức hỗ trợ (đồng) / Amount (VND)": MONEY,
            "Ngân hàng / Bank": TEXT,
            "Số tài khoản / Account": TEXT,
        },
    ),
    "outreach": (
        _outreach,
        {
            "Mã số BHXH / SI code": TEXT,
            "Số điện thoại / Phone": TEXT,
            "Số hồ sơ / Claim": TEXT,
            "Chi trả không thành công / Failed payments": COUNT,
            "Số lần liên hệ / Contact attempts": COUNT,
        },
    ),
}


#: The exports whose table is under a title: the row of their header (the cash list is printed and paid against).
TITLED = {"cash_list": 4}


def _header_row(sheet: Any) -> int:
    """The header's row: the one above the frozen rows (the first, unless a title comes before it)."""
    return int(sheet.freeze_panes[1:]) - 1 if sheet.freeze_panes else 1


@pytest.mark.parametrize("export", list(EXPORTS))
def test_money_and_counts_are_grouped_numbers_percentages_have_a_decimal_and_ids_are_text(app, world, tmp_path, export):
    make, kinds = EXPORTS[export]
    sheet = openpyxl.load_workbook(io.BytesIO(make(app, world, tmp_path).read_bytes())).active
    rows = list(sheet.iter_rows())[_header_row(sheet) - 1 :]  # from the header (a title may come before it)
    header = [cell.value for cell in rows[0]]
    assert len(rows) > 1, "the export has data rows"
    for name, kind in kinds.items():
        cells = [row[header.index(name)] for row in rows[1:]]
        filled = [cell for cell in cells if cell.value not in (None, "")]
        assert filled, f"{export}: {name} has a value in some row"
        for cell in filled:
            if kind == TEXT:
                assert cell.data_type == "s" and isinstance(cell.value, str), (export, name, cell.value)
                assert cell.number_format == "@", (export, name, cell.number_format)
            elif kind == DATE:
                assert isinstance(cell.value, datetime), (export, name, cell.value)  # a date Excel sorts by
                assert cell.number_format == "dd/mm/yyyy", (export, name, cell.number_format)
            else:
                assert isinstance(cell.value, int | float) and not isinstance(cell.value, bool), (export, name)
                assert cell.number_format == NUMBER_FORMATS[kind], (export, name, cell.number_format)
                if kind == PERCENT:
                    assert 0 <= cell.value <= 100, (export, name, cell.value)  # a percentage, as the header says
    # Nothing else in the sheet is a number shown as General that a reader would need grouped: every number cell
    # of the data rows is in a column held above, or is the row's own number (STT).
    for row in rows[1:]:
        for name, cell in zip(header, row, strict=False):
            if isinstance(cell.value, int | float) and not isinstance(cell.value, bool) and name not in kinds:
                assert str(name).startswith("STT") or cell.number_format != "General", (export, name, cell.value)


@pytest.mark.parametrize("export", list(EXPORTS))
def test_every_workbook_reads_as_a_table(app, world, tmp_path, export):
    """The header in bold stays in view (frozen), every column filters, and no column is narrower than its header or
    its longest value (up to a limit): the dashboard's unit names were cut at Excel's default width."""
    make, _ = EXPORTS[export]
    sheet = openpyxl.load_workbook(io.BytesIO(make(app, world, tmp_path).read_bytes())).active
    head = _header_row(sheet)
    rows = list(sheet.iter_rows(values_only=True))
    assert head == TITLED.get(export, 1) and sheet.freeze_panes == f"A{head + 1}"
    assert all(cell.font.b for cell in next(sheet.iter_rows(min_row=head, max_row=head)))
    # The filter covers the table's rows, not a total or a note under them (sorted, they would move among them).
    totals = [n for n, row in enumerate(rows, start=1) if len(row) > 1 and row[1] == "Tổng cộng / Total"]
    last = totals[0] - 1 if totals else len(rows)
    assert sheet.auto_filter.ref == f"A{head}:{openpyxl.utils.get_column_letter(len(rows[head - 1]))}{last}"
    for i, name in enumerate(rows[head - 1], start=1):
        longest = max(len(str(row[i - 1] or "")) for row in rows[head - 1 : last] if len(row) >= i)
        width = sheet.column_dimensions[openpyxl.utils.get_column_letter(i)].width
        assert width >= min(longest, 58), (export, name, width, longest)
