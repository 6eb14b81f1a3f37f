"""Files as they arrive: unusable ones (exit 2, nothing changed), BOM, XLSX, malformed CSV rows, column order,
idempotent re-import, corrected files, and a property test with messy generated rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from disburse.registry import importer
from disburse.registry.importer import UnusableFile, import_file
from disburse.registry.imports import check as imports_check
from disburse.registry.imports import read
from disburse.registry.imports.employees import EMPLOYEE_COLUMNS
from tests.registry.test_import_support import (
    count,
    employee_row,
    employer_row,
    read_errors,
    run_cli,
    seed_employer,
    stored_si_codes,
    write_csv,
)

HEADER = ",".join(EMPLOYEE_COLUMNS)


def _line(row: dict[str, str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([row[c] for c in EMPLOYEE_COLUMNS])
    return out.getvalue()


def _snapshot() -> tuple[int, int, int]:
    return (
        count("SELECT count(*) FROM employees"),
        count("SELECT count(*) FROM employers"),
        count("SELECT count(*) FROM salary_funds"),
    )


def _unusable_cases(tmp_path: Path, unit: str) -> dict[str, Path]:
    good = employee_row(unit, full_name="Lê Thị Hồng Nhung", address="Phường Đức Giang, Long Biên")
    line = _line(good)
    cases = {
        "missing-column": HEADER.replace(",bank_account", "").encode() + b"\n" + line.rsplit(",", 1)[0].encode(),
        "cp1258": (HEADER + "\n" + line + "\n").encode("cp1258", errors="replace"),
        "latin-1": (HEADER + "\n" + line.replace("Lê Thị Hồng Nhung", "José Müller") + "\n").encode(
            "latin-1", errors="replace"
        ),
        "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "binary": bytes(range(256)) * 4,
        "empty": b"",
        "header-only": (HEADER + "\n").encode(),
        "blank-first-line": b"\n" + HEADER.encode() + b"\n" + line.encode() + b"\n",
        "old-xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200,
        "utf-16": (HEADER + "\n" + line + "\n").encode("utf-16"),
        "semicolons": (HEADER.replace(",", ";") + "\n" + line.replace(",", ";") + "\n").encode(),
        "damaged-xlsx": b"PK\x03\x04" + b"\x00" * 100,
    }
    paths = {}
    for name, data in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        paths[name] = path
    return paths


UNUSABLE = [
    "missing-column",
    "cp1258",
    "latin-1",
    "pdf",
    "binary",
    "empty",
    "header-only",
    "blank-first-line",
    "old-xls",
    "utf-16",
    "semicolons",
    "damaged-xlsx",
]


@pytest.mark.parametrize("case", UNUSABLE)
def test_unusable_file_exits_2_and_changes_nothing(app: Flask, db_session: Session, tmp_path: Path, case: str) -> None:
    unit = seed_employer(tmp_path)
    db_session.commit()  # the command rolls its own work back; the seeded employer must stay
    path = _unusable_cases(tmp_path, unit)[case]
    before = _snapshot()
    outcome = run_cli(app, "employees", str(path), "--errors", str(tmp_path / "errors.csv"))
    assert outcome.exit_code == 2, outcome.output
    assert "cannot be imported" in outcome.output
    assert _snapshot() == before


def test_unusable_messages_say_what_is_wrong(db_session: Session, tmp_path: Path) -> None:
    paths = _unusable_cases(tmp_path, seed_employer(tmp_path))
    expected = {
        "missing-column": "Missing columns: bank_account",
        "cp1258": "not UTF-8",
        "latin-1": "not UTF-8",
        "pdf": "PDF",
        "empty": "empty",
        "header-only": "no data rows",
        "semicolons": "separator",
    }
    for case, words in expected.items():
        with pytest.raises(UnusableFile) as caught:
            import_file("employees", paths[case])
        assert words in caught.value.message_en, (case, caught.value.message_en)
        assert caught.value.message_vi


def test_rejected_rows_are_said_on_the_terminal_and_an_errors_file_that_cannot_be_written_changes_nothing(
    app: Flask, db_session: Session, tmp_path: Path
) -> None:
    unit = seed_employer(tmp_path)
    db_session.commit()  # the command rolls its own work back; the seeded employer must stay
    path = write_csv(tmp_path / "ee.csv", "employees", [employee_row(unit), employee_row(unit, national_id="12")])
    before = _snapshot()
    full = run_cli(app, "employees", str(path), "--errors", "/dev/full")
    assert full.exit_code == 2 and "cannot be written" in full.output and "Traceback" not in full.output
    assert _snapshot() == before
    said = run_cli(app, "employees", str(path))  # no --errors, not a terminal: the row is still named, and why
    assert said.exit_code == 1 and "dòng/row 3" in said.output and "national_id" in said.output


def test_the_line_that_is_not_utf8_is_numbered_as_the_file_shows_it(db_session: Session, tmp_path: Path) -> None:
    """The header is line 1: a bad byte on the file's third line is reported on line 3, whichever reader found it."""
    unit = seed_employer(tmp_path)
    good = _line(employee_row(unit))
    bad = _line(employee_row(unit, full_name="José Müller")).encode("latin-1", errors="replace")
    path = tmp_path / "mixed.csv"
    path.write_bytes(HEADER.encode() + b"\n" + good.encode() + b"\n" + bad + b"\n")
    with pytest.raises(UnusableFile) as caught:
        import_file("employees", path)
    assert "line 3" in caught.value.message_en and "dòng 3" in caught.value.message_vi, caught.value.message_en


