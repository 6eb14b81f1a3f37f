"""Spreadsheets in and out, safely: every CSV or XLSX file disburse reads or writes goes through here.

Reading (imports, Form 02 returns): a workbook is checked before it is opened (a zip bomb, a shared-strings table
that would fill the memory, too many columns) and read without trusting what it says about itself (openpyxl's
read-only mode believes the sheet's ``<dimension>``, so a file claiming one row would lose the others). XML is
parsed by defusedxml (openpyxl uses it when it is installed): a DTD or entity declaration is refused. Rows past
Excel's own limit are refused; empty rows are not rows.

Writing (errors files, Form 01 lists, exports): a cell that a spreadsheet would run as a formula (it starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading apostrophe, as OWASP's
CSV-injection rule says, and no cell is longer than Excel's limit. What we store is always the value as received.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Excel's limits: a sheet has at most this many rows, a cell at most this many characters.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CELL = 32_767
#: Our limits for a file someone hands us: far above any real registry file, far below what hurts the machine.
MAX_COLUMNS = 256
MAX_UNCOMPRESSED_BYTES = 2 << 30
MAX_SHARED_STRINGS_BYTES = 256 << 20
#: A part of the workbook bigger than this that compresses better than :data:`MAX_RATIO` is a bomb, not data.
RATIO_CHECKED_FROM = 16 << 20
MAX_RATIO = 100
#: How far into another sheet we look for data (so a sheet of a million empty rows costs nothing).
OTHER_SHEET_PEEK_ROWS = 1000

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A plain signed number ("-1", "+84") is data, not a formula: it is written as it came.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


class UnusableFile(Exception):
    """The file cannot be used at all (an import's exit code 2); nothing was changed.

    ``message_vi`` / ``message_en`` are written for people; ``str()`` gives both.
    """

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(f"{message_vi} / {message_en}")
        self.message_vi = message_vi
        self.message_en = message_en


def _vi(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB"


def check_workbook(path: Path) -> None:
    """Refuse a workbook whose parts would take too much memory or time to read, before anything reads it."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnusableFile(
            "Tệp không phải là bảng tính XLSX hợp lệ.", "The file is not a valid XLSX workbook."
        ) from exc
    total = sum(p.file_size for p in parts)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise UnusableFile(
            f"Bảng tính giải nén ra {_mb(total)}, quá giới hạn {_mb(MAX_UNCOMPRESSED_BYTES)}; hãy chia nhỏ tệp "
            "hoặc lưu dưới dạng CSV.",
            f"The workbook unpacks to {_mb(total)}, over the {_mb(MAX_UNCOMPRESSED_BYTES)} limit; split it or "
            "save it as CSV.",
        )
    for part in parts:
        if part.filename.endswith("sharedStrings.xml") and part.file_size > MAX_SHARED_STRINGS_BYTES:
            raise UnusableFile(
                f"Bảng chuỗi dùng chung của bảng tính quá lớn ({_mb(part.file_size)}); hãy lưu dưới dạng CSV.",
                f"The workbook's shared strings are too big ({_mb(part.file_size)}); save it as CSV.",
            )
        if part.file_size > RATIO_CHECKED_FROM and part.file_size > MAX_RATIO * max(part.compress_size, 1):
            raise UnusableFile(
                f"Bảng tính có phần '{part.filename}' nén bất thường ({_mb(part.file_size)} khi giải nén); tệp có "
                "thể bị lỗi hoặc độc hại.",
                f"The workbook's part '{part.filename}' is abnormally compressed ({_mb(part.file_size)} unpacked); "
                "the file may be broken or hostile.",
            )


def _too_many_columns(count: int) -> UnusableFile:
    return UnusableFile(
        f"Tệp có {_vi(count)} cột; tối đa {MAX_COLUMNS} cột.",
        f"The file has {count:,} columns; at most {MAX_COLUMNS} are allowed.",
    )


def check_width(count: int) -> None:
    if count > MAX_COLUMNS:
        raise _too_many_columns(count)


