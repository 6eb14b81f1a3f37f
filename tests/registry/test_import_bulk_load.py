"""A load that at least doubles the employees table builds its secondary indexes (and the SI code's unique
constraint) after the insert, partial indexes excepted; smaller loads keep them. Either way the table ends with
exactly the indexes and constraints the migrations define (tests/test_schema.py compares them with the models)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from disburse.extensions import db
from disburse.registry import importer
from disburse.registry.imports import write as imports_write
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
    monkeypatch.setattr(imports_write, "REBUILD_INDEXES_FROM", 5)
    unit = seed_employer(tmp_path)
    before = _indexes()
    assert count("SELECT count(*) FROM employees") == 0

    rows, result = _import(tmp_path, unit, 20, "first.csv")
    assert (result.inserted, result.rejected) == (20, 0)
    after = _indexes()
    assert {name: d for name, (_, d) in after.items()} == {name: d for name, (_, d) in before.items()}
    rebuilt = {name for name in after if after[name][0] != before[name][0]}
    # The partial index of possible duplicates is kept: maintaining it costs nothing for the rows it leaves out.
    assert rebuilt == {"ix_employees_national_id", "ix_employees_employer_id", "uq_employees_si_code"}
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


@pytest.mark.parametrize("rebuild_from", [1, 10**9])
def test_a_first_load_that_repeats_a_key_rejects_both_rows_and_writes_the_rest(
    tmp_path, db_session, monkeypatch, rebuild_from: int
):
    """A big file of only new, good rows is written without marking repeated keys first: the unique index finds
    the repeat (while inserting, or when rebuilt after a bulk load), the write is undone, the keys are marked
    and the rest is written."""
    monkeypatch.setattr(importer, "BIG_FILE", 1)
    monkeypatch.setattr(imports_write, "REBUILD_INDEXES_FROM", rebuild_from)
    unit = seed_employer(tmp_path)
    rows = [employee_row(unit) for _ in range(6)]
    rows.append(dict(rows[2], full_name="Người khác cùng mã"))
    path = write_csv(tmp_path / "repeat.csv", "employees", rows)
    result = importer.import_file("employees", path)
    assert (result.total_rows, result.inserted, result.rejected) == (7, 5, 2)
    assert {(e.row, e.error_code) for e in result.errors} == {(4, "duplicate"), (8, "duplicate")}
    assert count("SELECT count(*) FROM employees WHERE si_code = :s", s=rows[2]["si_code"]) == 0
    assert count("SELECT count(*) FROM employees WHERE si_code = ANY(:c)", c=[r["si_code"] for r in rows]) == 5
    # Whatever was dropped for the bulk load is back.
    assert count("SELECT count(*) FROM pg_constraint WHERE conname = 'uq_employees_si_code'") == 1
    assert count("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_employees_national_id'") == 1


def test_statistics_made_stale_by_a_load_are_refreshed_before_the_lists_build_plans(tmp_path, db_session):
    from disburse.bulk import analyze_if_stale

    conn = db_session.connection().connection.driver_connection
    # From an empty table (undone with the test's transaction): tests before this one in the same process may have
    # left the file large with dead rows, where 3,000 new ones fit without growing it.
    db_session.execute(text("TRUNCATE employees CASCADE"))
    db_session.execute(text("ANALYZE employees"))
    assert analyze_if_stale(conn, "employees") is False  # just analysed
    unit = seed_employer(tmp_path)
    _import(tmp_path, unit, 3000, "load.csv")  # the import leaves the statistics to whoever plans next
    stored = count("SELECT count(*) FROM employees")
    assert analyze_if_stale(conn, "employees") is True
    assert count("SELECT reltuples::bigint FROM pg_class WHERE oid = 'employees'::regclass") == stored
    assert analyze_if_stale(conn, "employees") is False


def test_an_ordinary_trigger_keeps_a_bulk_writer_on_the_checked_path(db_session):
    """The replica role would skip ordinary triggers along with the foreign keys: only ENABLE ALWAYS ones may
    stand on a table a bulk writer writes set-based (shared by the import, the lists build and the reductions)."""
    from disburse.bulk import may_skip_reference_triggers

    conn = db_session.connection().connection.driver_connection
    assert may_skip_reference_triggers(conn, "employees", "claims", "claim_events", "reductions") is True
    db_session.execute(
        text(
            "CREATE FUNCTION pg_temp.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; "
            "CREATE TRIGGER audit_me BEFORE INSERT ON reductions FOR EACH ROW EXECUTE FUNCTION pg_temp.noop()"
        )
    )
    assert may_skip_reference_triggers(conn, "reductions") is False
    assert may_skip_reference_triggers(conn, "employees") is True
    db_session.execute(text("ALTER TABLE reductions ENABLE ALWAYS TRIGGER audit_me"))
    assert may_skip_reference_triggers(conn, "reductions") is True
