"""Spreadsheets in and out, safely: every CSV or XLSX file disburse reads or writes goes through here.

Reading (imports, Form 02 returns): a workbook is checked before it is opened (a zip bomb, a shared-strings table
that would fill the memory or that its sheets could never use) and read without trusting what it says about
itself (openpyxl's read-only mode believes the sheet's ``<dimension>``, so a file claiming one row would lose the
others). XML is parsed by defusedxml (openpyxl uses it when it is installed): a DTD or entity declaration is
refused. Rows past Excel's own limit are refused; empty rows are not rows. A row is read no wider than one column
past :data:`MAX_COLUMNS` (data there is refused), so a styled empty cell at column XFD costs nothing. Other sheets
are read until their first data, to name them.

A cell's value is the one the workbook stored when it was last calculated (its cached value). A cell holding a formula
and no value (a file a program such as openpyxl wrote, never opened and saved in Excel or LibreOffice) is not blank:
it comes back as :class:`UncalculatedFormula`, which every reader refuses with :data:`UNCALCULATED_FORMULA`. It is
found while openpyxl parses the row (:func:`_sheet_rows`), looking only at the cells that came back empty, and the
rows holding one are listed (:attr:`Workbook.uncalculated_rows`), so a reader looks at a row's cells only then.

Writing (errors files, Form 01 lists, exports): a cell that a spreadsheet would run as a formula (it starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading apostrophe, as OWASP's
CSV-injection rule says, and no cell is longer than Excel's limit. What we store is always the value as received.
"""

from __future__ import annotations

import codecs
import csv
import functools
import itertools
import logging
import operator
import os
import re
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from flask import Response, send_file

from disburse.formatting import composed, os_reason

log = logging.getLogger(__name__)

#: Excel's limits: a sheet has at most this many rows, a cell at most this many characters.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CELL = 32_767
#: Our limits for a file someone hands us: far above any real registry file, far below what hurts the machine.
MAX_COLUMNS = 256
MAX_UNCOMPRESSED_BYTES = 2 << 30
#: The shared-strings table (every distinct text of the workbook) is the one part openpyxl holds in memory whole,
#: and it reads it at about 100,000 texts a second, each costing about 170 bytes of memory. A million texts is
#: about 10 s and 170 MB, the most one file may cost. It carries a district office's XLSX: 200,000 employees
#: whose SI code, national ID, name, phone and account are all distinct texts, or every row Excel allows with one
#: distinct text column (a name). Bigger registries come as CSV (the national employees file, 13 million rows, is
#: CSV anyway: no sheet holds that many), and the refusal says so. 32 MB is a million texts of 16 characters.
MAX_SHARED_STRINGS = 1_000_000
MAX_SHARED_STRINGS_BYTES = 32 << 20
#: A text of the table is there to be used by a cell, and a cell that uses one takes at least 22 bytes of its sheet
#: (``<c t="s"><v>0</v></c>``): a table with more texts than the sheets' bytes / this could ever use is a bomb
#: (a one-row sheet with a million texts), refused before it costs its seconds. Tables this small pass whatever.
SHEET_BYTES_PER_STRING = 16
SHARED_STRINGS_ALWAYS_FINE = 10_000
#: A part of the workbook bigger than this that compresses better than :data:`MAX_RATIO` is a bomb, not data.
RATIO_CHECKED_FROM = 16 << 20
MAX_RATIO = 100
#: How many rows of the other sheets (all of them together) we read to learn whether they hold data: a sheet's
#: data is found on its first rows, and a workbook whose other sheets run past this many empty rows is a bomb.
OTHER_SHEETS_MAX_ROWS = EXCEL_MAX_ROWS
#: What openpyxl raises on a damaged workbook: a broken zip or compressed stream (a bad CRC, a truncated part), XML
#: that does not parse (``ParseError`` is a ``SyntaxError``), a part that is missing or holds what cannot be.
_DAMAGED: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    SyntaxError,
    KeyError,
    IndexError,
    ValueError,
    TypeError,
    AttributeError,
    OverflowError,
    OSError,
    NotImplementedError,
    RuntimeError,
)
_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
#: The start of a ``<si>`` element (a text of the table), with or without a namespace prefix.
_SI_START = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,40}:)?si[\s/>]")

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A plain signed number ("-1", "+84") is data, not a formula: it is written as it came.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


#: What a reader says of a cell holding a formula never calculated (:class:`UncalculatedFormula`): (Vietnamese,
#: English).
UNCALCULATED_FORMULA = (
    "Ô này chứa công thức chưa được tính (tệp chưa từng được mở và lưu trong Excel). Hãy mở tệp, lưu lại rồi tải "
    "lên, hoặc ghi giá trị thay cho công thức.",
    "This cell holds a formula that was never calculated (the file was never opened and saved in Excel). Open the "
    "file, save it and upload it again, or write the value instead of the formula.",
)


@dataclass(frozen=True)
class UncalculatedFormula:
    """A workbook cell holding a formula with no calculated value: the value Excel would show is not in the file.

    Never a value: a reader refuses the cell (:data:`UNCALCULATED_FORMULA`). ``str()`` gives the formula, for an
    errors file (which writes it with a leading apostrophe, :func:`safe_cell`); empty for a cell sharing another
    cell's formula."""

    formula: str

    def __str__(self) -> str:
        return f"={self.formula}" if self.formula else ""


