"""Registry imports: employers, employees and monthly UI salary funds from CSV or XLSX, at national scale.

The shape, for a file of any size:

1. **Stage** (import_read): the file's cells, as text, into an UNLOGGED staging table, numbered by
   spreadsheet row. CSV bytes go to PostgreSQL's own CSV parser through COPY.
2. **Check** (import_specs, :func:`_check`): one ``CREATE TABLE … AS SELECT`` types every value, looks every
   code up and compares each good row with the stored one; a self-join finds natural keys repeated in the file.
   On the re-import of a big file, a first join picks out the rows that say, as text, exactly what is stored
   (the fast path, :func:`import_specs.unchanged_sql`): a stored row met every rule when it was written, so those
   rows skip the typed check, which is most of the work; the others are checked in full. Clean cells are checked
   as they are, and only the rows that needed normalising are checked again normalised.
3. **Write**: a plain INSERT of the new rows and an UPDATE of the rows whose values differ, nothing else, so
   re-importing a file changes nothing (not even ``updated_at``) and a corrected file updates only what changed.
4. **Report**: one errors-file line per failed rule, with the spreadsheet row, the column, the value and a
   message in Vietnamese and English.

Everything runs in the caller's transaction and is flushed, never committed: the CLI command or the Celery
task commits, or rolls back when ``strict`` is set and a row was rejected (:attr:`ImportResult.applied`).

Rules decided here (the texts are silent):

- The same natural key (SI code, unit code, unit + month) on two rows of one file rejects **all** those rows:
  the file contradicts itself and picking one would be a guess.
- The same national ID under two SI codes is imported and every such employee gets
  ``possible_duplicate = true``, also when the other SI code was imported earlier. An import sets the flag and
  never clears it: clearing is a caseworker's decision after review.
- ``participating`` needs an employer that is already in the database (import the employers first). A stop
  date on a participating employee is kept as given.
- Dates must be ISO ``YYYY-MM-DD`` between 1900 and 2100 and not after the programme's today
  (``DISBURSE_TODAY`` or the real date).

Foreign keys: new rows are written with ``session_replication_role = replica`` when the database lets us
set it (a superuser, or PostgreSQL 15's ``GRANT SET ON PARAMETER session_replication_role``) and the target
table has no triggers of its own. That skips only the per-row foreign-key triggers, which on a million rows
cost about twice the whole COPY; the same guarantee is given set-based instead: every reference was looked up
in the check step and the referenced rows are locked ``FOR KEY SHARE`` (exactly what each trigger would have
done) before the insert. Without the privilege the plain INSERT runs and the triggers check row by row.

Bulk loads: a load that at least doubles the table (the first load of a province or of the nation) drops the
table's secondary indexes and unreferenced unique constraints, inserts, and builds them again, which is cheaper
than maintaining them row by row (:data:`REBUILD_INDEXES_FROM`). When every row of a big file is new and good,
the natural key's unique index finds a key the file repeats; only then are the keys marked and the write redone.
Statistics are left to whoever plans over the table next (the lists build refreshes stale ones) and autovacuum.
"""

from __future__ import annotations

import csv
import functools
import heapq
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from flask import current_app
from psycopg import errors as pg_errors

from disburse.bulk import may_skip_reference_triggers, session_connection
from disburse.extensions import db
from disburse.registry.import_read import RowProblem, Staged, UnusableFile, stage_file
from disburse.registry.import_specs import (
    SPECS,
    Spec,
    cells_sql,
    describe,
    normalise_sql,
    raw_sql,
    typed_sql,
    unchanged_sql,
)

__all__ = ["KINDS", "ImportResult", "RowError", "UnusableFile", "import_file"]

log = logging.getLogger(__name__)

KINDS = ("employers", "employees", "salary_funds")
#: From this many rows a file is checked with statistics, parallel workers and (for a re-import) the fast path
#: for unchanged rows; below it, planning would cost more than it saves.
BIG_FILE = 50_000
#: How many errors the result keeps in memory (the errors file has them all).
MAX_ERRORS_KEPT = 100
ERRORS_HEADER = ("row", "column", "value", "error_code", "message_vi", "message_en")


@dataclass
class RowError:
    #: The row as a spreadsheet shows it: the header is row 1, the first data row is row 2.
    row: int
    column: str
    value: str
    error_code: str
    message_vi: str
    message_en: str


