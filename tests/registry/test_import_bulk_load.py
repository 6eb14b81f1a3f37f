"""A load that at least doubles the employees table builds its secondary indexes (and the SI code's unique
constraint) after the insert; smaller loads keep them. Either way the table ends with exactly the indexes and
constraints the migrations define (tests/test_schema.py compares them with the models)."""

from __future__ import annotations

from sqlalchemy import text

from disburse.extensions import db
from disburse.registry import importer
from tests.registry.test_import_support import count, employee_row, seed_employer, write_csv


def _indexes() -> dict[str, tuple[int, str]]:
    rows = db.session.execute(
        text(
            "SELECT i.relname, i.oid, pg_get_indexdef(x.indexrelid) FROM pg_index x"
            " JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = 'employees'::regclass"
        )
    )
    return {name: (oid, definition) for name, oid, definition in rows}


def _import(tmp_path, unit: str, n: int, name: str):
    rows = [employee_row(unit) for _ in range(n)]
    path = write_csv(tmp_path / name, "employees", rows)
    return rows, importer.import_file("employees", path)


def test_a_load_that_doubles_the_table_rebuilds_plain_indexes(tmp_path, db_session, monkeypatch):
    monkeypatch.setattr(importer, "REBUILD_INDEXES_FROM", 5)
    unit = seed_employer(tmp_path)
    before = _indexes()
    assert count("SELECT count(*) FROM employees") == 0

    rows, result = _import(tmp_path, unit, 20, "first.csv")
    assert (result.inserted, result.rejected) == (20, 0)
    after = _indexes()
    assert {name: d for name, (_, d) in after.items()} == {name: d for name, (_, d) in before.items()}
    rebuilt = {name for name in after if after[name][0] != before[name][0]}
    assert rebuilt == {
        "ix_employees_national_id",
        "ix_employees_employer_id",
        "ix_employees_possible_duplicate",
        "uq_employees_si_code",
    }
    # The unique constraint is back, and still refuses a repeated SI code.
    assert count("SELECT count(*) FROM pg_constraint WHERE conname = 'uq_employees_si_code' AND contype = 'u'") == 1
    # The rebuilt indexes serve lookups: every imported person is found through the national-ID index.
    db_session.execute(text("SET LOCAL enable_seqscan = off"))
    for row in rows[:3]:
        assert count("SELECT count(*) FROM employees WHERE national_id = :n", n=row["national_id"]) == 1

    # Five more people on top of twenty: far from doubling, the indexes are kept and maintained row by row.
    _, more = _import(tmp_path, unit, 5, "more.csv")
    assert more.inserted == 5
    assert {name: oid for name, (oid, _) in _indexes().items()} == {name: oid for name, (oid, _) in after.items()}


def test_small_loads_never_touch_the_indexes(tmp_path, db_session):
    unit = seed_employer(tmp_path)
    before = _indexes()
    _, result = _import(tmp_path, unit, 10, "small.csv")
    assert result.inserted == 10
    assert _indexes() == before
