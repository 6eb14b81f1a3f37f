"""Re-importing a big file: rows that say exactly what is stored skip the typed check (the importer's fast path),
and the other rows of a big file are checked raw when their cells are clean.

These paths are only shortcuts, so the tests lower the "big file" threshold to run them on a few rows and hold
them to the small-file check: the same counts, the same errors and the same table afterwards, row for row, also for rows
written differently (``07`` for ``7``, ``FEMALE``, `` 17 ``), for changed and broken values, and for stored rows
that no longer pass a rule the database does not hold (a phone with letters, a date now in the future).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from disburse.extensions import db
from disburse.registry import importer
from disburse.registry.imports import check as imports_check
from disburse.registry.imports.employees import EMPLOYEE_COLUMNS
from tests.registry.test_import_support import employee_row, seed_employer, write_csv

# Per column: the stored value written another way (same meaning), another valid value, a broken value.
VARIANTS: dict[str, list[str]] = {
    "national_id": [" {v} ", "079012345678", "12345"],
    "full_name": ["{v} ", "Lê Văn Cường", ""],
    "date_of_birth": [
        " {v}",
        "31/01/1990",
        "1985-12-01",
        "1/12/1985",
        "1990-02-30",
        "2999-01-01",
        "31/02/1990",
        "01/31/1990",
        "",
    ],
    "gender": ["FEMALE", "male", "nữ", ""],
    "phone": ["{v}  ", "024 3883 1234", "09x1234567", ""],
    "province_code": ["1", "02", "99", ""],
    "district_code": ["17", " 017 ", "001", "999", ""],
    "address": ["  {v}", "Số 1 Tràng Tiền", ""],
    "employer_unit_code": [" {v}", "NOSUCHUNIT", ""],
    "ui_status": ["Participating", "stopped", "retired"],
    "ui_stopped_on": ["2021-08-15", "15/8/2021", "30/06/2021", "2021-13-01", "31/6/2021", ""],
    "unused_months": ["024", "0", "601", "-1", "abc"],
    "pension_decision": ["", "No", "yes", "maybe"],
    "bank_code": ["vcb", "BIDV", "NOBANK", ""],
    "bank_account": [" {v} ", "12345678", "12-34", ""],
}


@pytest.fixture
def fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BIG_FILE", 1)


def _table(codes: list[str]) -> list[tuple[Any, ...]]:
    """Every stored value of these employees, and each row's physical version (rewritten rows move)."""
    rows = db.session.execute(
        text(
            "SELECT si_code, national_id, full_name, date_of_birth, gender, phone, district_code, address,"
            " employer_id, ui_status, ui_stopped_on, unused_months, pension_decision, bank_code, bank_account,"
            " possible_duplicate, updated_at, ctid::text FROM employees WHERE si_code = ANY(:c) ORDER BY si_code"
        ),
        {"c": codes},
    )
    return [tuple(r) for r in rows]


def _outcome(result: importer.ImportResult) -> tuple[Any, ...]:
    errors = sorted((e.row, e.column, e.error_code) for e in result.errors)
    return result.inserted, result.updated, result.unchanged, result.rejected, errors


def test_an_unchanged_file_takes_the_fast_path_and_rewrites_nothing(
    db_session: Session, tmp_path: Path, fast_path: None
) -> None:
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit) for _ in range(6)]
    rows[2].update(ui_status="stopped", ui_stopped_on="2021-03-31", pension_decision="yes")
    rows[4].update(bank_code="", bank_account="", phone="", date_of_birth="", gender="")
    path = write_csv(tmp_path / "e.csv", "employees", rows)
    first = importer.import_file("employees", path)
    assert (first.inserted, first.fast_unchanged) == (6, 0)
    codes = [r["si_code"] for r in rows]
    before = _table(codes)

    again = importer.import_file("employees", path)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 6, 0)
    assert again.fast_unchanged == 6
    assert _table(codes) == before


def test_the_same_si_code_twice_is_rejected_even_when_both_rows_match_the_stored_one(
    db_session: Session, tmp_path: Path, fast_path: None
) -> None:
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit) for _ in range(3)]
    importer.import_file("employees", write_csv(tmp_path / "e.csv", "employees", rows))
    again = importer.import_file("employees", write_csv(tmp_path / "e2.csv", "employees", [*rows, rows[1]]))
    assert (again.unchanged, again.fast_unchanged, again.rejected) == (2, 2, 2)
    assert {(e.row, e.error_code) for e in again.errors} == {(3, "duplicate"), (5, "duplicate")}


