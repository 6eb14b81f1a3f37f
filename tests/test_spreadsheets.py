"""Hostile and careless spreadsheets: every row that is there is read, bombs and DTDs are refused within seconds,
and nothing we write runs as a formula."""

from __future__ import annotations

import csv
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disburse import spreadsheets
from disburse.spreadsheets import UnusableFile, read_table, safe_cell, write_csv, write_xlsx

HEADER = ["si_code", "bank_code", "bank_account"]


def _workbook(path: Path, rows: int = 5, *, extra_sheet: bool = False) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for n in range(rows):
        sheet.append([f"01000000{n:02d}", "VCB", f"00112233{n:02d}"])
    if extra_sheet:
        workbook.create_sheet("Ghi chú").append(["Người bị sót", "0100000099"])
    workbook.save(path)
    return path


def _rewrite(path: Path, member: str, change: Callable[[bytes], bytes], *, level: int = 6) -> Path:
    """Replace one part of the workbook's zip with ``change(part)``."""
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    parts[member] = change(parts.get(member, b""))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


SHEET = "xl/worksheets/sheet1.xml"


def test_a_sheet_that_understates_its_size_is_read_whole(tmp_path):
    path = _rewrite(_workbook(tmp_path / "f.xlsx"), SHEET, lambda xml: xml.replace(b'ref="A1:C6"', b'ref="A1:C2"'))
    plain = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    assert len(list(plain.iter_rows(values_only=True))) < 6, "the file does lie about its size"

    header, rows, others = read_table(path)
    assert header == HEADER and others == []
    assert [n for n, _ in rows] == [2, 3, 4, 5, 6]
    assert rows[-1][1]["si_code"] == "0100000004"


def test_a_dtd_or_entity_is_refused(tmp_path):
    dtd = b'<!DOCTYPE worksheet [<!ENTITY lol "lollollol">]>'
    path = _rewrite(_workbook(tmp_path / "f.xlsx"), SHEET, lambda xml: dtd + xml.replace(b"VCB", b"&lol;", 1))
    with pytest.raises(UnusableFile, match="DTD"):
        read_table(path)


def test_rows_past_excels_limit_are_refused_within_seconds(tmp_path):
    """A sheet of empty rows numbered past Excel's limit (the "20 million empty rows" file): trailing empty rows
    are not rows, but no sheet goes on past Excel's own limit."""
    empty_rows = b"".join(b'<row r="%d"/>' % n for n in range(7, 1_100_000))
    path = _rewrite(
        _workbook(tmp_path / "f.xlsx"), SHEET, lambda xml: xml.replace(b"</sheetData>", empty_rows + b"</sheetData>")
    )
    started = time.monotonic()
    with pytest.raises(UnusableFile, match="1,048,576 rows"):
        read_table(path)
    # Seconds, not minutes (the file once ran past 4 minutes): 4 to 12 s on the 2-core CI machine, by its load.
    assert time.monotonic() - started < 30


def test_a_part_that_unpacks_far_beyond_its_size_is_refused_before_reading(tmp_path):
    path = _rewrite(_workbook(tmp_path / "f.xlsx"), "xl/media/padding.bin", lambda _: bytes(40 << 20), level=9)
    started = time.monotonic()
    with pytest.raises(UnusableFile, match="abnormally compressed"):
        read_table(path)
    assert time.monotonic() - started < 2