@dataclass
class ImportResult:
    kind: str
    total_rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Of the unchanged rows, those a big file's re-import found equal to the stored row as text, skipping the
    #: typed check (the fast path; see the module docstring).
    fast_unchanged: int = 0
    #: Rows not imported (each may have several errors).
    rejected: int = 0
    #: Employees marked possible duplicates by this import (imported rows and rows already stored).
    possible_duplicates: int = 0
    #: The first :data:`MAX_ERRORS_KEPT` errors; ``error_count`` counts them all.
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    errors_path: str | None = None
    strict: bool = False
    seconds: float = 0.0
    #: "copy" (PostgreSQL parsed the CSV), "python" (the careful path for a malformed CSV) or "xlsx".
    reader: str = "copy"
    #: Whether new rows were written with the set-based reference check (see the module docstring).
    set_based_references: bool = False
    #: Seconds per step (stage, check, keys, count, duplicates, write, flag, report), for benchmarks and logs.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def applied(self) -> bool:
        """False when ``strict`` and a row was rejected: the caller must roll back (nothing was written)."""
        return not (self.strict and self.rejected)

    @property
    def exit_code(self) -> int:
        return 1 if self.rejected else 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["errors"] = data["errors"][:20]
        data["applied"] = self.applied
        data["exit_code"] = self.exit_code
        return data


def programme_today() -> date:
    configured = current_app.config.get("DISBURSE_TODAY")
    return date.fromisoformat(configured) if configured else date.today()


def normalise_kind(kind: str) -> str:
    kind = kind.replace("-", "_")
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