def test_a_stored_row_that_breaks_a_rule_outside_the_database_is_reported(
    db_session: Session, tmp_path: Path, fast_path: None
) -> None:
    """Rows written by other means than an import are checked like any other when a file repeats them."""
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit) for _ in range(3)]
    importer.import_file("employees", write_csv(tmp_path / "e.csv", "employees", rows))
    db_session.execute(text("UPDATE employees SET phone = '09x1234567' WHERE si_code = :s"), {"s": rows[0]["si_code"]})
    db_session.execute(
        text("UPDATE employees SET date_of_birth = DATE '2099-01-01' WHERE si_code = :s"), {"s": rows[1]["si_code"]}
    )
    rows[0]["phone"] = "09x1234567"
    rows[1]["date_of_birth"] = "2099-01-01"
    again = importer.import_file("employees", write_csv(tmp_path / "e2.csv", "employees", rows))
    assert (again.unchanged, again.fast_unchanged, again.rejected) == (1, 1, 2)
    assert {(e.row, e.error_code) for e in again.errors} == {(2, "phone"), (3, "future")}


@st.composite
def _edits(draw: st.DrawFn, n: int) -> list[dict[str, str]]:
    """For each of n rows: a few columns changed to one of their variants (or nothing changed)."""
    edits = []
    for _ in range(n):
        columns = draw(st.lists(st.sampled_from(sorted(VARIANTS)), max_size=3, unique=True))
        edits.append({c: draw(st.sampled_from(VARIANTS[c])) for c in columns})
    return edits


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(edits=_edits(8), stopped=st.lists(st.booleans(), min_size=8, max_size=8))
def test_the_fast_path_gives_the_same_outcome_as_the_full_check(
    db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edits: list[dict[str, str]], stopped: list
) -> None:
    unit = "REIMPORT01"
    if not db_session.execute(text("SELECT count(*) FROM employers WHERE unit_code = :u"), {"u": unit}).scalar():
        seed_employer(tmp_path, unit_code=unit)
    stored = [employee_row(unit) for _ in range(8)]
    for row, is_stopped in zip(stored, stopped, strict=True):
        if is_stopped:
            row.update(ui_status="stopped", ui_stopped_on="2021-06-30")
    monkeypatch.setattr(importer, "BIG_FILE", 10**9)
    assert importer.import_file("employees", write_csv(tmp_path / "stored.csv", "employees", stored)).rejected == 0

    again = []
    for row, edit in zip(stored, edits, strict=True):
        changed = dict(row)
        changed.update({c: v.format(v=row[c]) for c, v in edit.items()})
        again.append(changed)
    path = write_csv(tmp_path / "again.csv", "employees", again)
    codes = sorted({r["si_code"].strip() for r in stored})

    # The small-file check; the big-file check typing raw cells (re-checking dirty rows); the big-file check
    # normalising every row first.
    ways = {"small": (10**9, 0.1), "big, raw cells": (1, 1.0), "big, normalised": (1, -1.0)}
    outcomes = {}
    for name, (threshold, dirty_share) in ways.items():
        monkeypatch.setattr(importer, "BIG_FILE", threshold)
        monkeypatch.setattr(imports_check, "DIRTY_SHARE", dirty_share)
        savepoint = db_session.begin_nested()
        result = importer.import_file("employees", path)
        outcomes[name] = (_outcome(result), [r[:-2] for r in _table(codes)], result.fast_unchanged)
        savepoint.rollback()
    assert outcomes["big, raw cells"][:2] == outcomes["small"][:2]
    assert outcomes["big, normalised"][:2] == outcomes["small"][:2]
    # The fast path took every row it could: those the file repeats exactly, as stored.
    same_text = sum(1 for edit in edits if not edit)
    assert outcomes["big, raw cells"][2] == outcomes["big, normalised"][2] >= same_text
    assert outcomes["small"][2] == 0


def test_the_variants_cover_every_column_but_the_key() -> None:
    assert set(VARIANTS) == set(EMPLOYEE_COLUMNS) - {"si_code"}