def _is_empty(values: Sequence[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


@dataclass
class Workbook:
    """The first sheet's rows, read without trusting the sheet's stated size; see :func:`open_workbook`."""

    sheet: Any
    #: Other sheets that hold data: they are not read, and the caller says so.
    other_sheets_with_data: list[str] = field(default_factory=list)

    def rows(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        """(spreadsheet row number, values) of every non-empty row, the header included."""
        for row_no, values in enumerate(self.sheet.iter_rows(values_only=True), start=1):
            if row_no > EXCEL_MAX_ROWS:
                raise UnusableFile(
                    f"Trang tính có hơn {_vi(EXCEL_MAX_ROWS)} dòng, giới hạn của Excel.",
                    f"The sheet has more than {EXCEL_MAX_ROWS:,} rows, Excel's own limit.",
                )
            if not values or _is_empty(values):
                continue
            if len(values) > MAX_COLUMNS:
                last = max(i for i, v in enumerate(values) if v is not None and str(v).strip()) + 1
                if last > MAX_COLUMNS:
                    raise _too_many_columns(last)
                values = values[:last]
            yield row_no, tuple(values)


@contextmanager
def open_workbook(path: Path) -> Iterator[Workbook]:
    """Check ``path`` (:func:`check_workbook`), open it read-only and yield its first sheet; UnusableFile for a
    workbook that cannot be read, a DTD or entity declaration, or no sheet at all."""
    import openpyxl
    from defusedxml import DefusedXmlException
    from openpyxl.utils.exceptions import InvalidFileException

    check_workbook(path)
    # Our own handle, closed whatever happens: openpyxl leaves its archive open when it fails to read one.
    with path.open("rb") as handle:
        try:
            workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
            if isinstance(exc, DefusedXmlException) or isinstance(exc.__cause__, DefusedXmlException):
                raise _hostile_xml() from exc
            raise UnusableFile(
                "Tệp không phải là bảng tính XLSX hợp lệ.", "The file is not a valid XLSX workbook."
            ) from exc
        try:
            if not workbook.worksheets:
                raise UnusableFile("Bảng tính không có trang nào.", "The workbook has no sheets.")
            first, *others = workbook.worksheets
            first.reset_dimensions()  # the stated size may lie: read every row that is there
            yield Workbook(first, [sheet.title for sheet in others if _has_data(sheet)])
        except DefusedXmlException as exc:
            raise _hostile_xml() from exc
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
            raise UnusableFile(
                "Không đọc được bảng tính XLSX (tệp hỏng?).", "The XLSX workbook cannot be read (a damaged file?)."
            ) from exc
        finally:
            workbook.close()


def _has_data(sheet: Any) -> bool:
    if not hasattr(sheet, "iter_rows"):
        return False  # a chart sheet
    sheet.reset_dimensions()
    for n, values in enumerate(sheet.iter_rows(values_only=True)):
        if n >= OTHER_SHEET_PEEK_ROWS:
            return False
        if values and not _is_empty(values):
            return True
    return False


def _hostile_xml() -> UnusableFile:
    return UnusableFile(
        "Bảng tính có khai báo DTD hoặc thực thể XML, không được phép; hãy lưu lại tệp bằng Excel hoặc LibreOffice.",
        "The workbook declares an XML DTD or entities, which is not allowed; save it again with Excel or LibreOffice.",
    )


def other_sheets_note(names: Sequence[str]) -> tuple[str, str]:
    """What to tell people when a workbook has data on sheets other than the first (which alone is read)."""
    listed = ", ".join(f"'{n}'" for n in names)
    return (
        f"Chỉ trang đầu tiên được đọc; các trang khác cũng có dữ liệu và đã bị bỏ qua: {listed}.",
        f"Only the first sheet was read; these other sheets hold data and were not read: {listed}.",
    )


# ---------------------------------------------------------------------------------------------- small tables


def read_table(path: Path, *, max_rows: int = 200_000) -> tuple[list[str], list[tuple[int, dict[str, Any]]], list[str]]:
    """A small table (a form an employer returns): the lower-cased header, (row number, {column: cell}) per data
    row, and the names of other sheets with data. CSV must be UTF-8 (with or without BOM)."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK\x03\x04"):
        with open_workbook(path) as workbook:
            rows = workbook.rows()
            first = next(rows, None)
            if first is None:
                raise UnusableFile("Bảng tính trống.", "The workbook is empty.")
            header = normalise_header(first[1])
            data = [(n, dict(zip(header, values, strict=False))) for n, values in _capped(rows, max_rows)]
            return header, data, workbook.other_sheets_with_data
    return (*_read_csv_table(path, max_rows), [])


def _capped(rows: Iterable[tuple[int, Sequence[Any]]], max_rows: int) -> Iterator[tuple[int, Sequence[Any]]]:
    for count, row in enumerate(rows, start=1):
        if count > max_rows:
            raise UnusableFile(
                f"Tệp có hơn {_vi(max_rows)} dòng dữ liệu.", f"The file has over {max_rows:,} data rows."
            )
        yield row


def _read_csv_table(path: Path, max_rows: int) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            records = csv.reader(fh)
            header = normalise_header(next(records, []))
            check_width(len(header))
            numbered = ((n, record) for n, record in enumerate(records, start=2) if any(c.strip() for c in record))
            data = [(n, dict(zip(header, record, strict=False))) for n, record in _capped(numbered, max_rows)]
    except UnicodeDecodeError as exc:
        raise UnusableFile(
            "Tệp không được mã hoá UTF-8; hãy lưu lại dưới dạng CSV UTF-8.",
            "The file is not UTF-8 encoded; save it as CSV UTF-8.",
        ) from exc
    except csv.Error as exc:
        raise UnusableFile(f"Không đọc được tệp CSV: {exc}.", f"The CSV file cannot be parsed: {exc}.") from exc
    if not header:
        raise UnusableFile("Tệp rỗng.", "The file is empty.")
    return header, data


def normalise_header(cells: Sequence[Any]) -> list[str]:
    """Header cells as lower-case names; ``Mã số BHXH (si_code)`` names the column ``si_code``."""
    names = []
    for cell in cells:
        name = ("" if cell is None else str(cell)).strip().lstrip("\ufeff").strip().lower()
        if name.endswith(")") and "(" in name:
            name = name[name.rindex("(") + 1 : -1].strip()
        names.append(name)
    while names and names[-1] == "":
        names.pop()
    return names


# --------------------------------------------------------------------------------------------------- writing


def safe_cell(value: Any) -> Any:
    """A value as a spreadsheet may show it without running it: text that would start a formula gets a leading
    apostrophe (a plain signed number such as "-1" excepted), and text is cut to Excel's cell limit. Numbers and
    dates pass as they are."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if not isinstance(value, str):
        return value
    text = value
    if text.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        text = "'" + text
    if len(text) > EXCEL_MAX_CELL:
        text = text[: EXCEL_MAX_CELL - 1] + "…"
    return text


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """A CSV for spreadsheets (UTF-8 with BOM, so Excel reads Vietnamese); returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([safe_cell(h) for h in header])
        for row in rows:
            writer.writerow([safe_cell(v) for v in row])
            count += 1
    return count


class SpreadsheetWriter:
    """Rows into a CSV file for spreadsheets, row by row (the errors file of a big import)."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.handle)
        self.writer.writerow([safe_cell(h) for h in header])

    def write(self, row: Sequence[Any]) -> None:
        self.writer.writerow([safe_cell(v) for v in row])

    def close(self) -> None:
        self.handle.close()


def write_xlsx(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str = "Sheet1") -> int:
    """An XLSX workbook of one sheet (openpyxl's streaming writer); every text cell stays text."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: Any) -> Any:
        # XML cannot carry most control characters: a name imported with one must not stop the export.
        value = safe_cell(value)
        return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=ILLEGAL_CHARACTERS_RE.sub("", title)[:31] or "Sheet1")
    sheet.append([cell(h) for h in header])
    count = 0
    for row in rows:
        sheet.append([cell(v) for v in row])
        count += 1
    workbook.save(path)
    return count


def writable(path: Path, *, not_this: Path | None = None) -> None:
    """Check, before any work, that ``path`` can be written (and is not the input file ``not_this``)."""
    if not_this is not None and path.resolve() == not_this.resolve():
        raise UnusableFile(
            "Tệp lỗi không được trùng với tệp đang nhập.", "The errors file must not be the file being imported."
        )
    if path.is_dir():
        raise UnusableFile(f"'{path}' là một thư mục.", f"'{path}' is a directory.")
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise UnusableFile(
            f"Không ghi được tệp lỗi '{path}': {exc.strerror}.",
            f"The errors file '{path}' cannot be written: {exc.strerror}.",
        ) from exc
    if not existed:
        path.unlink(missing_ok=True)