def import_file(
    kind: str,
    path: Path,
    *,
    errors_out: Path | None = None,
    strict: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import ``path`` as ``kind`` inside the current session's transaction; flush, never commit.

    Raises :class:`UnusableFile` (nothing imported) when the file cannot be used at all. ``progress(done, total)``
    follows the reading of the file; ``on_step`` hears the name of each step after it ("check", "write",
    "report"), for a progress display that would otherwise sit at 100% while the rows are checked and written.
    """
    started = time.perf_counter()
    spec = SPECS[normalise_kind(kind)]
    result = ImportResult(kind=spec.kind, strict=strict)
    db.session.flush()
    conn = session_connection()
    today = programme_today()
    tag = secrets.token_hex(6)
    roles = ("stage", "norm", "same", "dirty", "ty", "repeated", "dates", "months", "dup")
    names = {role: f"import_{role}_{tag}" for role in roles}

    # One import of a kind at a time: two concurrent imports of overlapping files would race on the natural keys.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"disburse.import.{spec.kind}",))
    conn.execute("SET LOCAL synchronous_commit = off")
    conn.execute("SET LOCAL work_mem = '256MB'")

    clock = [time.perf_counter()]

    def lap(step: str) -> None:
        now = time.perf_counter()
        result.timings[step] = round(now - clock[0], 3)
        clock[0] = now

    staged = stage_file(conn, Path(path), names["stage"], spec.columns, pad=spec.pad, progress=progress)
    result.reader = staged.path_taken
    lap("stage")
    big = staged.rows >= BIG_FILE
    if not big:
        # Unanalysed tables look big to the planner, which would then spend longer compiling (JIT) than running.
        conn.execute("SET LOCAL jit = off")
    _create_lookups(conn, names["dates"], names["months"], analyze=big)
    step = on_step or (lambda _name: None)
    step("check")
    unchanged = _check(conn, spec, staged, names, today, big=big)
    lap("check")
    counts = _count(conn, spec, names, same=unchanged > 0)
    if not counts.rows:
        raise UnusableFile(
            "Tệp không có dòng dữ liệu nào (chỉ có tiêu đề và dòng trống).",
            "The file has no data rows (only the header and empty rows).",
        )
    # A first load of a big file (every row new and good): the natural key's unique index finds a key the file
    # repeats while the rows are written, so the keys are marked only if it does (and the write is done again).
    optimistic = big and counts.inserted == counts.rows
    if not optimistic and _mark_repeated_keys(conn, spec, names, same=unchanged > 0):
        counts = _count(conn, spec, names, same=unchanged > 0)
    if not optimistic:
        # The steps below join it with stored rows; without statistics those plans go wrong. (A first load
        # only scans it, and joins it with itself.)
        conn.execute(f"ANALYZE {names['ty']}")
    lap("keys")
    _take(result, counts, staged)

    if result.applied:
        step("write")
    if result.applied and optimistic:
        conn.execute("SAVEPOINT disburse_import_write")
        try:
            _apply(conn, spec, names, result, lap)
            conn.execute("RELEASE SAVEPOINT disburse_import_write")
        except pg_errors.UniqueViolation:
            conn.execute("ROLLBACK TO SAVEPOINT disburse_import_write")
            result.set_based_references = False
            _mark_repeated_keys(conn, spec, names, same=False)
            _take(result, _count(conn, spec, names, same=False), staged)
            lap("keys")
            optimistic = False
    if result.applied and not optimistic:
        _apply(conn, spec, names, result, lap)

    step("report")
    _report_errors(conn, spec, staged, names, result, errors_out, today)
    lap("report")
    conn.execute("DROP TABLE IF EXISTS " + ", ".join(names.values()))
    # Leave the rest of the caller's transaction with its own settings (synchronous_commit stays off to the commit).
    conn.execute("SET LOCAL jit TO DEFAULT")
    conn.execute("SET LOCAL work_mem TO DEFAULT")
    db.session.flush()
    result.seconds = round(time.perf_counter() - started, 3)
    if progress:
        progress(result.total_rows, result.total_rows)
    log.info(
        "import %s: %s rows, %s inserted, %s updated, %s unchanged, %s rejected in %.1fs",
        spec.kind,
        result.total_rows,
        result.inserted,
        result.updated,
        result.unchanged,
        result.rejected,
        result.seconds,
        extra={"import_kind": spec.kind},
    )
    return result


# ------------------------------------------------------------------------------------------------ the steps


def _create_lookups(conn: psycopg.Connection[Any], dates: str, months: str, *, analyze: bool) -> None:
    """Every valid ISO date and month from 1900 to 2100: looking a text up here checks and converts it."""
    conn.execute(
        f"CREATE UNLOGGED TABLE {dates} AS SELECT to_char(d, 'YYYY-MM-DD') AS s, d::date AS d "
        "FROM generate_series(DATE '1900-01-01', DATE '2100-12-31', interval '1 day') AS d"
    )
    conn.execute(
        f"CREATE UNLOGGED TABLE {months} AS SELECT to_char(d, 'YYYY-MM') AS s, d::date AS d "
        "FROM generate_series(DATE '1900-01-01', DATE '2100-12-01', interval '1 month') AS d"
    )
    if analyze:
        conn.execute(f"ANALYZE {dates}")
        conn.execute(f"ANALYZE {months}")


#: The raw cells of a big file are checked as they are (:func:`_check`) when at most this share of a sample of its
#: rows needs normalising.
DIRTY_SHARE = 0.1


def _check(
    conn: psycopg.Connection[Any], spec: Spec, staged: Staged, names: dict[str, str], today: date, *, big: bool
) -> int:
    """Create the typed table ``ty``: every data row typed, looked up, checked and compared with the stored one.

    Returns how many rows the fast path found unchanged. A small file is normalised and checked in one plain
    statement. A big one is checked by parallel workers, in these steps:

    1. on a re-import, the rows that say exactly what is stored are set aside (:func:`unchanged_sql`);
    2. when a sample shows the cells need no normalising (no spaces around values, codes with their leading
       zeros, keywords in lower case: the usual export), the raw cells are checked as they are and the few
       rows that did need normalising are checked again, normalised (:func:`raw_sql`); otherwise every row is
       normalised into a table first, which keeps each normalising expression from being evaluated wherever
       its value is used;
    3. the rows set aside stay in their own table (``same``), good and unchanged unless the file repeats their
       key (:func:`_mark_repeated_keys` moves those into ``ty``).
    """
    c = {name: staged.column(name) for name in spec.columns}
    trim = staged.needs_trim
    ty, stage = names["ty"], names["stage"]
    typed = functools.partial(typed_sql, spec, dates=names["dates"], months=names["months"], today=today)
    if not big:
        source = f"({normalise_sql(spec, stage=stage, c=c, trim=trim)})"
        conn.execute(f"CREATE UNLOGGED TABLE {ty} AS {typed(source=source)}")
        return 0

    _parallel(conn, True)
    unchanged = 0
    rest = stage
    # The cells as they are: a cell that normalising would change (" 017", "Female") is not what is stored and
    # simply takes the full check.
    fast = unchanged_sql(spec, cells=f"({cells_sql(spec, stage=stage, c=c)})", today=today)
    if fast and _has_rows(conn, spec.table):
        # The many equalities make the planner expect one row and pick nested loops over a million: hash, in
        # the order written.
        conn.execute("SET LOCAL enable_nestloop = off")
        conn.execute("SET LOCAL enable_mergejoin = off")
        conn.execute("SET LOCAL join_collapse_limit = 1")
        cur = conn.execute(f"CREATE UNLOGGED TABLE {names['same']} AS {fast}")
        conn.execute("SET LOCAL join_collapse_limit TO DEFAULT")
        conn.execute("SET LOCAL enable_nestloop TO DEFAULT")
        conn.execute("SET LOCAL enable_mergejoin TO DEFAULT")
        unchanged = max(cur.rowcount, 0)
        if unchanged == staged.rows:  # the whole file: nothing left to check
            conn.execute(
                f"CREATE UNLOGGED TABLE {ty} AS {typed(source=f'({raw_sql(spec, stage=stage, c=c)})')} WITH NO DATA"
            )
            _parallel(conn, False)
            return unchanged
        if unchanged:
            conn.execute(f"ANALYZE {names['same']}")
            same = names["same"]
            rest = f"(SELECT * FROM {stage} r WHERE NOT EXISTS (SELECT 1 FROM {same} s WHERE s.row = r.row)) rest"

    sample = conn.execute(
        f"SELECT count(*) FILTER (WHERE dirty), count(*) "
        f"FROM ({raw_sql(spec, stage=f'{stage} TABLESAMPLE SYSTEM (1) REPEATABLE (116)', c=c, trim=trim)}) x"
    ).fetchone()
    if sample and sample[0] <= DIRTY_SHARE * max(sample[1], 1):
        raw = typed(source=f"({raw_sql(spec, stage=rest, c=c, trim=trim)})", dirty="n.dirty")
        conn.execute(f"CREATE UNLOGGED TABLE {ty} AS {raw}")
        dirty = conn.execute(f"CREATE UNLOGGED TABLE {names['dirty']} AS SELECT row FROM {ty} WHERE dirty").rowcount
        if dirty:
            dirty_rows = f"(SELECT s.* FROM {stage} s WHERE s.row IN (SELECT row FROM {names['dirty']})) d"
            conn.execute(f"CREATE UNLOGGED TABLE {names['norm']} AS {normalise_sql(spec, stage=dirty_rows, c=c)}")
            conn.execute(f"DELETE FROM {ty} WHERE dirty")
            conn.execute(f"INSERT INTO {ty} {typed(source=names['norm'])}")
    else:
        conn.execute(f"CREATE UNLOGGED TABLE {names['norm']} AS {normalise_sql(spec, stage=rest, c=c, trim=trim)}")
        conn.execute(f"ANALYZE {names['norm']}")
        conn.execute(f"CREATE UNLOGGED TABLE {ty} AS {typed(source=names['norm'])}")
    _parallel(conn, False)
    return unchanged


@dataclass
class _Counts:
    rows: int
    rejected: int
    inserted: int
    updated: int
    unchanged: int
    #: Of the unchanged, those the fast path set aside.
    set_aside: int = 0


def _count(conn: psycopg.Connection[Any], spec: Spec, names: dict[str, str], *, same: bool) -> _Counts:
    """The rows of ``ty`` by outcome, and the unchanged rows the fast path set aside (``same``)."""
    new = "NOT found" if spec.kind == "salary_funds" else "target_id IS NULL"
    row = conn.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE errs <> ''), count(*) FILTER (WHERE errs = '' AND {new}),
                  count(*) FILTER (WHERE errs = '' AND NOT ({new}) AND NOT same),
                  count(*) FILTER (WHERE errs = '' AND same)
           FROM {names["ty"]}"""
    ).fetchone()
    assert row is not None
    counts = _Counts(*(int(v) for v in row))
    if same:
        row = conn.execute(f"SELECT count(*) FROM {names['same']}").fetchone()
        counts.set_aside = int(row[0]) if row else 0
        counts.rows += counts.set_aside
        counts.unchanged += counts.set_aside
    return counts