_MAIN = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_SST_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def _with_shared_strings(path: Path, table: bytes, rows: list[list[int]] | None = None) -> Path:
    """The workbook at ``path`` with ``table`` as its shared strings (declared as Excel does), and, when given,
    ``rows`` of cells that use the table's texts by index as its sheet (openpyxl itself writes texts inline)."""
    _rewrite(path, "xl/sharedStrings.xml", lambda _: b"<sst " + _MAIN + b">" + table + b"</sst>", level=1)
    _rewrite(
        path,
        "[Content_Types].xml",
        lambda xml: xml.replace(
            b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s"/></Types>' % _SST_TYPE
        ),
    )
    if rows is not None:
        data = b"".join(
            b'<row r="%d">%s</row>'
            % (
                n,
                b"".join(
                    b'<c r="%s%d" t="s"><v>%d</v></c>' % (b"ABCDEFGH"[i : i + 1], n, s) for i, s in enumerate(row)
                ),
            )
            for n, row in enumerate(rows, start=1)
        )
        _rewrite(
            path,
            SHEET,
            lambda xml: xml[: xml.index(b"<sheetData>")] + b"<sheetData>" + data + xml[xml.index(b"</sheetData>") :],
        )
    return path


def test_a_district_offices_workbook_with_a_text_per_cell_is_read(tmp_path):
    """15,000 distinct texts, each used once (SI code, national ID, name), as Excel writes them: a real file passes
    the shared-strings checks and every row is read."""
    texts = [b"si_code", b"national_id", b"full_name"]
    for n in range(5000):
        texts += [b"01%08d" % n, b"0010%08d" % n, f"Nguyễn Văn {n}".encode()]
    table = b"".join(b"<si><t>%s</t></si>" % t for t in texts)
    rows = [[3 * r, 3 * r + 1, 3 * r + 2] for r in range(5001)]
    header, data, _ = read_table(_with_shared_strings(_workbook(tmp_path / "f.xlsx"), table, rows))
    assert header == ["si_code", "national_id", "full_name"] and len(data) == 5000
    assert data[-1] == (5001, {"si_code": "0100004999", "national_id": "001000004999", "full_name": "Nguyễn Văn 4999"})


@pytest.mark.parametrize(
    ("case", "table", "refusal"),
    [
        # One more text than the limit, each tiny (17 MB): the count is the limit, not only the size.
        ("count", lambda: b"<si><t>x</t></si>" * (spreadsheets.MAX_SHARED_STRINGS + 1), "shared strings are too big"),
        # Over the size limit with fewer texts than the count limit (texts that do not compress: no bomb ratio).
        (
            "bytes",
            lambda: b"".join(b"<si><t>%s</t></si>" % os.urandom(18).hex().encode() for _ in range(700_000)),
            "shared strings are too big",
        ),
        # 20,000 texts for a sheet of six rows: a table no sheet of the file could use, refused before it costs.
        ("unusable", lambda: b"".join(b"<si><t>t%d</t></si>" % n for n in range(20_000)), "more than its sheets"),
    ],
)
def test_shared_strings_that_would_cost_seconds_or_memory_are_refused(tmp_path, case, table, refusal):
    path = _with_shared_strings(_workbook(tmp_path / f"{case}.xlsx"), table())
    started = time.monotonic()
    with pytest.raises(UnusableFile, match=refusal) as refused:
        read_table(path)
    assert time.monotonic() - started < 3
    assert "chuỗi" in refused.value.message_vi


def test_shared_strings_named_otherwise_are_still_checked(tmp_path):
    """The check reads the table the workbook declares (openpyxl reads that one), whatever its name."""
    path = _with_shared_strings(_workbook(tmp_path / "f.xlsx"), b"<si><t>x</t></si>" * 20_000)
    with zipfile.ZipFile(path) as source:
        parts = {i.filename: source.read(i.filename) for i in source.infolist()}
    parts["xl/texts.xml"] = parts.pop("xl/sharedStrings.xml")
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(b"/xl/sharedStrings.xml", b"/xl/texts.xml")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    with pytest.raises(UnusableFile, match="more than its sheets"):
        read_table(path)


def _styled_cells(path: Path, rows: range, column: str, value: bytes = b"") -> Path:
    """``rows`` more rows, each a single cell at ``column``: styled and empty, or holding ``value``."""
    cell = (
        b'<c r="%s%%d" s="0"/>' % column.encode()
        if not value
        else b'<c r="%s%%d" t="inlineStr"><is><t>%s</t></is></c>' % (column.encode(), value)
    )
    added = b"".join(b'<row r="%d">%s</row>' % (n, cell % n) for n in rows)
    return _rewrite(path, SHEET, lambda xml: xml.replace(b"</sheetData>", added + b"</sheetData>"), level=9)


