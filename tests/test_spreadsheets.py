"""Hostile and careless spreadsheets: every row that is there is read, bombs and DTDs are refused within seconds,
and nothing we write runs as a formula."""

from __future__ import annotations

import csv
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

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


def test_shared_strings_that_would_fill_the_memory_are_refused(tmp_path, monkeypatch):
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + b"<si><t>x</t></si>" * 1000
    path = _rewrite(_workbook(tmp_path / "f.xlsx"), "xl/sharedStrings.xml", lambda _: strings + b"</sst>")
    monkeypatch.setattr(spreadsheets, "MAX_SHARED_STRINGS_BYTES", len(strings) - 1)
    with pytest.raises(UnusableFile, match="shared strings"):
        read_table(path)


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
