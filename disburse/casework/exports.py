"""The outreach list as a spreadsheet for phone campaigns (through :mod:`disburse.spreadsheets`: formulas
neutralised, Excel's limits), with the headers in both languages (a file both read at once); and the cash desk's
list to print and pay against."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from disburse.casework import outreach
from disburse.formatting import dmy
from disburse.payments.cash import CashListRow
from disburse.payments.cash_cli import write_cash_list
from disburse.programs.calendar import VIETNAM_TZ
from disburse.reference.models import District
from disburse.spreadsheets import COUNT, TEXT, table_bytes
from disburse.verification.review import CONTACT_OUTCOMES

HEADER = [
    "Mã số BHXH / SI code",
    "Họ và tên / Full name",
    "Ngày sinh / Date of birth",
    "Số điện thoại / Phone",
    "Địa chỉ / Address",
    "Số hồ sơ / Claim",
    "Chi trả không thành công / Failed payments",
    "Lý do lần gần nhất / Latest failure",
    "Số lần liên hệ / Contact attempts",
    "Lần liên hệ gần nhất / Last contact",
    "Kết quả / Outcome",
    "Kết quả gọi lần này / This call's outcome",
]
#: How the XLSX shows each column (:func:`disburse.spreadsheets.write_xlsx`): identifiers as text, counts grouped.
FORMATS = [TEXT, None, None, TEXT, None, TEXT, COUNT, None, COUNT, None, None, None]


def _rows(program_id: int, district: str, kind: str, with_phone: bool) -> Iterator[list[Any]]:
    for row in outreach.every_row(program_id, district, kind, with_phone=with_phone):
        outcome = CONTACT_OUTCOMES.get(row.last_outcome or "")
        yield [
            row.si_code,
            row.full_name,
            dmy(row.date_of_birth) if row.date_of_birth else "",
            row.phone or "",
            row.address or "",
            row.claim_id or "",
            row.failures or "",
            " / ".join(row.failure_label) if row.failure_label else "",
            row.contacts,
            row.last_contact_at.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M") if row.last_contact_at else "",
            f"{outcome[0]} / {outcome[1]}" if outcome else "",
            "",
        ]


def outreach_file(program_id: int, district: str, kind: str, fmt: str, *, with_phone: bool = False) -> bytes:
    """The list as the bytes of a CSV (UTF-8 with BOM) or XLSX file."""
    assert kind in outreach.KINDS
    rows = _rows(program_id, district, kind, with_phone)
    return table_bytes(fmt, HEADER, rows, title=f"Lien he {district}", formats=FORMATS)


def cash_list_file(rows: list[CashListRow], office: District, day: date | None) -> bytes:
    """The office's cash list as the XLSX the ``payments cash-list --out`` command writes (the same writer): the
    paper the office pays against, with its title, total, and blank receipt and signature columns."""
    with tempfile.TemporaryDirectory(prefix="disburse-cash-") as folder:
        path = Path(folder) / "cash-list.xlsx"
        write_cash_list(path, rows, office, day)
        return path.read_bytes()