class UnusableFile(Exception):
    """The file cannot be used at all (an import's exit code 2); nothing was changed.

    ``message_vi`` / ``message_en`` are written for people; ``str()`` gives both.
    """

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(f"{message_vi} / {message_en}")
        self.message_vi = message_vi
        self.message_en = message_en


class TooManyRows(UnusableFile):
    """The file has more data rows than the reader was allowed (``max_rows``); reading stopped there."""

    def __init__(self, max_rows: int) -> None:
        super().__init__(f"Tệp có hơn {_vi(max_rows)} dòng dữ liệu.", f"The file has over {max_rows:,} data rows.")
        self.max_rows = max_rows


def _vi(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB"


def check_workbook(path: Path) -> None:
    """Refuse a workbook whose parts would take too much memory or time to read, before anything reads it."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_parts(archive)
    except _DAMAGED as exc:
        raise UnusableFile(
            "Tệp không phải là bảng tính XLSX hợp lệ.", "The file is not a valid XLSX workbook."
        ) from exc


def _check_parts(archive: zipfile.ZipFile) -> None:
    parts = archive.infolist()
    total = sum(p.file_size for p in parts)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise UnusableFile(
            f"Bảng tính giải nén ra {_mb(total)}, quá giới hạn {_mb(MAX_UNCOMPRESSED_BYTES)}; hãy chia nhỏ tệp "
            "hoặc lưu dưới dạng CSV.",
            f"The workbook unpacks to {_mb(total)}, over the {_mb(MAX_UNCOMPRESSED_BYTES)} limit; split it or "
            "save it as CSV.",
        )
    sheet_bytes = sum(p.file_size for p in parts if _is_worksheet(p.filename))
    for part in _shared_strings_parts(archive, parts):
        _check_shared_strings(archive, part, sheet_bytes)
    for part in parts:
        if part.file_size > RATIO_CHECKED_FROM and part.file_size > MAX_RATIO * max(part.compress_size, 1):
            raise UnusableFile(
                f"Bảng tính có phần '{part.filename}' nén bất thường ({_mb(part.file_size)} khi giải nén); "
                "tệp có thể bị lỗi hoặc độc hại.",
                f"The workbook's part '{part.filename}' is abnormally compressed ({_mb(part.file_size)} "
                "unpacked); the file may be broken or hostile.",
            )


def _is_worksheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml") and "/_rels/" not in name


def _shared_strings_parts(archive: zipfile.ZipFile, parts: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    """The shared-strings table openpyxl will read (the one ``[Content_Types].xml`` names, whatever it is called),
    and any part called so."""
    names = {p.filename for p in parts if p.filename.lower().endswith("sharedstrings.xml")}
    manifest = next((p for p in parts if p.filename == "[Content_Types].xml"), None)
    if manifest is not None and manifest.file_size <= 1 << 20:  # a real one is a few KB; openpyxl refuses others
        from openpyxl.packaging.manifest import Manifest
        from openpyxl.xml.functions import fromstring  # defusedxml's when it is installed

        # A manifest that cannot be read here is refused by openpyxl next, which reads the same part.
        with suppress(Exception):
            declared = Manifest.from_tree(fromstring(archive.read(manifest)))
            names |= {o.PartName.lstrip("/") for o in declared.Override if o.ContentType == _SHARED_STRINGS_TYPE}
    return [p for p in parts if p.filename in names]


def _check_shared_strings(archive: zipfile.ZipFile, part: zipfile.ZipInfo, sheet_bytes: int) -> None:
    too_big = UnusableFile(
        f"Bảng chuỗi dùng chung của bảng tính quá lớn (hơn {_vi(MAX_SHARED_STRINGS)} chuỗi hoặc "
        f"{_mb(MAX_SHARED_STRINGS_BYTES)}); hãy lưu dưới dạng CSV.",
        f"The workbook's shared strings are too big (over {MAX_SHARED_STRINGS:,} texts or "
        f"{_mb(MAX_SHARED_STRINGS_BYTES)}); save it as CSV.",
    )
    if part.file_size > MAX_SHARED_STRINGS_BYTES:
        raise too_big
    count = 0
    carried = b""
    with archive.open(part) as stream:
        while chunk := stream.read(1 << 20):
            buffer = carried + chunk
            # A "<si" cut by the chunk's end is counted with the next chunk: keep what follows the last "<".
            cut = buffer.rfind(b"<")
            cut = cut if cut >= 0 and len(buffer) - cut < 64 else len(buffer)
            count += len(_SI_START.findall(buffer, 0, cut))
            carried = buffer[cut:]
            if count > MAX_SHARED_STRINGS:
                raise too_big
    count += len(_SI_START.findall(carried + b" "))
    if count > MAX_SHARED_STRINGS:
        raise too_big
    if count > max(SHARED_STRINGS_ALWAYS_FINE, sheet_bytes // SHEET_BYTES_PER_STRING):
        raise UnusableFile(
            f"Bảng chuỗi dùng chung của bảng tính có {_vi(count)} chuỗi, nhiều hơn số ô các trang tính có thể "
            "dùng; tệp có thể bị lỗi hoặc độc hại.",
            f"The workbook's shared strings hold {count:,} texts, more than its sheets' cells could use; the file "
            "may be broken or hostile.",
        )


def _too_many_columns(count: int | None) -> UnusableFile:
    """``count`` columns, or None for "more than the limit" (a workbook is read no wider than one past it)."""
    if count is None:
        return UnusableFile(
            f"Tệp có dữ liệu ở cột thứ {MAX_COLUMNS + 1} trở đi; tối đa {MAX_COLUMNS} cột.",
            f"The file has data past column {MAX_COLUMNS}; at most {MAX_COLUMNS} columns are allowed.",
        )
    return UnusableFile(
        f"Tệp có {_vi(count)} cột; tối đa {MAX_COLUMNS} cột.",
        f"The file has {count:,} columns; at most {MAX_COLUMNS} are allowed.",
    )


def check_width(count: int) -> None:
    if count > MAX_COLUMNS:
        raise _too_many_columns(count)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_empty(values: Sequence[Any]) -> bool:
    if values.count(None) == len(values):  # the common case, in C: a row of nothing
        return True
    return all(_blank(v) for v in values)


@dataclass
class Workbook:
    """The first sheet's rows, read without trusting the sheet's stated size; see :func:`open_workbook`."""

    sheet: Any
    #: Other sheets that hold data: they are not read, and the caller says so.
    other_sheets_with_data: list[str] = field(default_factory=list)
    #: The spreadsheet row numbers, among the rows read so far, of the rows with a cell holding a formula never
    #: calculated (:class:`UncalculatedFormula`): a reader that takes its values one by one looks for one in these
    #: rows only.
    uncalculated_rows: set[int] = field(default_factory=set)

    def rows(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        """(spreadsheet row number, values) of every non-empty row, the header included."""
        for row_no, values in enumerate(_values(self.sheet, self.uncalculated_rows), start=1):
            if row_no > EXCEL_MAX_ROWS:
                raise UnusableFile(
                    f"Trang tính có hơn {_vi(EXCEL_MAX_ROWS)} dòng, giới hạn của Excel.",
                    f"The sheet has more than {EXCEL_MAX_ROWS:,} rows, Excel's own limit.",
                )
            if not values or _is_empty(values):
                continue
            yield row_no, _within_width(values)


def _values(sheet: Any, uncalculated_rows: set[int] | None = None) -> Iterator[tuple[Any, ...]]:
    """The sheet's rows as values, never wider than one column past :data:`MAX_COLUMNS`: openpyxl otherwise builds
    each row as wide as its last cell, and a styled empty cell at column XFD makes every row 16,384 values. Data in
    that one column refuses the file (:func:`_within_width`); columns further right have no header (the header is
    capped too) and are ignored, as an import ignores every column it has no use for.

    What openpyxl raises while it reads (the sheet is parsed as it is read) is an UnusableFile: a damaged or
    hostile workbook, not a failure of ours."""
    from defusedxml import DefusedXmlException

    rows = _sheet_rows(sheet, set() if uncalculated_rows is None else uncalculated_rows)
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except DefusedXmlException as exc:
            raise _hostile_xml() from exc
        except _DAMAGED as exc:
            raise UnusableFile(
                "Không đọc được bảng tính XLSX (tệp hỏng?).", "The XLSX workbook cannot be read (a damaged file?)."
            ) from exc
        yield values


def _sheet_rows(sheet: Any, uncalculated_rows: set[int]) -> Iterator[tuple[Any, ...]]:
    """What openpyxl's read-only ``sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1)`` gives from the first
    row (rows the sheet leaves out are empty rows; a row number that goes back is skipped), with openpyxl's own
    parser made to tell a formula never calculated (:func:`_formula_parser`); the rows holding one go into
    ``uncalculated_rows``."""
    width = MAX_COLUMNS + 1
    empty = (None,) * width
    workbook = sheet.parent
    expected = 1
    with sheet._get_source() as source:
        parser = _formula_parser()(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        parser.uncalculated_rows = uncalculated_rows
        for number, cells in parser.parse():
            while expected < number:
                expected += 1
                yield empty
            if number != expected:
                continue
            expected += 1
            values: list[Any] = [None] * width
            for cell in cells:
                column = cell["column"]
                if 1 <= column <= width:
                    values[column - 1] = cell["value"]
            yield tuple(values)


@functools.cache
def _formula_parser() -> type:
    """openpyxl's worksheet parser, with cached values (``data_only``), that gives :class:`UncalculatedFormula` for
    a cell holding a formula and no value, where openpyxl gives None as for a blank cell.

    The cost stays off the rows without an empty cell: a row's values are looked at once, in C, for a None; only a
    row with one has its empty cells looked at. A formula whose value is an empty text (``t="str"`` and an empty
    ``<v>``, as Excel and LibreOffice store ``=""``) was calculated: it stays blank. (A program that writes a made-up
    value with its formulas, as XlsxWriter writes 0, cannot be told from a calculation.)"""
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    value_of = operator.itemgetter("value")

    class FormulaParser(WorkSheetParser):
        uncalculated_rows: set[int]

        def parse_row(self, row: Any) -> tuple[int, list[dict[str, Any]]]:
            number, cells = super().parse_row(row)
            if None in map(value_of, cells):
                for cell, element in zip(cells, row, strict=False):
                    if cell["value"] is not None:
                        continue
                    value = element.find(VALUE_TAG)
                    if value is not None and (value.text or element.get("t") == "str"):
                        continue  # calculated: an empty text is a value
                    formula = element.find(FORMULA_TAG)
                    if formula is not None:
                        cell["value"] = UncalculatedFormula((formula.text or "").strip())
                        self.uncalculated_rows.add(number)
            return number, cells

    return FormulaParser


def uncalculated_columns(cells: Sequence[Any]) -> list[int]:
    """The positions of ``cells`` (a row's values) that hold a formula never calculated."""
    return [i for i, value in enumerate(cells) if isinstance(value, UncalculatedFormula)]


def check_header_cells(cells: Sequence[Any]) -> None:
    """Refuse a header row whose cells hold a formula never calculated: the column's name is not in the file."""
    found = uncalculated_columns(cells)
    if found:
        from openpyxl.utils import get_column_letter

        letters = ", ".join(get_column_letter(i + 1) for i in found)
        raise UnusableFile(
            f"Dòng tiêu đề, cột {letters}: {UNCALCULATED_FORMULA[0]}",
            f"The header row, column {letters}: {UNCALCULATED_FORMULA[1]}",
        )


def _within_width(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """``values`` without its trailing empty cells; UnusableFile when there is data past :data:`MAX_COLUMNS`."""
    last = len(values)
    while last and _blank(values[last - 1]):
        last -= 1
    if last > MAX_COLUMNS:
        raise _too_many_columns(None)
    return values[:last]


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
            # openpyxl warns of what it drops from a file it can read (a sheet of a kind it does not know, an
            # extension): the person's file, not our fault; logged, never raised or printed to the user.
            with warnings.catch_warnings(record=True) as dropped:
                warnings.simplefilter("always")
                workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
            for warning in dropped:
                log.info("reading %s: %s", path.name, warning.message)
        except (InvalidFileException, *_DAMAGED) as exc:
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
            yield Workbook(first, _other_sheets_with_data(others))
        finally:
            workbook.close()


def _other_sheets_with_data(sheets: Sequence[Any]) -> list[str]:
    """The titles of ``sheets`` that hold data, each read row by row until its first data (a real sheet's data is
    on its first rows) or its end; past :data:`OTHER_SHEETS_MAX_ROWS` rows in all, the workbook is refused."""
    budget = OTHER_SHEETS_MAX_ROWS
    found = []
    for sheet in sheets:
        if not hasattr(sheet, "iter_rows"):
            continue  # a chart sheet
        sheet.reset_dimensions()
        for values in _values(sheet):
            if values and not _is_empty(values):
                found.append(sheet.title)
                break
            budget -= 1
            if budget <= 0:
                raise UnusableFile(
                    f"Các trang khác của bảng tính có hơn {_vi(OTHER_SHEETS_MAX_ROWS)} dòng trống; hãy xoá các trang "
                    "đó hoặc lưu trang đầu tiên dưới dạng CSV.",
                    f"The workbook's other sheets hold over {OTHER_SHEETS_MAX_ROWS:,} empty rows; delete those "
                    "sheets or save the first sheet as CSV.",
                )
    return found


def _hostile_xml() -> UnusableFile:
    return UnusableFile(
        "Bảng tính có khai báo DTD hoặc thực thể XML, không được phép; hãy lưu lại tệp bằng Excel hoặc LibreOffice.",
        "The workbook declares an XML DTD or entities, which is not allowed; save it again with Excel or LibreOffice.",
    )


def empty_first_sheet(workbook: Workbook) -> UnusableFile:
    """The first sheet has no row: the workbook is empty, or its data is on another sheet, which is named (only the
    first sheet is read)."""
    if not workbook.other_sheets_with_data:
        return UnusableFile("Bảng tính trống.", "The workbook is empty.")
    listed = ", ".join(f"'{n}'" for n in workbook.other_sheets_with_data)
    return UnusableFile(
        f"Trang đầu tiên của bảng tính trống; chỉ trang đầu tiên được đọc. Dữ liệu ở trang {listed}: hãy chuyển trang "
        "đó lên đầu (hoặc xoá trang trống) rồi tải lên lại.",
        f"The workbook's first sheet is empty, and only the first sheet is read. The data is on {listed}: move that "
        "sheet to the front (or delete the empty one) and upload the file again.",
    )


def other_sheets_note(names: Sequence[str]) -> tuple[str, str]:
    """What to tell people when a workbook has data on sheets other than the first (which alone is read)."""
    listed = ", ".join(f"'{n}'" for n in names)
    return (
        f"Chỉ trang đầu tiên được đọc; các trang khác cũng có dữ liệu và đã bị bỏ qua: {listed}.",
        f"Only the first sheet was read; these other sheets hold data and were not read: {listed}.",
    )


# ---------------------------------------------------------------------------------------------- small tables


def file_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of ``path`` (to tell its kind), or UnusableFile saying why the file cannot be read:
    not there, a folder, no permission."""
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except FileNotFoundError as exc:
        raise UnusableFile(f"Không có tệp '{path}'.", f"There is no file '{path}'.") from exc
    except IsADirectoryError as exc:
        raise UnusableFile(
            f"'{path}' là một thư mục, không phải tệp.", f"'{path}' is a directory, not a file."
        ) from exc
    except PermissionError as exc:
        raise UnusableFile(f"Không có quyền đọc tệp '{path}'.", f"No permission to read the file '{path}'.") from exc
    except OSError as exc:
        vi, en = os_reason(exc)
        raise UnusableFile(f"Không đọc được tệp: {vi}.", f"The file cannot be read: {en}.") from exc


def sniff(path: Path) -> str:
    """'csv' or 'xlsx' by the file's first bytes, or :class:`UnusableFile` saying what it is instead (empty, a PDF,
    an old .xls, UTF-16 text, binary data): every file read as a table is told apart alike."""
    head = file_head(path, 8192)
    if not head:
        raise UnusableFile("Tệp rỗng.", "The file is empty.")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"%PDF"):
        raise UnusableFile("Đây là tệp PDF, không phải CSV hay XLSX.", "This is a PDF file, not a CSV or XLSX file.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnusableFile(
            "Đây là tệp Excel cũ (.xls); hãy lưu lại dưới dạng .xlsx hoặc CSV UTF-8.",
            "This is an old Excel file (.xls); save it as .xlsx or as CSV UTF-8.",
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnusableFile(
            "Tệp được mã hoá UTF-16 (Unicode Text của Excel); hãy lưu lại dưới dạng CSV UTF-8.",
            "The file is encoded as UTF-16 (Excel's Unicode Text); save it as CSV UTF-8.",
        )
    if head.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"<"):  # read as CSV, it was "far too many rows"
        raise UnusableFile(
            "Đây là tệp XML hoặc HTML, không phải CSV hay XLSX; hãy lưu lại dưới dạng .xlsx hoặc CSV UTF-8.",
            "This is an XML or HTML file, not a CSV or XLSX file; save it as .xlsx or as CSV UTF-8.",
        )
    if b"\x00" in head:
        raise UnusableFile(
            "Tệp không phải là văn bản CSV hay bảng tính XLSX (có dữ liệu nhị phân).",
            "The file is neither a CSV text file nor an XLSX workbook (it holds binary data).",
        )
    if path.suffix.lower() == ".xlsx":  # read as CSV, it was "Missing columns: …" of a file its owner took for Excel's
        raise UnusableFile(
            "Tệp có tên .xlsx nhưng nội dung là văn bản, không phải bảng tính Excel; hãy mở tệp và lưu lại dưới dạng "
            ".xlsx, hoặc đổi tên thành .csv nếu đó là tệp CSV UTF-8.",
            "The file is named .xlsx but holds text, not an Excel workbook; open it and save it again as .xlsx, or "
            "rename it .csv if it is a CSV UTF-8 file.",
        )
    return "csv"


def read_table(
    path: Path, *, max_rows: int = 200_000, progress: Callable[[int], None] | None = None
) -> tuple[list[str], list[tuple[int, dict[str, Any]]], list[str]]:
    """A small table (a form an employer returns): the lower-cased header, (row number, {column: cell}) per data
    row, and the names of other sheets with data. CSV must be UTF-8 (with or without BOM). A workbook's cell holding
    a formula never calculated is an :class:`UncalculatedFormula`, for the caller to refuse if it reads that column;
    one in the header refuses the file. ``progress(rows read)`` is called every :data:`PROGRESS_ROWS` rows."""
    if sniff(path) == "xlsx":
        with open_workbook(path) as workbook:
            rows = workbook.rows()
            first = next(rows, None)
            if first is None:
                raise empty_first_sheet(workbook)
            check_header_cells(first[1])
            header = normalise_header(first[1])
            capped = _capped(rows, max_rows, progress)
            data = [(n, dict(zip(header, map(_composed_cell, values), strict=False))) for n, values in capped]
            return header, data, workbook.other_sheets_with_data
    return (*_read_csv_table(path, max_rows, progress), [])


def header_row_below(path: Path, columns: Collection[str], rows: int = 20) -> int | None:
    """The row number (as a spreadsheet shows it) of the first of ``rows`` rows below the first that names one of
    ``columns`` (:func:`normalise_header`): a header under a title a unit typed above it ("CÔNG TY …", "DANH SÁCH
    …"), for the message to say which rows to delete. None when no such row (or the file cannot be read again)."""
    try:
        found: list[tuple[int, Sequence[Any]]]
        if sniff(path) == "xlsx":
            with open_workbook(path) as workbook:
                found = list(itertools.islice(workbook.rows(), rows))
        else:
            with path.open("r", encoding="utf-8-sig", newline="") as fh:
                found = [(n, record) for n, record in zip(range(1, rows + 1), csv.reader(fh), strict=False)]
    except (UnusableFile, UnicodeDecodeError, csv.Error, OSError):
        return None
    return next((n for n, values in found[1:] if set(columns) & set(normalise_header(values))), None)


def header_not_first(path: Path, columns: Collection[str]) -> UnusableFile | None:
    """The file's header is below a title (:func:`header_row_below`): said so, with the rows to delete; else None."""
    row = header_row_below(path, columns)
    if row is None:
        return None
    above = row - 1
    return UnusableFile(
        f"Dòng tên cột phải là dòng đầu tiên của bảng tính, nhưng tệp có nó ở dòng {row}: hãy xoá "
        f"{'dòng' if above == 1 else f'{above} dòng'} phía trên (tiêu đề, tên đơn vị…) rồi gửi lại.",
        f"The row of column names must be the sheet's first row, but the file has it on row {row}: delete the "
        f"{'row' if above == 1 else f'{above} rows'} above it (a title, the unit's name…) and send it again.",
    )


def _composed_cell(value: Any) -> Any:
    """A text cell composed (NFC), as a form's text is read (:func:`disburse.formatting.composed`); others as they
    are."""
    return composed(value) if type(value) is str else value


#: How often (in rows) :func:`read_table` tells its caller how far it has read.
PROGRESS_ROWS = 1_000


def _capped(
    rows: Iterable[tuple[int, Sequence[Any]]], max_rows: int, progress: Callable[[int], None] | None = None
) -> Iterator[tuple[int, Sequence[Any]]]:
    for count, row in enumerate(rows, start=1):
        if count > max_rows:
            raise TooManyRows(max_rows)
        if progress is not None and count % PROGRESS_ROWS == 0:
            progress(count)
        yield row


def _read_csv_table(
    path: Path, max_rows: int, progress: Callable[[int], None] | None = None
) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            records = csv.reader(fh)
            raw = next(records, [])
            _check_separator(raw)
            header = normalise_header(raw)
            check_width(len(header))
            numbered = ((n, record) for n, record in enumerate(records, start=2) if any(c.strip() for c in record))
            capped = _capped(numbered, max_rows, progress)
            data = [(n, dict(zip(header, map(composed, record), strict=False))) for n, record in capped]
    except UnicodeDecodeError as exc:  # UTF-16 was told by its BOM already (sniff)
        raise UnusableFile(
            "Tệp không được mã hoá UTF-8; hãy lưu lại dưới dạng CSV UTF-8.",
            "The file is not UTF-8 encoded; save it as CSV UTF-8.",
        ) from exc
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            limit = csv.field_size_limit()
            raise UnusableFile(
                f"Tệp có một ô dài hơn {_vi(limit)} ký tự; hãy kiểm tra dấu ngoặc kép trong tệp.",
                f"The file has a cell longer than {limit:,} characters; check the file's quotation marks.",
            ) from exc
        raise UnusableFile(f"Không đọc được tệp CSV: {exc}.", f"The CSV file cannot be parsed: {exc}.") from exc
    if not header:
        raise UnusableFile("Tệp rỗng.", "The file is empty.")
    return header, data


#: Separators a spreadsheet may have saved a "CSV" with instead of commas: (the character, its names).
_OTHER_SEPARATORS = (
    (";", ("dấu chấm phẩy (;)", "semicolons (;)")),
    ("\t", ("dấu tab", "tabs")),
)


def _check_separator(header: Sequence[str]) -> None:
    """A header read as one column that holds another separator: the file was saved with it (Excel in a locale that
    writes semicolons, a tab-separated export); say so rather than "a column is missing"."""
    if len(header) != 1:
        return
    for separator, (vi, en) in _OTHER_SEPARATORS:
        if separator in header[0]:
            raise UnusableFile(
                f"Các cột trong tệp được ngăn bằng {vi}; hãy lưu lại dưới dạng CSV UTF-8 (ngăn bằng dấu phẩy).",
                f"The file's columns are separated by {en}; save it again as CSV UTF-8 (comma-separated).",
            )


#: A header cell's column name in brackets at its end: ``Mã số BHXH (si_code)``.
_NAMED_HEADER = re.compile(r"\(\s*([a-z][a-z0-9_]*)\s*\)\Z")


def normalise_header(cells: Sequence[Any]) -> list[str]:
    """Header cells as lower-case names; ``Mã số BHXH (si_code)`` names the column ``si_code``. Brackets that hold
    no column name are part of the label: ``Mức hỗ trợ (đồng)`` is that label, for the form to read as its column."""
    names = []
    for cell in cells:
        name = composed("" if cell is None else str(cell)).strip().lstrip("\ufeff").strip().lower()
        if named := _NAMED_HEADER.search(name):
            name = named.group(1)
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
    if isinstance(value, UncalculatedFormula):
        value = str(value)  # a formula echoed back (an errors file) is written as text, like any other
    if not isinstance(value, str):
        return value
    text = value
    if text.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        text = "'" + text
    if len(text) > EXCEL_MAX_CELL:
        text = text[: EXCEL_MAX_CELL - 1] + "…"
    return text


def _csv_value(value: Any) -> Any:
    """A CSV cell: a day written dd/mm/yyyy, as people read it (an XLSX has it as a date cell, :data:`DATE`)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    return safe_cell(value)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """A CSV for spreadsheets (UTF-8 with BOM, so Excel reads Vietnamese); returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([safe_cell(h) for h in header])
        for row in rows:
            writer.writerow([_csv_value(v) for v in row])
            count += 1
    return count


#: The media type of a table downloaded in each format.
MEDIA_TYPES = {
    "csv": "text/csv",  # Werkzeug adds "; charset=utf-8" to text types
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def table_bytes(
    fmt: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str = "Sheet1",
    formats: Sequence[str | None] = (),
    footer: Sequence[Sequence[Any]] = (),
) -> bytes:
    """A table as the bytes of a CSV (:func:`write_csv`) or XLSX (:func:`write_xlsx`) file, ``fmt`` one of
    :data:`MEDIA_TYPES`: a download answered at once. ``footer``: rows after the table's (a total, a note)."""
    assert fmt in MEDIA_TYPES
    with tempfile.TemporaryDirectory(prefix="disburse-table-") as folder:
        path = Path(folder) / f"table.{fmt}"
        if fmt == "csv":
            write_csv(path, header, itertools.chain(rows, footer))
        else:
            write_xlsx(path, header, rows, title=title, formats=formats, footer=footer)
        return path.read_bytes()


def download(body: bytes, name: str) -> Response:
    """The response that downloads ``body`` as the file ``name`` (.csv or .xlsx: :data:`MEDIA_TYPES`)."""
    return send_file(
        BytesIO(body), as_attachment=True, download_name=name, mimetype=MEDIA_TYPES[name.rsplit(".", 1)[-1]]
    )


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


#: How an XLSX column shows its values (``write_xlsx``'s ``formats``, one per column, None: as they come). Money and
#: counts are number cells grouped by thousands (Excel shows the separator of the reader's locale: "4.976.300.000" in
#: Vietnamese), so that people can still sum them; percentages are numbers with one decimal ("69,0"), in the unit
#: the header promises ("(%)": 69.0, not 0.69); identifiers that look like numbers (SI code, national ID, unit code,
#: account, phone, claim number) are text, so that Excel neither sums them nor drops their leading zeros, and a
#: blank cell of such a column (a Form 02 account to fill in) keeps what is typed there as text.
MONEY = "#,##0"
COUNT = "#,##0"
PERCENT = "0.0"
TEXT = "@"
#: A day, a date cell shown dd/mm/yyyy (so that it sorts and filters as a date).
DATE = "dd/mm/yyyy"


#: The rows a workbook's column widths are measured on (with the header); the rest stream as they come.
WIDTH_SAMPLE_ROWS = 200
#: The widest a column is made (Excel's units: about a character each).
MAX_COLUMN_WIDTH = 60


def _column_widths(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    """Each column as wide as its header and ``rows`` need (numbers with their separators), within 8 and
    :data:`MAX_COLUMN_WIDTH`."""
    widths = [len(str(h)) for h in header]
    for row in rows:
        for i, value in enumerate(row[: len(widths)]):
            shown = f"{value:,}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value or "")
            widths[i] = max(widths[i], len(shown))
    return [min(max(width + 2, 8), MAX_COLUMN_WIDTH) for width in widths]


#: A list printed to be filled in by hand (``write_xlsx(paper=True)``): its rows' height, in points (room to sign).
PAPER_ROW_HEIGHT = 30


def _table_head(
    sheet: Any,
    header: Sequence[Any],
    first: Sequence[Sequence[Any]],
    *,
    title: Sequence[str] = (),
    min_widths: Sequence[int] = (),
    paper: bool = False,
) -> None:
    """A sheet read as a table: the header in bold stays in view (frozen), each column as wide as its header and
    ``first`` rows ask (and ``min_widths`` give). ``title``: lines above it (the first in bold), then a blank row.
    Set before any row: the streaming writer writes them as they come."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    head = len(title) + 2 if title else 1
    sheet.freeze_panes = f"A{head + 1}"
    widths = _column_widths(header, first)
    for i, width in enumerate(widths, start=1):
        least = min_widths[i - 1] if i <= len(min_widths) else 0
        sheet.column_dimensions[get_column_letter(i)].width = min(max(width, least), MAX_COLUMN_WIDTH)
    if paper:  # landscape, as wide as the page, the header on every page
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        sheet.print_title_rows = f"{head}:{head}"
    for n, line in enumerate(title):
        titled = WriteOnlyCell(sheet, value=line)
        titled.font = Font(bold=n == 0, size=13 if n == 0 else 11)
        sheet.append([titled])
    if title:
        sheet.append([])
    heading = []
    for value in header:
        titled = WriteOnlyCell(sheet, value=value)
        titled.font = Font(bold=True)
        heading.append(_ruled(titled) if paper else titled)
    sheet.append(heading)


def _ruled(cell: Any) -> Any:
    """A cell of a printed list, with its four borders."""
    from openpyxl.styles import Border, Side

    thin = Side(style="thin")
    cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
    return cell


def _xlsx_value(value: Any) -> Any:
    """A value as an XLSX cell holds it. XML cannot carry most control characters: a name imported with one must not
    stop the export. They go first, so that what they hid ("\x01=HYPERLINK(…)") is seen as a formula by safe_cell
    and kept text."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return safe_cell(value)


def _formatted(sheet: Any, value: Any, number_format: str | None) -> Any:
    """The cell of ``value`` in a column shown as ``number_format`` (:func:`write_xlsx`)."""
    from openpyxl.cell import WriteOnlyCell

    if number_format is None:
        return _xlsx_value(value)
    if number_format == TEXT:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
    elif number_format == DATE:
        if not isinstance(value, date):
            return _xlsx_value(value)  # a blank of a date column
    elif not isinstance(value, int | float) or isinstance(value, bool):
        return _xlsx_value(value)  # a blank ("" or None) of a number column
    styled = WriteOnlyCell(sheet, value=_xlsx_value(value))
    styled.number_format = number_format
    return styled


def _on_paper(sheet: Any, value: Any, *, bold: bool) -> Any:
    """A cell of a printed list (``write_xlsx(paper=True)``): ruled, and bold in a total."""
    from openpyxl.cell import Cell, WriteOnlyCell
    from openpyxl.styles import Font

    written = value if isinstance(value, Cell) else WriteOnlyCell(sheet, value=value)
    if bold:
        written.font = Font(bold=True)
    return _ruled(written)


def write_xlsx(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str = "Sheet1",
    formats: Sequence[str | None] = (),
    footer: Sequence[Sequence[Any]] = (),
    heading: Sequence[str] = (),
    paper: bool = False,
    min_widths: Sequence[int] = (),
) -> int:
    """An XLSX workbook of one sheet (openpyxl's streaming writer); every text cell stays text. ``formats`` gives
    column by column how its cells are shown (:data:`MONEY`, :data:`COUNT`, :data:`PERCENT`, :data:`TEXT`, or None
    for the value as it comes). ``footer``: rows after the table's (a total, a note), outside its filter and its
    columns' widths; the rows written are counted without them. ``heading``: lines above the table (a title, the
    first in bold) and a blank row, the header under them. ``paper``: a list printed to be filled in by hand (every
    cell of the table and the footer ruled, the footer in bold, rows :data:`PAPER_ROW_HEIGHT` tall, landscape as
    wide as the page with the header on every page); ``min_widths``: the columns' least widths (room to write)."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=ILLEGAL_CHARACTERS_RE.sub("", title)[:31] or "Sheet1")
    rows = iter(rows)
    first = list(itertools.islice(rows, WIDTH_SAMPLE_ROWS))
    title_lines = [_xlsx_value(line) for line in heading]
    _table_head(sheet, [_xlsx_value(h) for h in header], first, title=title_lines, min_widths=min_widths, paper=paper)
    head = len(heading) + 2 if heading else 1
    columns = list(formats)

    def write(row: Sequence[Any], *, total: bool = False) -> None:
        values = [_formatted(sheet, v, columns[i] if i < len(columns) else None) for i, v in enumerate(row)]
        if paper:
            values = [_on_paper(sheet, v, bold=total) for v in values]
            if not total:
                sheet.row_dimensions[head + count + 1].height = PAPER_ROW_HEIGHT
        sheet.append(values)

    count = 0
    for row in itertools.chain(first, rows):
        write(row)
        count += 1
    if header:
        sheet.auto_filter.ref = f"A{head}:{get_column_letter(len(header))}{head + count}"
    for row in footer:
        write(row, total=True)
    workbook.save(path)
    return count


#: What an output path is called in a refusal: (Vietnamese, English).
ERRORS_FILE = ("tệp lỗi", "errors file")
OUTPUT_FILE = ("tệp ra", "output file")


def writable(
    path: Path, *, not_this: Path | None = None, what: tuple[str, str] = ERRORS_FILE, make_folder: bool = True
) -> None:
    """Check, before any work, that ``path`` can be written (and is not the input file ``not_this``, by any name: a
    hard link is the same file under another name). Creates no file that was not there.

    ``make_folder``: the folder it goes in is made if need be, as for the system's own folders (a job's errors file
    in DISBURSE_EXPORT_DIR). A path typed on a command line is checked with False: a folder that is not there is
    refused, named (:func:`_folder_exists`), and nothing is made."""
    if not_this is not None and _same_file(path, not_this):
        raise UnusableFile(
            "Tệp lỗi không được trùng với tệp đang nhập.", "The errors file must not be the file being imported."
        )
    if path.is_dir():
        raise UnusableFile(f"'{path}' là một thư mục.", f"'{path}' is a directory.")
    if not make_folder:
        _folder_exists(path, what)
    existed = path.exists()
    try:
        if make_folder:
            path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise _cannot_write(path, what, exc) from exc
    if not existed:
        path.unlink(missing_ok=True)


def writable_dir(path: Path, *, what: tuple[str, str] = ("thư mục ra", "output directory")) -> None:
    """Check, before any work, that files can be written in the directory ``path``: one that is not there yet is
    made, in a folder that is (a mistyped parent folder is refused, as for a file: :func:`writable`)."""
    import tempfile

    if path.exists() and not path.is_dir():
        raise UnusableFile(f"'{path}' không phải là thư mục.", f"'{path}' is not a directory.")
    _folder_exists(path, what)
    try:
        path.mkdir(exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise _cannot_write(path, what, exc) from exc


def _folder_exists(path: Path, what: tuple[str, str]) -> None:
    """Refuse ``path`` in a folder that is not there, naming it: it was made, with every folder above it, so that a
    mistyped path (``/nonexistent/dir/cash.csv``) put the file where nobody would look for it, unsaid."""
    folder = path.absolute().parent
    if not folder.exists() and not folder.is_symlink():
        raise UnusableFile(
            f"Không ghi được {what[0]} '{path}': thư mục '{folder}' không tồn tại. Hãy tạo thư mục đó trước, hoặc "
            "chọn đường dẫn khác.",
            f"The {what[1]} '{path}' cannot be written: the folder '{folder}' does not exist. Create it first, or "
            "choose another path.",
        )


def _same_file(path: Path, other: Path) -> bool:
    if path.resolve() == other.resolve():
        return True
    try:
        return path.exists() and other.exists() and os.path.samefile(path, other)
    except OSError:
        return False


def _cannot_write(path: Path, what: tuple[str, str], exc: OSError) -> UnusableFile:
    vi, en = os_reason(exc)
    return UnusableFile(f"Không ghi được {what[0]} '{path}': {vi}.", f"The {what[1]} '{path}' cannot be written: {en}.")