def _take(result: ImportResult, counts: _Counts, staged: Staged) -> None:
    result.total_rows = counts.rows + len(staged.problems)
    result.rejected = counts.rejected + len(staged.problems)
    if result.applied:
        result.inserted, result.updated, result.unchanged = counts.inserted, counts.updated, counts.unchanged
        result.fast_unchanged = counts.set_aside
    else:
        result.inserted = result.updated = result.unchanged = result.fast_unchanged = 0


def _apply(
    conn: psycopg.Connection[Any], spec: Spec, names: dict[str, str], result: ImportResult, lap: Callable[[str], None]
) -> None:
    """Write the new and changed rows, with the employees' possible-duplicate marks."""
    inserted, updated = result.inserted, result.updated
    stored = _has_rows(conn, spec.table)
    if spec.kind == "employees":
        _find_duplicate_national_ids(
            conn, names["ty"], names["dup"], anything_new=inserted + updated > 0, stored=stored
        )
        lap("duplicates")
    # No ANALYZE of the table here: the lists build, which plans over it next, refreshes statistics that a load
    # has made stale (disburse.bulk.analyze_if_stale), and autovacuum does after the commit.
    result.set_based_references = _write(conn, spec, names, inserted, updated)
    lap("write")
    if spec.kind == "employees":
        result.possible_duplicates = _flag_duplicates(conn, names["ty"], names["dup"], stored=stored)
        lap("flag")


