"""The dashboard's tables as spreadsheets (through :mod:`disburse.spreadsheets`: formulas neutralised, Excel's
limits), headers in both languages, as the caseworker's outreach list (:mod:`disburse.casework.exports`)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from disburse.dashboard.queries import TableQuery, child_level, monthly_totals, table_rows, unpaid_parts_unknown
from disburse.formatting import tenths_down
from disburse.payments import reasons as payment_reasons
from disburse.payments import recoveries as recovery_service
from disburse.programs.calendar import VIETNAM_TZ, programme_today
from disburse.programs.models import Program
from disburse.reports.dashboard import last_count_before, overdue_units
from disburse.reports.service import Area
from disburse.spreadsheets import COUNT, DATE, MEDIA_TYPES, MONEY, PERCENT, TEXT, table_bytes, write_csv, write_xlsx

#: How the XLSX shows each column (:func:`disburse.spreadsheets.write_xlsx`): codes as text, then the figures.
_FIRST_FORMATS = {"province": [TEXT, None], "district": [TEXT, None], "unit": [TEXT, None, TEXT]}
#: A target is set with up to two decimals (80,05 %): shown with one, as completion is, it read 80.1.
TARGET_PERCENT = "0.00"
TARGET_FORMATS = [TARGET_PERCENT, DATE]
#: The first columns: the area's (or unit's) code and name, a unit's district code after them (the page has the
#: unit's link instead).
_FIRST = {
    "province": ["Mã tỉnh / Province code", "Tỉnh / Province"],
    "district": ["Mã quận/huyện / District code", "Quận/huyện / District"],
    "unit": ["Mã đơn vị / Unit code", "Tên đơn vị / Unit", "Mã quận/huyện / District code"],
}
#: The figures of a row of the dashboard's table, in the page's order (templates/dashboard/_figures.html draws its
#: columns from :data:`FIGURE_KEYS`), each with its header in the files and how the XLSX shows it: the completion,
#: where the eligible not yet paid are (adding up to them), then the refused.
FIGURE_COLUMNS = [
    ("percent_paid", "Tỷ lệ đã chi trả (%) / Paid (%)", PERCENT),
    ("eligible", "Đủ điều kiện / Eligible", COUNT),
    ("paid", "Đã chi trả / Paid", COUNT),
    ("paid_amount_vnd", "Số tiền đã chi trả (VND) / Amount paid (VND)", MONEY),
    ("unpaid", "Chưa chi trả / Not yet paid", COUNT),
    ("payment_pending_bank", "Đang chi trả: chuyển khoản ngân hàng / Payment in progress: bank transfer", COUNT),
    (
        "payment_pending_cash",
        "Đang chi trả: tiền mặt tại cơ quan BHXH / Payment in progress: cash at the office",
        COUNT,
    ),
    ("approved", "Đã duyệt, chưa chuyển chi trả / Approved, not yet sent", COUNT),
    ("payment_failed", "Chi trả không thành công / Payment failed", COUNT),
    ("awaiting_details", "Chờ bổ sung thông tin tài khoản / Awaiting payment details", COUNT),
    ("needs_review", "Cần xác minh / Needs review", COUNT),
    ("checking", "Đang xác nhận, kiểm tra / Being confirmed or checked", COUNT),
    ("rejected", "Từ chối / Rejected", COUNT),
    ("declined", "Không nhận hỗ trợ / Declined", COUNT),
    ("removed", "Không có tại đơn vị / Not employed at unit", COUNT),
]
FIGURE_KEYS = [key for key, _, _ in FIGURE_COLUMNS]
FIGURES_HEADER = [header for _, header, _ in FIGURE_COLUMNS]
FIGURES_FORMATS = [number_format for _, _, number_format in FIGURE_COLUMNS]


#: The row of a district's applicants (Form 04) who have no unit on file.
NO_UNIT = "Người nộp Mẫu số 04 không có đơn vị / Form 04 applicants without a unit"
TARGET_HEADER = ["Mục tiêu (%) / Target (%)", "Ngày mục tiêu / Target date"]


def percent_cell(value: float | None) -> float | str:
    """A completion percentage as the pages show it (rounded down to one decimal: 99.96 is 99.9, never 100.0)."""
    cut = tenths_down(value)
    return "" if cut is None else cut


#: Provinces and districts: how many more were paid since the last count of an earlier day (the daily snapshots; the
#: page's column names its day), after the money paid as on the page; blank where the area has no such count.
PAID_SINCE = (
    "paid_since",
    "Chi trả thêm từ lần đếm của ngày trước / Paid since the last count of an earlier day",
    COUNT,
)


def _figure_columns(level: str, since: bool) -> list[tuple[str, str, str]]:
    """The figures' columns of a table of ``level``, with :data:`PAID_SINCE` when ``since`` (as the page has it: for
    provinces and districts counted on an earlier day, :func:`has_paid_since`)."""
    if not since:
        return FIGURE_COLUMNS
    at = FIGURE_KEYS.index("paid_amount_vnd") + 1
    return [*FIGURE_COLUMNS[:at], PAID_SINCE, *FIGURE_COLUMNS[at:]]


def has_paid_since(program_id: int, level: str) -> bool:
    """Whether a table of ``level`` has the column of those paid since an earlier day's count (the page's too)."""
    return level != "unit" and last_count_before(program_id, level, programme_today()) is not None


def header(level: str, since: bool = False) -> list[str]:
    figures = [column for _, column, _ in _figure_columns(level, since)]
    return [*_FIRST[level], *figures, *(TARGET_HEADER if level == "district" else [])]


def formats(level: str, since: bool = False) -> list[str | None]:
    """How the XLSX shows each column of :func:`header`."""
    figures = [number_format for _, _, number_format in _figure_columns(level, since)]
    return [*_FIRST_FORMATS[level], *figures, *(TARGET_FORMATS if level == "district" else [])]


def _cell(row: dict[str, Any], key: str) -> Any:
    if key == "percent_paid":
        return percent_cell(row[key])
    return "" if row[key] is None else row[key]


def _rows(program_id: int, query: TableQuery, level: str, since: bool) -> Iterator[list[Any]]:
    rows, _ = table_rows(program_id, query)
    for row in rows:
        first = [row["code"] or "", row["name"] or NO_UNIT] + ([row["district_code"]] if level == "unit" else [])
        target = (
            [
                row["target_bp"] / 100 if row["target_bp"] is not None else "",
                row["target_date"] or "",  # a date cell in the XLSX, dd/mm/yyyy in the CSV
            ]
            if level == "district"
            else []
        )
        yield [
            *first,
            *(_cell(row, key) for key, _, _ in _figure_columns(level, since)),
            *target,
        ]


def write_table(
    program_id: int, query: TableQuery, fmt: str, path: Path, progress: Callable[[int, int | None], None] | None = None
) -> int:
    """Write the table to ``path`` as CSV (UTF-8 with BOM) or XLSX; the number of rows written."""
    assert fmt in MEDIA_TYPES
    level = child_level(query.area, query.table)
    since = has_paid_since(program_id, level)
    count = 0

    def counted() -> Iterator[list[Any]]:
        nonlocal count
        for row in _rows(program_id, query, level, since):
            count += 1
            if progress is not None and count % 1000 == 0:
                progress(count, None)
            yield row

    if fmt == "csv":
        write_csv(path, header(level, since), counted())
    else:
        write_xlsx(path, header(level, since), counted(), title="Tien do", formats=formats(level, since))
    return count


def table_file(program_id: int, query: TableQuery, fmt: str) -> bytes:
    """The table as the bytes of a CSV or XLSX file (a small table, downloaded at once)."""
    with tempfile.TemporaryDirectory(prefix="disburse-dashboard-") as folder:
        path = Path(folder) / f"table.{fmt}"
        write_table(program_id, query, fmt, path)
        return path.read_bytes()


#: The export job's ``table`` for the backlog's overdue units (workers/exports.py).
OVERDUE_UNITS_TABLE = "overdue_units"
#: The overdue units' file: its columns, headers in both languages (as the dashboard's tables).
OVERDUE_UNITS_HEADER = [
    "Mã đơn vị / Unit code",
    "Tên đơn vị / Unit",
    "Mã quận/huyện / District code",
    "Quận/huyện / District",
    "Số người đang chờ đơn vị xác nhận / People waiting for the unit to confirm them",
]
OVERDUE_UNITS_FORMATS: list[str | None] = [TEXT, None, TEXT, None, COUNT]


def write_overdue_units(
    program_id: int,
    area: Area,
    today: date,
    fmt: str,
    path: Path,
    progress: Callable[[int, int | None], None] | None = None,
) -> int:
    """Every unit of ``area`` past its Form 02 deadline with people still unconfirmed on ``today``, most first
    (:func:`disburse.reports.dashboard.overdue_units`), written to ``path`` as CSV (UTF-8 with BOM) or XLSX; the
    number of rows written. The same file whether downloaded at once or written by the export job."""
    assert fmt in MEDIA_TYPES
    units, total = overdue_units(program_id, area, today, None)
    count = 0

    def rows() -> Iterator[list[Any]]:
        nonlocal count
        for unit in units:
            count += 1
            if progress is not None and count % 1000 == 0:
                progress(count, total)
            yield [unit["unit_code"], unit["name"], unit["district_code"], unit["district_name"], unit["claims"]]

    if fmt == "csv":
        write_csv(path, OVERDUE_UNITS_HEADER, rows())
    else:
        write_xlsx(path, OVERDUE_UNITS_HEADER, rows(), title="Don vi qua han", formats=OVERDUE_UNITS_FORMATS)
    return count


def overdue_units_file(program_id: int, area: Area, today: date, fmt: str) -> bytes:
    """:func:`write_overdue_units` as the bytes of the file (a short list, downloaded at once)."""
    with tempfile.TemporaryDirectory(prefix="disburse-dashboard-") as folder:
        path = Path(folder) / f"overdue.{fmt}"
        write_overdue_units(program_id, area, today, fmt, path)
        return path.read_bytes()


#: The export job's ``table`` for the recoveries list (workers/exports.py).
RECOVERIES_TABLE = "recoveries"
#: The recoveries' file: the page's columns in its order (the district's code before its name, as the overdue
#: units'), headers in both languages; then what the page has as its links, for matching the file with the claims
#: and the bank's statements: the claim's number and the payment's reference.
RECOVERIES_HEADER = [
    "Khoản / Recovery",
    "Người nhận / Payee",
    "Mã quận/huyện / District code",
    "Quận/huyện / District",
    "Số tiền (VND) / Amount (VND)",
    "Đã thu hồi (VND) / Recovered (VND)",
    "Lý do trả lại / Why it was returned",
    "Trạng thái / State",
    "Ngày mở / Opened on",
    "Hồ sơ số / Claim",
    "Mã chi trả / Payment reference",
]
RECOVERIES_FORMATS: list[str | None] = [TEXT, None, TEXT, None, MONEY, MONEY, None, None, DATE, TEXT, TEXT]


def recoveries_count(program_id: int, area: Area, state: str | None) -> int:
    """How many recoveries of ``area`` (in ``state`` if given) the list has, from its totals by state."""
    totals = recovery_service.totals(program_id, area)
    return totals[state][0] if state else sum(n for n, _, _ in totals.values())


def write_recoveries(
    program_id: int,
    area: Area,
    state: str | None,
    fmt: str,
    path: Path,
    progress: Callable[[int, int | None], None] | None = None,
) -> int:
    """Every recovery of ``area`` (in ``state`` if given), newest first, as the recoveries page lists them
    (:func:`disburse.payments.recoveries.in_area`), written to ``path`` as CSV (UTF-8 with BOM) or XLSX; the number
    of rows written. The same file whether downloaded at once or written by the export job."""
    assert fmt in MEDIA_TYPES
    total = recoveries_count(program_id, area, state)
    found = recovery_service.in_area(program_id, area, state, limit=max(total, 1))
    count = 0

    def rows() -> Iterator[list[Any]]:
        nonlocal count
        for row in found:
            count += 1
            if progress is not None and count % 1000 == 0:
                progress(count, total)
            recovery = row.recovery
            yield [
                recovery.id,
                row.person,
                row.district_code,
                row.district,
                recovery.amount_vnd,
                recovery.recovered_vnd,
                " / ".join(payment_reasons.label(recovery.reason_code)),
                " / ".join(recovery_service.LABELS[recovery.state]),
                recovery.created_at.astimezone(VIETNAM_TZ).date(),  # the day it was opened in Vietnam
                str(recovery.claim_id),
                row.reference,
            ]

    if fmt == "csv":
        write_csv(path, RECOVERIES_HEADER, rows())
    else:
        write_xlsx(path, RECOVERIES_HEADER, rows(), title="Thu hoi", formats=RECOVERIES_FORMATS)
    return count


def recoveries_file(program_id: int, area: Area, state: str | None, fmt: str) -> bytes:
    """:func:`write_recoveries` as the bytes of the file (a short list, downloaded at once)."""
    with tempfile.TemporaryDirectory(prefix="disburse-dashboard-") as folder:
        path = Path(folder) / f"recoveries.{fmt}"
        write_recoveries(program_id, area, state, fmt, path)
        return path.read_bytes()


MONTHLY_HEADER = [
    "Mã tỉnh / Province code",
    "Tỉnh / Province",
    "Đủ điều kiện / Eligible",
    "Đã chi trả (lũy kế) / Paid (to date)",
    "Chi trả trong tháng / Paid in the month",
    "Tỷ lệ đã chi trả (%) / Paid (%)",
    "Số tiền đã chi trả (VND) / Amount paid (VND)",
    "Số đơn vị được giảm mức đóng trong tháng / Units with a reduction in the month",
    "Số người lao động của các đơn vị đó / Their employees",
    "Số tiền được giảm trong tháng (VND) / Reduction in the month (VND)",
    # Where the eligible not yet paid were at the month's end (the dashboard's words), adding up to the first.
    "Chưa chi trả / Not yet paid",
    "Đang chi trả: chuyển khoản ngân hàng / Payment in progress: bank transfer",
    "Đang chi trả: chuyển khoản ngân hàng, số tiền (VND) / Payment in progress: bank transfer, amount (VND)",
    "Đang chi trả: tiền mặt tại cơ quan BHXH / Payment in progress: cash at the office",
    "Đang chi trả: tiền mặt tại cơ quan BHXH, số tiền (VND) / Payment in progress: cash at the office, amount (VND)",
    "Đã duyệt, chưa chuyển chi trả / Approved, not yet sent",
    "Chi trả không thành công / Payment failed",
    "Chờ bổ sung thông tin tài khoản / Awaiting payment details",
    "Cần xác minh / Needs review",
    "Đang xác nhận, kiểm tra / Being confirmed or checked",
]
MONTHLY_FORMATS = [
    *(TEXT, None, COUNT, COUNT, COUNT, PERCENT, MONEY, COUNT, COUNT, MONEY),
    *(COUNT, COUNT, MONEY, COUNT, MONEY, COUNT, COUNT, COUNT, COUNT, COUNT),
]
assert len(MONTHLY_FORMATS) == len(MONTHLY_HEADER)
#: A province's own report: a row per district.
MONTHLY_DISTRICT_HEADER = ["Mã quận/huyện / District code", "Quận/huyện / District", *MONTHLY_HEADER[2:]]
#: Under the total when some month's end did not keep where its not yet paid were: their cells are blank, not 0.
MONTHLY_UNKNOWN_NOTE = (
    "Ô để trống: số liệu không có trong bản chụp số liệu cuối tháng (bản chụp lập trước khi hệ thống ghi những số "
    "liệu này chỉ có số chưa chi trả, cần xác minh và chờ thông tin tài khoản), không phải 0. / Blank: not in the "
    "month's last snapshot (one taken before the system kept these figures has only not yet paid, needs review and "
    "awaiting details), not 0."
)


def _dmy(day: date) -> str:
    return f"{day:%d/%m/%Y}"


#: How a figure that is not known shows: "—" on the page, a blank cell in the files.
PAGE_UNKNOWN = ("—", "—")
FILE_UNKNOWN = ("ô để trống", "blank")


def monthly_sources_said(
    sources: dict[str, Any], today: date, unknown: tuple[str, str] = PAGE_UNKNOWN
) -> list[tuple[str, str]]:
    """Where the monthly report's figures come from (:func:`disburse.dashboard.queries.month_sources`), a (Vietnamese,
    English) pair a sentence, the one wording of the page and the files: the day of the month-end snapshot (and that
    it was taken before the month's last day when it was), and the day of the previous month's last snapshot the
    people paid in the month are counted against, or why that is not known (``unknown``: how such a figure shows,
    :data:`PAGE_UNKNOWN` or :data:`FILE_UNKNOWN`)."""
    said = []
    end_day, end = sources["end_day"], _dmy(sources["end"])
    blank_vi, blank_en = unknown
    if sources["running"]:
        said.append(
            (
                f"Cuối tháng: tháng đang diễn ra, số liệu hiện tại ngày {_dmy(today)}.",
                f"Month's end: the month is running, today's figures ({_dmy(today)}).",
            )
        )
    elif end_day is None:
        said.append(
            (
                "Cuối tháng: không có bản chụp số liệu nào trong tháng, số liệu cuối tháng không xác định "
                f"({blank_vi}).",
                f"Month's end: no snapshot was taken in the month, its figures are not known ({blank_en}).",
            )
        )
    elif end_day < sources["end"]:
        said.append(
            (
                f"Cuối tháng: bản chụp số liệu ngày {_dmy(end_day)}, lập trước ngày cuối tháng {end} (không có bản "
                "chụp nào sau ngày đó trong tháng).",
                f"Month's end: the snapshot of {_dmy(end_day)}, taken before the month's last day, {end} (none was "
                "taken after it in the month).",
            )
        )
    else:
        said.append(
            (f"Cuối tháng: bản chụp số liệu ngày {_dmy(end_day)}.", f"Month's end: the snapshot of {_dmy(end_day)}.")
        )
    start_day, previous_end = sources["start_day"], _dmy(sources["previous_end"])
    if start_day is not None:
        said.append(
            (
                f"Chi trả trong tháng: so với bản chụp số liệu cuối cùng của tháng trước, ngày {_dmy(start_day)}.",
                f"Paid in the month: against the previous month's last snapshot, of {_dmy(start_day)}.",
            )
        )
        if start_day < sources["previous_end"]:
            said.append(
                (
                    f"Bản chụp đó lập trước ngày cuối tháng trước {previous_end}: người được chi trả sau ngày "
                    f"{_dmy(start_day)} đến hết tháng trước được tính vào tháng này.",
                    f"That snapshot was taken before the previous month's last day, {previous_end}: people paid "
                    f"after {_dmy(start_day)} and by the end of that month are counted in this month.",
                )
            )
    elif sources["first_month"]:
        said.append(
            (
                "Chi trả trong tháng: trước tháng này chưa ai được chi trả, nên số chi trả trong tháng là toàn bộ số "
                "đã chi trả đến cuối tháng.",
                "Paid in the month: nobody was paid before it, so the paid in the month are all the paid by its end.",
            )
        )
    else:
        said.append(
            (
                f"Chi trả trong tháng không xác định ({blank_vi}): tháng trước không có bản chụp số liệu nào trong "
                "tháng đó.",
                f"Paid in the month not known ({blank_en}): no snapshot was taken in the previous month.",
            )
        )
    return said


def monthly_sources_note(sources: dict[str, Any], today: date) -> list[str]:
    """:func:`monthly_sources_said` in the files: a sentence a row, in both languages."""
    return [" / ".join(pair) for pair in monthly_sources_said(sources, today, FILE_UNKNOWN)]


def monthly_file(
    rows: list[dict[str, Any]],
    month: str,
    fmt: str = "xlsx",
    *,
    by_district: bool = False,
    sources: dict[str, Any] | None = None,
    today: date | None = None,
    heading: Sequence[str] = (),
) -> bytes:
    """The monthly report as XLSX or CSV (UTF-8 with BOM), the same columns in both (:data:`MONTHLY_HEADER`): a row
    per province (``by_district``: per district, :data:`MONTHLY_DISTRICT_HEADER`), then the total; a figure not
    known is a blank cell, and a note under the total says why; with ``sources``
    (:func:`disburse.dashboard.queries.month_sources`) notes under it name the snapshots' days
    (:func:`monthly_sources_note`). ``heading``: the XLSX's title lines above the table (:func:`monthly_heading`,
    as the cash list's); the CSV has none."""
    assert fmt in MEDIA_TYPES

    areas = [_monthly_row(row["code"], row["name"], row) for row in rows]
    footer = [_monthly_row("", "Tổng cộng / Total", monthly_totals(rows))]
    if unpaid_parts_unknown(rows):
        footer.append(["", MONTHLY_UNKNOWN_NOTE])
    if sources is not None:
        footer.extend(["", note] for note in monthly_sources_note(sources, today or sources["end"]))
    title = f"Bao cao {month.replace('/', '-')}"
    header = MONTHLY_DISTRICT_HEADER if by_district else MONTHLY_HEADER
    if fmt == "csv" or not heading:  # a CSV is a table for a program: the header, the rows, the total and notes
        return table_bytes(fmt, header, areas, title=title, formats=MONTHLY_FORMATS, footer=footer)
    with tempfile.TemporaryDirectory(prefix="disburse-dashboard-") as folder:
        path = Path(folder) / "monthly.xlsx"
        write_xlsx(path, header, areas, title=title, formats=MONTHLY_FORMATS, footer=footer, heading=heading)
        return path.read_bytes()


def monthly_heading(program: Program, area_name: str | None, month: str, today: date) -> list[str]:
    """The monthly XLSX's title lines, as the page's: the report and its month (in bold), the programme, the area
    (``area_name`` as the registry names it; None: the whole country) and the day it was made, in both
    languages."""
    return [
        f"Báo cáo tháng {month} / Monthly report {month}",
        f"{program.name_vi} / {program.name_en} ({program.code})",
        "Toàn quốc / The whole country" if area_name is None else area_name,  # a name is the same in both
        f"Lập ngày {_dmy(today)} / Made on {_dmy(today)}",
    ]


def _known(value: int | None) -> int | str:
    return "" if value is None else value


def _monthly_row(code: str, name: str, row: dict[str, Any]) -> list[Any]:
    return [
        code,
        name,
        _known(row["eligible"]),
        _known(row["paid"]),
        _known(row["paid_in_month"]),
        percent_cell(row["percent_paid"]),
        _known(row["paid_amount_vnd"]),
        row["reduction_employers"],
        row["reduction_employees"],
        row["reduction_vnd"],
        _known(row["unpaid"]),
        _known(row["payment_pending_bank"]),
        _known(row["payment_pending_bank_amount_vnd"]),
        _known(row["payment_pending_cash"]),
        _known(row["payment_pending_cash_amount_vnd"]),
        _known(row["approved"]),
        _known(row["payment_failed"]),
        _known(row["awaiting_details"]),
        _known(row["needs_review"]),
        _known(row["checking"]),
    ]