def test_utf8_with_bom_and_columns_in_any_order_with_extras(db_session: Session, tmp_path: Path) -> None:
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit), employee_row(unit)]
    columns = ["ghi_chu", *reversed(EMPLOYEE_COLUMNS), "extra"]
    path = write_csv(tmp_path / "bom.csv", "employees", rows, columns=columns, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = import_file("employees", path)
    assert (result.inserted, result.rejected) == (2, 0)
    name = db_session.execute(
        text("SELECT full_name FROM employees WHERE si_code = :s"), {"s": rows[0]["si_code"]}
    ).scalar_one()
    assert name == rows[0]["full_name"]


@pytest.mark.parametrize(
    ("cell", "phone"),
    [(912345678, "0912345678"), (2438253232, "02438253232"), (84912345678, "+84912345678"), ("0912 345 678", None)],
)
def test_a_phone_in_a_number_cell_gets_back_what_the_cell_dropped(cell: object, phone: str | None) -> None:
    assert read._cell_text(cell, read.PHONE_WIDTH) == (phone or cell)


def test_xlsx_is_streamed_and_number_cells_keep_their_leading_zeros(db_session: Session, tmp_path: Path) -> None:
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit) for _ in range(3)]
    rows[2]["unused_months"] = "700"  # one bad row: the row number is the sheet's
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(EMPLOYEE_COLUMNS))
    for row in rows:
        values: list[object] = [row[c] for c in EMPLOYEE_COLUMNS]
        # As Excel stores them when typed in: numbers lose leading zeros; dates are dates.
        values[0] = int(row["si_code"])
        values[1] = int(row["national_id"])
        values[3] = __import__("datetime").date.fromisoformat(row["date_of_birth"])
        values[6] = 1
        values[7] = 17
        values[12] = int(row["unused_months"])
        values[EMPLOYEE_COLUMNS.index("phone")] = 912345678  # 0912 345 678 typed into a number cell
        sheet.append(values)
    sheet.append([None] * len(EMPLOYEE_COLUMNS))  # trailing empty rows are not data rows
    path = tmp_path / "employees.xlsx"
    workbook.save(path)

    result = import_file("employees", path)

    assert (result.reader, result.total_rows, result.inserted, result.rejected) == ("xlsx", 3, 2, 1)
    assert [(e.row, e.column, e.error_code) for e in result.errors] == [(4, "unused_months", "months")]
    phones = db_session.execute(
        text("SELECT phone FROM employees WHERE si_code = ANY(:s)"), {"s": [r["si_code"] for r in rows[:2]]}
    ).scalars()
    assert set(phones) == {"0912345678"}  # the leading 0 a number cell drops, put back
    # A bank account typed as a number has lost its leading zeros, which cannot be told back: the row is refused.
    numeric = employee_row(unit)
    values = [numeric[c] for c in EMPLOYEE_COLUMNS]
    values[EMPLOYEE_COLUMNS.index("bank_account")] = int(numeric["bank_account"])
    again = openpyxl.Workbook()
    assert again.active is not None
    again.active.append(list(EMPLOYEE_COLUMNS))
    again.active.append(values)
    again.save(tmp_path / "account.xlsx")
    refused = import_file("employees", tmp_path / "account.xlsx")
    assert [(e.row, e.column, e.error_code) for e in refused.errors] == [(2, "bank_account", "account_number_cell")]
    assert refused.errors[0].value == str(int(numeric["bank_account"]))  # as the cell held it, no mark of ours
    assert refused.inserted == 0
    assert stored_si_codes([r["si_code"] for r in rows]) == {rows[0]["si_code"], rows[1]["si_code"]}
    stored = db_session.execute(
        text("SELECT national_id, district_code, date_of_birth::text FROM employees WHERE si_code = :s"),
        {"s": rows[0]["si_code"]},
    ).one()
    assert tuple(stored) == (rows[0]["national_id"], "017", rows[0]["date_of_birth"])