def _parallel(conn: psycopg.Connection[Any], on: bool) -> None:
    """Let PostgreSQL split the next big scans and hash joins over parallel workers even where its costs say the
    start-up and the passing of rows would not pay (on big files they do), or return to the defaults."""
    for setting in ("parallel_setup_cost", "parallel_tuple_cost"):
        conn.execute(f"SET LOCAL {setting} = 0" if on else f"SET LOCAL {setting} TO DEFAULT")


def _has_rows(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()
    return bool(row and row[0])


def _mark_repeated_keys(conn: psycopg.Connection[Any], spec: Spec, names: dict[str, str], *, same: bool) -> bool:
    """Reject every row whose natural key the file repeats; True when there was one.

    With ``same``, the rows the fast path set aside take part, and those whose key repeats move into ``ty``.
    """
    # A self-join finds them in parallel workers (a GROUP BY runs in one process); the UPDATE touches only them.
    ty, repeated = names["ty"], names["repeated"]
    key = {"employees": ["si"], "employers": ["unit"], "salary_funds": ["unit", "month"]}[spec.kind]
    rows = f"(SELECT row, {', '.join(key)} FROM {ty} UNION ALL SELECT row, {', '.join(key)} FROM {names['same']})"
    source = rows if same else ty
    same_key = " AND ".join(f"b.{k} = a.{k}" for k in key)
    _parallel(conn, True)
    cur = conn.execute(
        f"CREATE UNLOGGED TABLE {repeated} AS SELECT DISTINCT a.row FROM {source} a JOIN {source} b ON {same_key} "
        "AND b.row <> a.row"
    )
    _parallel(conn, False)
    if cur.rowcount <= 0:
        return False
    if same:
        columns = spec.unchanged_columns
        moved = f"DELETE FROM {names['same']} WHERE row IN (SELECT row FROM {repeated}) RETURNING {columns}"
        conn.execute(f"WITH moved AS ({moved}) INSERT INTO {ty} ({columns}) SELECT {columns} FROM moved")
    mark = f"ltrim(errs || ' {spec.key_column}:duplicate')"
    conn.execute(f"UPDATE {ty} SET errs = {mark} WHERE row IN (SELECT row FROM {repeated})")
    return True


def _find_duplicate_national_ids(
    conn: psycopg.Connection[Any], ty: str, dup: str, *, anything_new: bool, stored: bool
) -> None:
    """National IDs that, after this import, belong to two or more SI codes, among new or changed rows.

    Rows that are unchanged were checked when they were first imported, so a re-import of the same file
    looks at nothing; when the table held nobody before (``stored`` false), only the file is looked at.
    """
    if not anything_new:
        conn.execute(f"CREATE UNLOGGED TABLE {dup} (nid text)")
        return
    # Within the file: a self-join rather than a GROUP BY, which PostgreSQL can only run in one process; the
    # join's hash table is built and probed by the parallel workers together.
    within = f"""
        SELECT DISTINCT a.nid FROM {ty} a JOIN {ty} b ON b.nid = a.nid AND b.row <> a.row
        WHERE a.errs = '' AND b.errs = '' AND (a.target_id IS NULL OR a.nid_changed OR b.target_id IS NULL
                                              OR b.nid_changed)"""
    stored_too = f"""
        UNION
        SELECT t.nid FROM {ty} t JOIN employees e ON e.national_id = t.nid
        WHERE t.errs = '' AND (t.target_id IS NULL OR t.nid_changed) AND e.si_code <> t.si
          AND NOT EXISTS (SELECT 1 FROM {ty} o WHERE o.si = e.si_code AND o.errs = ''
                            AND o.nid IS DISTINCT FROM e.national_id)"""
    _parallel(conn, True)
    conn.execute(f"CREATE UNLOGGED TABLE {dup} AS {within} {stored_too if stored else ''}")
    _parallel(conn, False)
    conn.execute(f"ANALYZE {dup}")


def _flag_duplicates(conn: psycopg.Connection[Any], ty: str, dup: str, *, stored: bool) -> int:
    """Mark every employee holding a duplicated national ID; return how many this import marked.

    New rows were marked as they were inserted; the others only need it when the table held anyone before.
    """
    if not stored:  # everyone is new: the partial index of the marked ones counts them
        row = conn.execute("SELECT count(*) FROM employees WHERE possible_duplicate").fetchone()
        return int(row[0]) if row else 0
    row = conn.execute(
        f"""SELECT count(*) FROM {ty} t
            WHERE t.errs = '' AND t.target_id IS NULL AND EXISTS (SELECT 1 FROM {dup} d WHERE d.nid = t.nid)"""
    ).fetchone()
    inserted_flagged = int(row[0]) if row else 0
    # Few national IDs: one index probe each (ix_employees_national_id).
    cur = conn.execute(
        f"""UPDATE employees e SET possible_duplicate = true, updated_at = now()
            FROM (SELECT DISTINCT nid FROM {dup}) d
            WHERE e.national_id = d.nid AND NOT e.possible_duplicate"""
    )
    return inserted_flagged + max(cur.rowcount, 0)


#: A load of at least this many new rows that also at least doubles the table builds the table's secondary
#: indexes after the insert instead of maintaining them row by row: PostgreSQL's "Populating a Database" advice,
#: for the first load of a province or of the nation. The primary key stays (other tables reference it).
REBUILD_INDEXES_FROM = 100_000


def _secondary_indexes(conn: psycopg.Connection[Any], table: str) -> list[tuple[str, str]]:
    """(drop, create) statements for the table's indexes other than the primary key: plain indexes, and unique
    constraints that no foreign key references. Partial indexes stay: a row outside the predicate costs them
    nothing to maintain, while building one reads the whole table."""
    return [
        (str(drop), str(create))
        for drop, create in conn.execute(
            """SELECT format('DROP INDEX %%I', i.relname), pg_get_indexdef(x.indexrelid)
               FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               WHERE x.indrelid = %(t)s::regclass AND x.indpred IS NULL
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
               UNION ALL
               SELECT format('ALTER TABLE %%s DROP CONSTRAINT %%I', %(t)s, c.conname),
                      format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', %(t)s, c.conname, pg_get_constraintdef(c.oid))
               FROM pg_constraint c
               WHERE c.conrelid = %(t)s::regclass AND c.contype = 'u'
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)
               ORDER BY 1""",
            {"t": table},
        ).fetchall()
    ]


def _rebuild_indexes_after(conn: psycopg.Connection[Any], table: str, inserted: int) -> list[tuple[str, str]]:
    """The secondary indexes to drop now and build after the insert, or none when the load is small for the table.

    Dropping takes an ACCESS EXCLUSIVE lock on the table until commit: readers wait for the load, which only
    happens when the load at least doubles the table. Uniqueness holds all the same: the check step rejects keys
    repeated in the file and turns keys already stored into updates, and re-adding the constraint verifies it."""
    if inserted < REBUILD_INDEXES_FROM:
        return []
    row = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) s", (inserted + 1,)).fetchone()
    if row is None or int(row[0]) > inserted:
        return []
    return _secondary_indexes(conn, table)