def test_a_styled_empty_cell_at_column_xfd_costs_nothing(tmp_path):
    """20,000 rows whose only cell is a styled empty one at XFD (a 100 KB file): openpyxl built each as a
    16,384-wide row, 7 to 9 s in all. A row is read no wider than one column past the limit."""
    path = _styled_cells(_workbook(tmp_path / "f.xlsx"), range(7, 20_007), "XFD")
    assert path.stat().st_size < 200_000
    started = time.monotonic()
    header, rows, _ = read_table(path)
    assert time.monotonic() - started < 3
    assert header == HEADER and len(rows) == 5


def test_data_past_the_column_limit_is_refused(tmp_path):
    """Column 257 (IW) is the first one too many (the CSV limit is the same). Columns further right are not read:
    no header names them, and an import ignores columns it has no use for."""
    path = _styled_cells(_workbook(tmp_path / "f.xlsx"), range(7, 8), "IW", b"0100000099")
    with pytest.raises(UnusableFile, match="past column 256") as refused:
        read_table(path)
    assert "cột thứ 257" in refused.value.message_vi


def test_too_many_columns_are_refused_with_the_count(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(2016)) + "\n" + ",".join("x" * 2016) + "\n", encoding="utf-8")
    with pytest.raises(UnusableFile) as refused:
        read_table(path)
    assert "2,016" in refused.value.message_en and "2.016" in refused.value.message_vi


def test_other_sheets_with_data_are_named(tmp_path):
    _, rows, others = read_table(_workbook(tmp_path / "f.xlsx", extra_sheet=True))
    assert len(rows) == 5 and others == ["Ghi chú"]
    vi, en = spreadsheets.other_sheets_note(others)
    assert "'Ghi chú'" in vi and "'Ghi chú'" in en


def test_other_sheets_are_read_to_their_first_data_however_far_down(tmp_path):
    path = _workbook(tmp_path / "f.xlsx")
    workbook = openpyxl.load_workbook(path)
    workbook.create_sheet("Trống")["C2"] = "  "
    workbook.create_sheet("Cuối trang")["B5000"] = "0100000099"
    workbook.save(path)
    assert read_table(path)[2] == ["Cuối trang"]


def test_other_sheets_of_empty_rows_are_refused_within_seconds(tmp_path):
    """Other sheets are read to their first data; a workbook whose other sheets hold more empty rows than one
    sheet may is a bomb, not a workbook."""
    path = _workbook(tmp_path / "f.xlsx")
    workbook = openpyxl.load_workbook(path)
    workbook.create_sheet("Trống 1")
    workbook.create_sheet("Trống 2")
    workbook.save(path)
    empty_rows = b"".join(b'<row r="%d"/>' % n for n in range(1, 600_000))
    for sheet in ("xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"):
        _rewrite(
            path,
            sheet,
            lambda xml: xml.replace(b"<sheetData></sheetData>", b"<sheetData>" + empty_rows + b"</sheetData>"),
        )
    started = time.monotonic()
    with pytest.raises(UnusableFile, match="other sheets hold over 1,048,576 empty rows"):
        read_table(path)
    assert time.monotonic() - started < 30  # as the first sheet's empty rows (above): seconds, not minutes