def test_malformed_csv_rows_are_reported_and_the_rest_imported(db_session: Session, tmp_path: Path) -> None:
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit) for _ in range(3)]
    lines = [HEADER] + [_line(r) for r in rows]
    lines.insert(2, "0100000009,too,few,values")
    lines.insert(4, "")  # a blank line is not a data row, but it still counts in the numbering
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = import_file("employees", path)

    assert result.reader == "python"
    assert (result.total_rows, result.inserted, result.rejected) == (4, 3, 1)
    assert [(e.row, e.error_code) for e in result.errors] == [(3, "columns")]
    assert stored_si_codes([r["si_code"] for r in rows]) == {r["si_code"] for r in rows}


def test_a_lone_backslash_dot_line_does_not_end_the_file_early(db_session: Session, tmp_path: Path) -> None:
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit) for _ in range(2)]
    body = [HEADER, _line(rows[0]), "\\.", _line(rows[1])]
    path = tmp_path / "eod.csv"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    result = import_file("employees", path)
    assert (result.total_rows, result.inserted, result.rejected) == (3, 2, 1)


@pytest.mark.parametrize("dirty_share", [1.0, -1.0])
def test_cells_read_by_python_are_checked_alike_on_the_big_file_paths(
    db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dirty_share: float
) -> None:
    """Python's reader stages an empty cell as '' where COPY stages NULL: the raw-cell check must not trip on it."""
    monkeypatch.setattr(importer, "BIG_FILE", 1)
    monkeypatch.setattr(imports_check, "DIRTY_SHARE", dirty_share)
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit), employee_row(unit, unused_months=""), employee_row(unit, unused_months=" 7 ")]
    path = tmp_path / "python.csv"
    path.write_text("\n".join([HEADER, _line(rows[0]), "\\.", _line(rows[1]), _line(rows[2])]) + "\n", "utf-8")
    result = import_file("employees", path)
    assert result.reader == "python"
    assert (result.total_rows, result.inserted, result.rejected) == (4, 2, 2)
    assert {(e.row, e.column, e.error_code) for e in result.errors} == {
        (3, "", "columns"),
        (4, "unused_months", "required"),
    }


def test_reimport_changes_nothing_and_a_corrected_file_updates_only_what_changed(
    app: Flask, db_session: Session, tmp_path: Path
) -> None:
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit) for _ in range(5)]
    path = write_csv(tmp_path / "e.csv", "employees", rows)
    first = import_file("employees", path)
    assert (first.inserted, first.updated, first.unchanged) == (5, 0, 0)
    codes = [r["si_code"] for r in rows]
    db_session.execute(
        text("UPDATE employees SET updated_at = TIMESTAMPTZ '2021-10-01 08:00+07' WHERE si_code = ANY(:c)"),
        {"c": codes},
    )

    def versions() -> dict[str, tuple[str, str]]:
        found = db_session.execute(
            text("SELECT si_code, ctid::text, updated_at::text FROM employees WHERE si_code = ANY(:c)"), {"c": codes}
        )
        return {si: (ctid, at) for si, ctid, at in found}

    before = versions()
    outcome = run_cli(app, "employees", str(path))
    assert outcome.exit_code == 0
    assert "thêm 0, cập nhật 0, không đổi 5" in outcome.output
    assert versions() == before  # no row was rewritten: same tuple, same updated_at

    rows[1]["unused_months"] = "61"
    rows[3]["bank_code"], rows[3]["bank_account"] = "", ""
    corrected = write_csv(tmp_path / "e2.csv", "employees", [*rows, employee_row(unit)])
    third = import_file("employees", corrected)
    assert (third.inserted, third.updated, third.unchanged) == (1, 2, 3)
    after = versions()
    changed = {si for si in codes if after[si] != before[si]}
    assert changed == {rows[1]["si_code"], rows[3]["si_code"]}
    stored = db_session.execute(
        text("SELECT unused_months FROM employees WHERE si_code = :s"), {"s": rows[1]["si_code"]}
    ).scalar_one()
    assert stored == 61