def _write(conn: psycopg.Connection[Any], spec: Spec, names: dict[str, str], inserted: int, updated: int) -> bool:
    set_based = False
    if inserted:
        # Measured against a COPY FROM STDIN relayed from COPY TO STDOUT in chunks (see BENCHMARKS.md, Import):
        # the plain INSERT … SELECT was ~10% faster on a million rows, the relay's extra pass costing more than
        # COPY's multi-row heap inserts save.
        insert = spec.insert.format(ty=names["ty"], dup=names["dup"])
        rebuild = _rebuild_indexes_after(conn, spec.table, inserted)
        for drop, _create in rebuild:
            conn.execute(drop)
        set_based = may_skip_reference_triggers(conn, spec.table)
        if set_based:
            _lock_references(conn, spec, names["ty"], inserted)
            # An error here aborts the transaction (or the savepoint), which also undoes this setting.
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(insert)
            conn.execute("SET LOCAL session_replication_role = origin")
        else:
            conn.execute(insert)
        if rebuild:
            conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for _drop, create in rebuild:
                conn.execute(create)
    if updated:
        conn.execute(spec.update.format(ty=names["ty"]))
    return set_based


def _lock_references(conn: psycopg.Connection[Any], spec: Spec, ty: str, inserted: int) -> None:
    """Lock ``FOR KEY SHARE`` the rows the new rows refer to, as the foreign-key triggers would. When the
    referenced table has fewer rows than the load (the first load of a province), all of them: cheaper than
    finding the few hundred thousand the file names among millions of rows."""
    for table, referenced in spec.lock_references:
        if referenced is not None and not _fewer_rows(conn, table, inserted):
            conn.execute(f"SELECT 1 FROM {table} WHERE {referenced.format(ty=ty)} FOR KEY SHARE")
        else:
            conn.execute(f"SELECT 1 FROM {table} FOR KEY SHARE")