def test_labelled_headers_name_their_columns(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("\ufeffMã số BHXH (si_code),Ngân hàng (bank_code)\r0100000001,VCB\r", encoding="utf-8")
    header, rows, _ = read_table(path)
    assert header == ["si_code", "bank_code"]
    assert rows == [(2, {"si_code": "0100000001", "bank_code": "VCB"})]


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx", "-1-"]
)
def test_nothing_we_write_runs_as_a_formula(tmp_path, value):
    assert safe_cell(value) == "'" + value
    write_csv(tmp_path / "e.csv", ["value"], [[value]])
    with (tmp_path / "e.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert list(csv.reader(fh))[1] == ["'" + value]
    write_xlsx(tmp_path / "e.xlsx", ["value"], [[value]])
    cell = openpyxl.load_workbook(tmp_path / "e.xlsx").active["A2"]
    assert cell.data_type == "s" and cell.value == "'" + value.replace("\r", "\n")  # XML reads CR as LF


@pytest.mark.parametrize("value", ["-1", "+84912345678", "-3.5", "12,5"])
def test_plain_signed_numbers_are_written_as_they_came(value):
    assert safe_cell(value) == value


def test_cells_are_cut_to_excels_limit_and_numbers_pass():
    assert len(safe_cell("x" * 40_000)) == spreadsheets.EXCEL_MAX_CELL
    assert safe_cell(-5) == -5 and safe_cell(None) is None and safe_cell("Nguyễn") == "Nguyễn"


def test_an_errors_path_is_checked_before_any_work(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("a\n", encoding="utf-8")
    with pytest.raises(UnusableFile, match="must not be the file"):
        spreadsheets.writable(source, not_this=source)
    with pytest.raises(UnusableFile, match="directory"):
        spreadsheets.writable(tmp_path, not_this=source)
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("", encoding="utf-8")
    with pytest.raises(UnusableFile, match="cannot be written"):
        spreadsheets.writable(blocked / "errors.csv", not_this=source)
    fine = tmp_path / "out" / "errors.csv"
    spreadsheets.writable(fine, not_this=source)
    assert not fine.exists()


def test_control_characters_do_not_stop_a_workbook_export(tmp_path):
    write_xlsx(tmp_path / "c.xlsx", ["name"], [["Lê\x1fVăn\x00A"]], title="Mẫu\x01 01")
    assert openpyxl.load_workbook(tmp_path / "c.xlsx").active["A2"].value == "LêVănA"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.builds(
        "".join,
        st.tuples(
            st.text(alphabet=st.sampled_from("\x00\x01\x08\x0b\x1f\t\r "), max_size=3),
            st.sampled_from(["=", "+", "-", "@", "a", "1", ""]),
            st.text(alphabet=st.sampled_from('=+-@\x01 aĐ1("!'), max_size=10),
        ),
    )
)
def test_no_text_becomes_a_formula_in_a_workbook(tmp_path, value):
    """Whatever text a row holds (control characters hiding a formula's start included), the workbook's cell is
    text, never a formula."""
    write_xlsx(tmp_path / "h.xlsx", ["value"], [[value]])
    cell = openpyxl.load_workbook(tmp_path / "h.xlsx").active["A2"]
    assert cell.data_type != "f" and not (isinstance(cell.value, str) and cell.value.startswith("="))


def test_a_small_tables_csv_separated_by_semicolons_or_with_a_huge_cell_says_what_is_wrong(tmp_path):
    semicolons = tmp_path / "mau02.csv"
    semicolons.write_text("si_code;bank_code;bank_account\n0100000001;VCB;0011001234567\n", encoding="utf-8")
    with pytest.raises(UnusableFile) as refused:
        read_table(semicolons)
    assert "dấu chấm phẩy" in refused.value.message_vi and "semicolons" in refused.value.message_en
    # Form 01's own header ("Label (name)" cells), saved with semicolons or tabs, or as Excel's "Unicode Text".
    header = "STT;Mã số BHXH (si_code);Ngân hàng (bank_code);Số tài khoản (bank_account)"
    for separator, words in ((";", "semicolons"), ("\t", "tabs")):
        semicolons.write_text(header.replace(";", separator) + "\n1;0100000001;VCB;0011001234567\n", encoding="utf-8")
        with pytest.raises(UnusableFile) as refused:
            read_table(semicolons)
        assert words in refused.value.message_en, refused.value.message_en
    semicolons.write_text(header.replace(";", "\t") + "\n", encoding="utf-16")
    with pytest.raises(UnusableFile) as refused:
        read_table(semicolons)
    assert "UTF-16" in refused.value.message_en and "UTF-16" in refused.value.message_vi
    huge = tmp_path / "huge.csv"
    huge.write_text("si_code,note\n0100000001," + "x" * 200_000 + "\n", encoding="utf-8")
    before = csv.field_size_limit(131_072)  # the csv module's default (a process-wide setting)
    try:
        with pytest.raises(UnusableFile) as too_long:
            read_table(huge)
    finally:
        csv.field_size_limit(before)
    assert "131,072 characters" in too_long.value.message_en and "field limit" not in too_long.value.message_en


def test_what_openpyxl_drops_from_a_readable_workbook_is_logged_not_raised(tmp_path, caplog):
    """A sheet entry without its link (older XLSM files have them): openpyxl drops it with a warning, which the
    suite turns into an error. The person's file is read all the same and the warning only logged."""

    def unlinked(part: bytes) -> bytes:
        text = part.decode()
        second = text.index("<sheet ", text.index("<sheet ") + 1)
        end = text.index("/>", second)
        return (text[:second] + text[second:end].replace('r:id="rId2"', "") + text[end:]).encode()

    damaged = _rewrite(_workbook(tmp_path / "damaged.xlsx", extra_sheet=True), "xl/workbook.xml", unlinked)
    caplog.set_level("INFO", logger="disburse.spreadsheets")
    header, rows, _ = read_table(damaged)
    assert header and len(rows) == 5
    assert "invalid specification" in caplog.text


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_table_tells_how_far_it_has_read(tmp_path, monkeypatch, suffix):
    """A job reading a large form shows its progress: every PROGRESS_ROWS rows, in both formats."""
    monkeypatch.setattr(spreadsheets, "PROGRESS_ROWS", 2)
    rows = [[f"{n:010d}", "VCB"] for n in range(5)]
    path = tmp_path / f"form{suffix}"
    if suffix == ".csv":
        write_csv(path, ["si_code", "bank_code"], rows)
    else:
        write_xlsx(path, ["si_code", "bank_code"], rows)
    seen: list[int] = []
    header, data, _ = read_table(path, progress=seen.append)
    assert header == ["si_code", "bank_code"] and len(data) == 5
    assert seen == [2, 4]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "The file is empty."),
        (b"%PDF-1.7\n" + bytes(range(256)), "This is a PDF file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "This is an old Excel file (.xls)"),
        ("si_code\n0123456789\n".encode("utf-16"), "encoded as UTF-16"),
        (bytes(range(256)) * 12, "neither a CSV text file nor an XLSX workbook"),
        # Text named .xlsx (a CSV renamed, an export that is not Excel's): the admins' import page refused it, the
        # command and Form 02 read it as CSV and said "Missing columns: …".
        (b"si_code,bank_code\n0123456789,VCB\n", "The file is named .xlsx but holds text"),
    ],
)
def test_every_table_reader_says_alike_what_a_file_is_instead(tmp_path, content, said):
    """A form's table (an employer's Form 02) is told by its first bytes as a registry import is (both ask
    ``sniff``): a damaged workbook was "not UTF-8 encoded; save it as CSV UTF-8" on Form 02."""
    path = tmp_path / "file.xlsx"
    path.write_bytes(content)
    for read in (read_table, spreadsheets.sniff):
        with pytest.raises(UnusableFile) as refused:
            read(path)
        assert said in refused.value.message_en, (read, refused.value.message_en)


def test_text_named_csv_is_still_read_as_csv(tmp_path):
    path = tmp_path / "file.csv"
    path.write_bytes(b"si_code,bank_code\n0123456789,VCB\n")
    assert spreadsheets.sniff(path) == "csv"