def test_employers_reimport_is_idempotent(db_session: Session, tmp_path: Path) -> None:
    rows = [employer_row() for _ in range(3)]
    path = write_csv(tmp_path / "u.csv", "employers", rows)
    assert import_file("employers", path).inserted == 3
    again = import_file("employers", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


# ------------------------------------------------------------------------------------------ property test

_MESSY = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=14
) | st.sampled_from(['"', ",", '","', "\n", "\r\n", " ", "NULL", "\\N", "\\.", "-1", "0" * 10, "ẞ", "𝔘𝔫𝔦"])


@st.composite
def _messy_employee(draw: st.DrawFn, unit: str) -> dict[str, str]:
    row = employee_row(unit)
    for column in EMPLOYEE_COLUMNS:
        if draw(st.integers(0, 3)) == 0:
            row[column] = draw(_MESSY)
    return row


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
@pytest.mark.parametrize("way", ["small", "big, raw cells", "big, normalised"])
def test_messy_rows_are_each_imported_or_reported(
    db_session: Session, tmp_path: Path, data: st.DataObject, way: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if way != "small":  # the big-file paths (parallel workers, statistics), on a few rows
        monkeypatch.setattr(importer, "BIG_FILE", 1)
        monkeypatch.setattr(imports_check, "DIRTY_SHARE", 1.0 if way == "big, raw cells" else -1.0)
    unit = "PROPTEST01"
    if not count("SELECT count(*) FROM employers WHERE unit_code = :u", u=unit):
        seed_employer(tmp_path, unit_code=unit)
    rows = data.draw(st.lists(_messy_employee(unit), min_size=1, max_size=12))
    path = tmp_path / "messy.csv"
    write_csv(path, "employees", rows)
    errors = tmp_path / "messy-errors.csv"
    data_rows = sum(1 for r in rows if any(r[c] for c in EMPLOYEE_COLUMNS))

    if not data_rows:
        with pytest.raises(UnusableFile):
            import_file("employees", path, errors_out=errors)
        return
    result = import_file("employees", path, errors_out=errors)

    reported = {int(e["row"]) for e in read_errors(errors)}
    imported = result.inserted + result.updated + result.unchanged
    assert result.total_rows == data_rows
    assert len(reported) == result.rejected
    assert imported + len(reported) == result.total_rows
    assert reported <= set(range(2, 2 + len(rows)))
    with path.open(encoding="utf-8", newline="") as fh:
        parsed = list(csv.DictReader(fh))
    for row_no, row in enumerate(parsed, start=2):
        if row_no not in reported and any(row.values()):
            assert stored_si_codes([row["si_code"].strip()]) == {row["si_code"].strip()}


def test_a_big_file_takes_the_parallel_path_with_the_same_rules(db_session: Session, tmp_path: Path) -> None:
    """50,000 rows: statistics, a normalised table and parallel workers (importer's ``big`` branch)."""
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit) for _ in range(50_000)]
    rows[10]["si_code"] = "123"
    rows[20_000]["district_code"] = " 17 "  # trimmed and padded to 017
    rows[30_000]["bank_code"] = "NOBANK"
    rows[40_000]["si_code"] = rows[40_001]["si_code"]
    result = import_file("employees", write_csv(tmp_path / "big.csv", "employees", rows))
    assert result.reader == "copy"
    assert (result.total_rows, result.inserted, result.rejected) == (50_000, 49_996, 4)
    assert {(e.row, e.error_code) for e in result.errors} == {
        (12, "si_format"),
        (30_002, "bank_unknown"),
        (40_002, "duplicate"),
        (40_003, "duplicate"),
    }
    district = db_session.execute(
        text("SELECT district_code FROM employees WHERE si_code = :s"), {"s": rows[20_000]["si_code"]}
    ).scalar_one()
    assert district == "017"


def test_the_steps_after_reading_are_announced(db_session: Session, tmp_path: Path) -> None:
    """A progress display sits at 100% once the file is read: the importer names each step that follows."""
    unit = seed_employer(tmp_path)
    good = write_csv(tmp_path / "good.csv", "employees", [employee_row(unit)])
    steps: list[str] = []
    import_file("employees", good, on_step=steps.append)
    assert steps == ["check", "write", "report"]
    bad = write_csv(tmp_path / "bad.csv", "employees", [employee_row(unit, si_code="12")])
    steps.clear()
    import_file("employees", bad, strict=True, on_step=steps.append)
    assert steps == ["check", "report"]  # --strict with a rejected row writes nothing