def _fewer_rows(conn: psycopg.Connection[Any], table: str, than: int) -> bool:
    row = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) s", (than,)).fetchone()
    return row is not None and int(row[0]) < than


# -------------------------------------------------------------------------------------------------- errors


def _iter_errors(
    conn: psycopg.Connection[Any], spec: Spec, staged: Staged, names: dict[str, str], today: date
) -> Iterator[RowError]:
    index = {name: i for i, name in enumerate(staged.header)}
    problems = (_problem_error(p) for p in staged.problems)
    with conn.cursor(name=f"import_errors_{names['ty']}") as cur:
        cur.itersize = 5000
        cur.execute(
            f"""SELECT t.row, t.errs, s.* FROM (SELECT row, errs FROM {names["ty"]} WHERE errs <> '') t
                JOIN {names["stage"]} s ON s.row = t.row ORDER BY t.row"""
        )

        def from_rows() -> Iterator[RowError]:
            for record in cur:
                row_no, errs, raw = record[0], record[1], record[3:]
                for token in errs.split():
                    column, code = token.split(":", 1)
                    value = raw[index[column]] or ""
                    vi, en = describe(column, code, value, today=today)
                    yield RowError(row_no, column, value, code, vi, en)

        yield from heapq.merge(problems, from_rows(), key=lambda e: e.row)


def _problem_error(problem: RowProblem) -> RowError:
    return RowError(
        problem.row,
        "",
        "",
        "columns",
        f"Dòng có {problem.values} giá trị nhưng tiêu đề có {problem.expected} cột; hãy kiểm tra dấu phẩy và "
        "dấu ngoặc kép.",
        f"The row has {problem.values} values but the header has {problem.expected} columns; check its commas "
        "and quotes.",
    )


def _report_errors(
    conn: psycopg.Connection[Any],
    spec: Spec,
    staged: Staged,
    names: dict[str, str],
    result: ImportResult,
    errors_out: Path | None,
    today: date,
) -> None:
    if not result.rejected and errors_out is None:
        return
    handle = None
    writer = None
    if errors_out is not None:
        errors_out = Path(errors_out)
        errors_out.parent.mkdir(parents=True, exist_ok=True)
        # With a BOM, Excel opens the Vietnamese messages as UTF-8.
        handle = errors_out.open("w", encoding="utf-8-sig", newline="")
        writer = csv.writer(handle)
        writer.writerow(ERRORS_HEADER)
        result.errors_path = str(errors_out)
    try:
        if result.rejected:
            for error in _iter_errors(conn, spec, staged, names, today):
                result.error_count += 1
                if len(result.errors) < MAX_ERRORS_KEPT:
                    result.errors.append(error)
                if writer is not None:
                    writer.writerow(
                        (error.row, error.column, error.value, error.error_code, error.message_vi, error.message_en)
                    )
    finally:
        if handle is not None:
            handle.close()
