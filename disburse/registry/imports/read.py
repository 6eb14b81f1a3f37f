"""Reading an import file into a staging table: every cell as text, one row per data row, numbered as a
spreadsheet user sees it (the header is row 1).

CSV goes to PostgreSQL raw (``COPY … FROM STDIN (FORMAT csv)``): PostgreSQL parses it, which is the fast path.
When PostgreSQL refuses the file's structure (a row with too many or too few values, an unterminated quote,
a blank line), the staging is rolled back to a savepoint and the file is read again with Python's ``csv``
module, which can say exactly which rows are broken; the others are staged as usual. XLSX is streamed through
:mod:`disburse.spreadsheets` (checked for bombs first, never trusting its stated size); a row whose cell, in a column
the import reads, holds a formula never calculated (its value is not in the file) is not staged either, and is
reported cell by cell (``uncalculated_formula``). Anything that cannot be read at all raises :class:`UnusableFile`.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from disburse.formatting import composed
from disburse.spreadsheets import (
    UncalculatedFormula,
    UnusableFile,
    check_header_cells,
    check_width,
    empty_first_sheet,
    open_workbook,
    sniff,
    uncalculated_columns,
)

CHUNK = 1 << 20
#: The ``pad`` width that means "a national ID: 9 or 12 digits".
NATIONAL_ID_WIDTH = -1
#: The ``pad`` width that means "a Vietnamese phone number": written nationally it begins with 0 (mobiles 0xxx xxx
#: xxx, landlines 02xx …), which a number cell drops; in the international form (84…) it loses only the "+".
PHONE_WIDTH = -2
#: A column whose number cells are refused (a bank account: its leading zeros cannot be told back, and money must
#: not go to an account one digit short): the cell is staged with this mark, which the column's check reports.
NUMBER_REFUSED = 0
NUMBER_MARK = "#"
#: The ``pad`` width that means "a month (mm/yyyy)": Excel turns "10/2021" typed in a cell into the date cell
#: 01/10/2021, which was refused as a month ("Tháng «2021-10-01» không hợp lệ"); a date cell on the first of a month
#: is read as that month. Another day stays the date it is, and is refused as a month.
MONTH_WIDTH = -3
ProgressFn = Callable[[int, int | None], None]


@dataclass
class RowProblem:
    """A row that could not be staged at all: wrong number of values, or (a workbook's row) cells holding a formula
    never calculated, in ``uncalculated``."""

    row: int
    values: int = 0
    expected: int = 0
    #: (column, the formula) of each cell, in a column the import reads, holding a formula never calculated.
    uncalculated: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Staged:
    table: str
    #: Lower-cased header names, in file order; the staging column for header[i] is ``c{i}``.
    header: list[str]
    rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    path_taken: str = "copy"
    #: Whether cells may start or end with spaces: the Python readers strip them, PostgreSQL's COPY does not.
    needs_trim: bool = True
    #: Other sheets of a workbook that hold data: only the first sheet is read, and the caller says so.
    other_sheets: list[str] = field(default_factory=list)

    def column(self, name: str) -> str:
        return f"c{self.header.index(name)}"


# --------------------------------------------------------------------------------------------------- sniffing


def _not_utf8(where: str, where_en: str) -> UnusableFile:
    return UnusableFile(
        f"Tệp không được mã hoá UTF-8 ({where}); hãy lưu lại dưới dạng CSV UTF-8.",
        f"The file is not UTF-8 encoded ({where_en}); save it as CSV UTF-8.",
    )


def _check_header(header: list[str], required: Sequence[str]) -> None:
    missing = [name for name in required if name not in header]
    if missing:
        names = ", ".join(missing)
        hint_vi = hint_en = ""
        if len(header) == 1 and any(sep in header[0] for sep in (";", "\t", "|")):
            hint_vi = " Tệp có vẻ dùng dấu phân cách khác dấu phẩy; hãy dùng dấu phẩy."
            hint_en = " The file seems to use a separator other than a comma; use commas."
        raise UnusableFile(
            f"Thiếu cột: {names}. Dòng đầu tiên phải là tiêu đề với các cột: {', '.join(required)}.{hint_vi}",
            f"Missing columns: {names}. The first row must be a header with the columns: "
            f"{', '.join(required)}.{hint_en}",
        )
    repeated = sorted({name for name in required if header.count(name) > 1})
    if repeated:
        raise UnusableFile(
            f"Cột xuất hiện nhiều lần trong tiêu đề: {', '.join(repeated)}.",
            f"Columns repeated in the header: {', '.join(repeated)}.",
        )


def _normalise_header(cells: Sequence[Any]) -> list[str]:
    return [composed("" if c is None else str(c)).strip().lstrip("\ufeff").strip().lower() for c in cells]


# ------------------------------------------------------------------------------------------------- staging


def create_stage(conn: psycopg.Connection[Any], table: str, ncols: int) -> None:
    cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(f"c{i}")) for i in range(ncols))
    conn.execute(
        # A sequence cache: the row numbers come from this backend's memory, not a shared sequence page per row.
        sql.SQL(
            "CREATE UNLOGGED TABLE {} (row bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 2 CACHE 100000), {})"
        ).format(sql.Identifier(table), cols)
    )


def _copy_sql(table: str, ncols: int, *, with_row: bool, csv_format: bool) -> sql.Composed:
    names = ([sql.Identifier("row")] if with_row else []) + [sql.Identifier(f"c{i}") for i in range(ncols)]
    opts = sql.SQL(" (FORMAT csv)") if csv_format else sql.SQL("")
    return sql.SQL("COPY {} ({}) FROM STDIN{}").format(sql.Identifier(table), sql.SQL(", ").join(names), opts)


def stage_file(
    conn: psycopg.Connection[Any],
    path: Path,
    table: str,
    required: Sequence[str],
    *,
    pad: dict[str, int] | None = None,
    progress: ProgressFn | None = None,
) -> Staged:
    """Stage ``path`` into a new UNLOGGED table ``table``; raise UnusableFile when it cannot be used."""
    kind = sniff(path)
    if kind == "xlsx":
        staged = _stage_xlsx(conn, path, table, required, pad or {}, progress)
    else:
        staged = _stage_csv(conn, path, table, required, progress)
    if staged.rows == 0 and not staged.problems:
        raise UnusableFile(
            "Tệp chỉ có dòng tiêu đề, không có dòng dữ liệu nào.", "The file has a header row but no data rows."
        )
    return staged


class _FallBack(Exception):
    """PostgreSQL's CSV parser cannot be trusted with this file: read it with Python instead."""


def _read_csv_header(path: Path) -> tuple[list[str], int]:
    """The header cells and the byte offset where the data starts (after an optional BOM). Lines may end in LF,
    CRLF or a lone CR (old Mac exports)."""
    with path.open("rb") as fh:
        head = fh.read(CHUNK)
    start = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    ends = [i for i in (head.find(b"\n", start), head.find(b"\r", start)) if i >= 0]
    end = min(ends) if ends else -1
    line = head[start:] if end < 0 else head[start:end]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8("dòng tiêu đề", "the header row") from exc
    if not text.strip():
        raise UnusableFile(
            "Dòng đầu tiên của tệp trống; dòng đầu phải là tiêu đề.",
            "The first line of the file is blank; it must be the header row.",
        )
    try:
        header = _normalise_header(next(csv.reader([text])))
    except csv.Error as exc:
        raise UnusableFile(f"Không đọc được dòng tiêu đề: {exc}.", f"The header row cannot be parsed: {exc}.") from exc
    check_width(len(header))
    if end < 0:
        return header, len(head)
    return header, end + (2 if head[end : end + 2] == b"\r\n" else 1)


def _stage_csv(
    conn: psycopg.Connection[Any], path: Path, table: str, required: Sequence[str], progress: ProgressFn | None
) -> Staged:
    header, data_start = _read_csv_header(path)
    _check_header(header, required)
    staged = Staged(table=table, header=header)
    create_stage(conn, table, len(header))
    size = path.stat().st_size
    conn.execute("SAVEPOINT disburse_import_copy")
    try:
        staged.rows = _copy_raw(conn, path, staged, data_start, size, progress)
        conn.execute("RELEASE SAVEPOINT disburse_import_copy")
        return staged
    except (_FallBack, pg_errors.BadCopyFileFormat):
        conn.execute("ROLLBACK TO SAVEPOINT disburse_import_copy")
        conn.execute("RELEASE SAVEPOINT disburse_import_copy")
    except (pg_errors.CharacterNotInRepertoire, pg_errors.UntranslatableCharacter) as exc:
        conn.execute("ROLLBACK TO SAVEPOINT disburse_import_copy")
        line = _copy_line(exc, _lines_before(path, data_start))
        raise _not_utf8(f"dòng {line}" if line else "", f"line {line}" if line else "") from exc
    staged.path_taken = "python"
    staged.needs_trim = False
    _copy_python(conn, path, staged, size, progress)
    return staged


def _copy_line(exc: psycopg.Error, lines_before: int) -> str:
    """The file's line PostgreSQL's COPY stopped on, numbered as a spreadsheet numbers rows (the header is line 1):
    COPY counts from the first line it was given, after the ``lines_before`` of the header."""
    context = getattr(exc.diag, "context", None) or ""
    marker = ", line "
    if marker in context:
        line = context.split(marker, 1)[1].split(",", 1)[0].split(":", 1)[0].strip()
        return str(int(line) + lines_before) if line.isascii() and line.isdigit() else line
    return ""


def _lines_before(path: Path, data_start: int) -> int:
    """How many lines the file has before byte ``data_start`` (the header's, a quoted line break counting)."""
    with path.open("rb") as fh:
        return fh.read(data_start).count(b"\n")


def _copy_raw(
    conn: psycopg.Connection[Any],
    path: Path,
    staged: Staged,
    offset: int,
    size: int,
    progress: ProgressFn | None,
) -> int:
    """Stream the raw bytes after the header to PostgreSQL; it parses the CSV."""
    lines = 0
    sent = offset
    tail = b"\n"
    statement = _copy_sql(staged.table, len(staged.header), with_row=False, csv_format=True)
    with conn.cursor() as cur:
        with cur.copy(statement) as copy, path.open("rb") as fh:
            fh.seek(offset)
            while chunk := fh.read(CHUNK):
                # "\." alone on a line ends COPY data early: such a file goes the careful way.
                if b"\n\\." in tail + chunk or b"\r\\." in tail + chunk:
                    raise _FallBack
                tail = chunk[-1:]
                copy.write(chunk)
                sent += len(chunk)
                lines += chunk.count(b"\n")
                if progress:
                    progress(lines, max(lines, int(lines * size / max(sent - offset, 1))))
        # Read while the cursor is open: once closed, psycopg reports -1.
        return int(cur.rowcount)


def _copy_python(
    conn: psycopg.Connection[Any], path: Path, staged: Staged, size: int, progress: ProgressFn | None
) -> None:
    ncols = len(staged.header)
    csv.field_size_limit(1 << 20)
    row_no = 1
    with path.open("r", encoding="utf-8-sig", newline="") as fh, conn.cursor() as cur:
        reader = csv.reader(fh)
        with cur.copy(_copy_sql(staged.table, ncols, with_row=True, csv_format=False)) as copy:
            try:
                next(reader)  # the header, already checked
                for record in reader:
                    row_no += 1
                    if not any(record):
                        continue  # a blank line (or one of empty cells only) is not a data row
                    if len(record) > ncols and not any(cell.strip() for cell in record[ncols:]):
                        record = record[:ncols]
                    if len(record) != ncols:
                        staged.problems.append(RowProblem(row_no, len(record), ncols))
                        continue
                    if any("\x00" in cell for cell in record):
                        raise UnusableFile(
                            f"Tệp có dữ liệu nhị phân (ký tự NUL) ở dòng {row_no}.",
                            f"The file holds binary data (a NUL character) on row {row_no}.",
                        )
                    copy.write_row([row_no, *(cell.strip() for cell in record)])
                    staged.rows += 1
                    if progress and row_no % 10_000 == 0:
                        done = fh.buffer.tell()  # type: ignore[attr-defined]
                        progress(row_no - 1, max(row_no - 1, int((row_no - 1) * size / max(done, 1))))
            except UnicodeDecodeError as exc:
                raise _not_utf8(f"gần dòng {row_no + 1}", f"near row {row_no + 1}") from exc
            except csv.Error as exc:
                raise UnusableFile(
                    f"Không đọc được tệp CSV ở dòng {row_no + 1}: {exc}.",
                    f"The CSV file cannot be parsed at row {row_no + 1}: {exc}.",
                ) from exc


# ------------------------------------------------------------------------------------------------------ XLSX


def _cell_text(value: Any, width: int | None) -> str | None:
    """A spreadsheet cell as the text a CSV would have held."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    at_midnight = not isinstance(value, datetime) or value.time() == time(0)
    if width == MONTH_WIDTH and isinstance(value, date) and value.day == 1 and at_midnight:
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        # A number cell has lost the leading zeros of a fixed-width code (SI code, GSO codes); a national ID
        # is 9 or 12 digits, so an 8- or 11-digit number lost exactly one zero.
        text = str(value)
        if width == NUMBER_REFUSED:
            return NUMBER_MARK + text
        if width == NATIONAL_ID_WIDTH:
            return "0" + text if len(text) in (8, 11) else text
        if width == PHONE_WIDTH:
            return "+" + text if text.startswith("84") and len(text) == 11 else "0" + text
        return text.zfill(width) if width and len(text) < width else text
    return str(value)


def _stage_xlsx(
    conn: psycopg.Connection[Any],
    path: Path,
    table: str,
    required: Sequence[str],
    pad: dict[str, int],
    progress: ProgressFn | None,
) -> Staged:
    """The first sheet, every row that is there (the workbook's own account of its size is not trusted), with the
    sheet's own row numbers; :func:`disburse.spreadsheets.open_workbook` refuses bombs and DTDs first."""
    with open_workbook(path) as workbook:
        rows = workbook.rows()
        first = next(rows, None)
        if first is None:
            raise empty_first_sheet(workbook)
        check_header_cells(first[1])
        header = _normalise_header(first[1])
        while header and header[-1] == "":
            header.pop()
        check_width(len(header))
        _check_header(header, required)
        staged = Staged(
            table=table,
            header=header,
            path_taken="xlsx",
            needs_trim=False,
            other_sheets=workbook.other_sheets_with_data,
        )
        ncols = len(header)
        widths = [pad.get(name) for name in header]
        read = set(required)
        uncalculated = workbook.uncalculated_rows
        create_stage(conn, table, ncols)
        with conn.cursor() as cur, cur.copy(_copy_sql(table, ncols, with_row=True, csv_format=False)) as copy:
            for row_no, values in rows:
                if row_no in uncalculated:  # few rows, if any: the others cost one look-up
                    uncalculated.discard(row_no)
                    problem = _uncalculated(row_no, values[:ncols], header, read)
                    if problem is not None:
                        staged.problems.append(problem)
                        continue
                    values = tuple(None if isinstance(v, UncalculatedFormula) else v for v in values)
                cells = [_cell_text(v, w) for v, w in zip(values[:ncols], widths, strict=False)]
                cells = [None if c is None else c.strip() for c in cells]
                if not any(cells):
                    continue
                cells += [None] * (ncols - len(cells))
                if any(c and "\x00" in c for c in cells):
                    raise UnusableFile(
                        f"Bảng tính có ký tự NUL ở dòng {row_no}.",
                        f"The workbook holds a NUL character on row {row_no}.",
                    )
                copy.write_row([row_no, *cells])
                staged.rows += 1
                if progress and staged.rows % 10_000 == 0:
                    progress(staged.rows, None)
        return staged


def _uncalculated(row_no: int, values: Sequence[Any], header: Sequence[str], read: set[str]) -> RowProblem | None:
    """The row's cells holding a formula never calculated, in the columns the import reads (a formula in another
    column is ignored, as the column is); None when there is none."""
    found = [(header[i], str(values[i])) for i in uncalculated_columns(values) if header[i] in read]
    return RowProblem(row_no, uncalculated=found) if found else None
