"""Registry imports: employers, employees and monthly UI salary funds from CSV or XLSX, at national scale.

This module runs the steps; each lives in :mod:`disburse.registry.imports`, and what differs between the three
kinds is data in one :class:`~disburse.registry.imports.spec.Spec` per kind (imports/employers.py, employees.py,
salary_funds.py). The shape, for a file of any size:

1. **Stage** (imports/read.py): the file's cells, as text, into an UNLOGGED staging table, numbered by
   spreadsheet row. CSV bytes go to PostgreSQL's own CSV parser through COPY.
2. **Check** (imports/check.py): one ``CREATE TABLE … AS SELECT`` types every value, looks every code up and
   compares each good row with the stored one; a self-join finds natural keys repeated in the file. On the
   re-import of a big file, the rows that say, as text, exactly what is stored skip the typed check (the fast
   path).
3. **Write** (imports/write.py): a plain INSERT of the new rows and an UPDATE of the rows whose values differ,
   nothing else, so re-importing a file changes nothing (not even ``updated_at``) and a corrected file updates
   only what changed.
4. **Report** (imports/report.py): one errors-file line per failed rule, with the spreadsheet row, the column,
   the value and a message in Vietnamese and English.

Every statement that depends on the kind is built in one place (imports/statements.py) from the spec and the
import's scratch tables (imports/tables.py).

Everything runs in the caller's transaction and is flushed, never committed: the CLI command or the Celery
task commits, or rolls back when ``strict`` is set and a row was rejected (:attr:`ImportResult.applied`).

Rules decided here (the texts are silent):

- The same natural key (SI code, unit code, unit + month) on two rows of one file rejects **all** those rows:
  the file contradicts itself and picking one would be a guess.
- The same national ID under two SI codes is imported and every such employee gets
  ``possible_duplicate = true``, also when the other SI code was imported earlier. An import sets the flag and
  never clears it: clearing is a caseworker's decision after review.
- A bank is its code (``VCB``) or, as Forms 02 and 03 take it, its name or NAPAS number in any case, with or
  without marks ("Vietcombank", "NH TMCP Ngoại thương Việt Nam", 970436): the names of
  :func:`~disburse.reference.service.bank_names` are loaded into a scratch table and a cell that is not a code is
  looked up by its key, computed in SQL as ``bank_key`` computes it (imports/spec.py, ``BANK_KEY``), in the same
  check. A bank nobody recognises is refused on its row.
- ``participating`` needs an employer that is already in the database (import the employers first). A stop
  date on a participating employee is kept as given.
- A unit keeps its district while claims are worked there (claims in the unit's district, of any programme and
  state): a row giving it another district is refused (``district_code:unit_has_claims``) and changes nothing of it.
  The unit's page, its users' scope and the queue's unit filter follow the unit's district, the claims (their case
  pages, cash lists and figures) their own: moving the unit alone would split it from its claims. A person's district
  may change: no claim follows it (a Form 04 claim keeps the district it was made in, a track A claim its unit's).
- Dates are written ``dd/mm/yyyy`` (as every page writes them; ``1/5/1990`` too) or ISO ``YYYY-MM-DD`` (or are
  date cells of a workbook), months ``mm/yyyy`` or ``YYYY-MM``; between 1900 and 2100 and not after the
  programme's today (``DISBURSE_TODAY`` or the real date).

Speed: foreign keys are checked set-based and a load that doubles a table rebuilds its indexes afterwards
(imports/write.py). When every row of a big file is new and good, the natural key's unique index finds a key
the file repeats; only then are the keys marked and the write redone (:func:`_write`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from disburse.bulk import session_connection
from disburse.extensions import db
from disburse.programs.calendar import programme_today
from disburse.registry.imports.check import Counts, check, count, create_lookups, mark_repeated_keys
from disburse.registry.imports.employees import EMPLOYEES
from disburse.registry.imports.employers import EMPLOYERS
from disburse.registry.imports.read import Staged, UnusableFile, stage_file
from disburse.registry.imports.report import RowError, report_errors
from disburse.registry.imports.salary_funds import SALARY_FUNDS
from disburse.registry.imports.spec import Spec
from disburse.registry.imports.statements import Statements
from disburse.registry.imports.tables import ScratchTables
from disburse.registry.imports.write import Written, write
from disburse.spreadsheets import writable

__all__ = ["KINDS", "ImportResult", "RowError", "UnusableFile", "import_file", "normalise_kind"]

log = logging.getLogger(__name__)

SPECS: dict[str, Spec] = {spec.kind: spec for spec in (EMPLOYERS, EMPLOYEES, SALARY_FUNDS)}
#: The kinds, in the order their files must be imported.
KINDS = tuple(SPECS)
#: From this many rows a file is checked with statistics, parallel workers and (for a re-import) the fast path
#: for unchanged rows; below it, planning would cost more than it saves.
BIG_FILE = 50_000


@dataclass
class ImportResult:
    kind: str
    total_rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Of the unchanged rows, those a big file's re-import found equal to the stored row as text, skipping the
    #: typed check (the fast path; see imports/check.py).
    fast_unchanged: int = 0
    #: Rows not imported (each may have several errors).
    rejected: int = 0
    #: Employees marked possible duplicates by this import (imported rows and rows already stored).
    possible_duplicates: int = 0
    #: The first :data:`~disburse.registry.imports.report.MAX_ERRORS_KEPT` errors; ``error_count`` counts them all.
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    errors_path: str | None = None
    strict: bool = False
    seconds: float = 0.0
    #: "copy" (PostgreSQL parsed the CSV), "python" (the careful path for a malformed CSV) or "xlsx".
    reader: str = "copy"
    #: Whether new rows were written with the set-based reference check (see imports/write.py).
    set_based_references: bool = False
    #: Seconds per step (stage, check, keys, duplicates, write, flag, report), for benchmarks and logs.
    timings: dict[str, float] = field(default_factory=dict)
    #: Other sheets of a workbook that hold data and were not read (only the first sheet is imported).
    other_sheets: list[str] = field(default_factory=list)

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


def _one_at_a_time(conn: Any, kind: str, on_wait: Callable[[str], None] | None) -> None:
    """One import of a kind at a time: two concurrent imports of overlapping files would race on the natural keys.
    The second says that it waits, then waits (the lock goes with the first one's transaction)."""
    key = f"disburse.import.{kind}"
    row = conn.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", (key,)).fetchone()
    if row and row[0]:
        return
    if on_wait is not None:
        on_wait(kind)
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))


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
    on_wait: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import ``path`` as ``kind`` inside the current session's transaction; flush, never commit.

    Raises :class:`UnusableFile` (nothing imported) when the file cannot be used at all. ``progress(done, total)``
    follows the reading of the file; ``on_step`` hears the name of each step after it ("check", "write",
    "report"), for a progress display that would otherwise sit at 100% while the rows are checked and written;
    ``on_wait`` hears the kind when another import of the same kind holds the lock and this one waits for it.
    """
    if errors_out is not None:
        writable(Path(errors_out), not_this=Path(path))  # before any work, not after the whole import
    started = time.perf_counter()
    spec = SPECS[normalise_kind(kind)]
    result = ImportResult(kind=spec.kind, strict=strict)
    db.session.flush()
    conn = session_connection()
    sql = Statements(spec, ScratchTables.for_import(), programme_today())
    step = on_step or (lambda _name: None)
    lap = _Laps(result.timings)

    # One import of a kind at a time: two concurrent imports of overlapping files would race on the natural keys.
    _one_at_a_time(conn, spec.kind, on_wait)
    conn.execute("SET LOCAL synchronous_commit = off")
    conn.execute("SET LOCAL work_mem = '256MB'")

    staged = stage_file(conn, Path(path), sql.tables.stage, spec.columns, pad=spec.pad, progress=progress)
    result.reader = staged.path_taken
    result.other_sheets = staged.other_sheets
    lap("stage")
    big = staged.rows >= BIG_FILE
    if not big:
        # Unanalysed tables look big to the planner, which would then spend longer compiling (JIT) than running.
        conn.execute("SET LOCAL jit = off")
    create_lookups(conn, sql.tables, analyze=big, bank_names=spec.bank_names)
    step("check")
    same = check(conn, sql, staged, big=big) > 0
    for rule in sql.stored_rules():
        conn.execute(rule)
    lap("check")
    optimistic = _keys(conn, sql, result, staged, same=same, big=big)
    lap("keys")

    if result.applied:
        step("write")
        _write(conn, sql, result, staged, optimistic=optimistic, lap=lap)

    step("report")
    report = report_errors(
        conn, sql.tables, staged, rejected=result.rejected > 0, errors_out=errors_out, today=sql.today
    )
    result.errors, result.error_count, result.errors_path = report.errors, report.count, report.path
    lap("report")
    conn.execute("DROP TABLE IF EXISTS " + ", ".join(sql.tables.all()))
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


class _Laps:
    """Records the seconds of each step in ``timings``, from the end of the step before."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step] = round(now - self.last, 3)
        self.last = now


def _keys(
    conn: psycopg.Connection[Any], sql: Statements, result: ImportResult, staged: Staged, *, same: bool, big: bool
) -> bool:
    """Count the checked rows, reject those whose key the file repeats, and take the counts into ``result``.

    Returns whether the write may be optimistic: on a first load of a big file (every row new and good) the
    natural key's unique index finds a key the file repeats while the rows are written, so the keys are marked
    only if it does (and the write is done again, :func:`_write`).
    """
    counts = count(conn, sql, same=same)
    if not counts.rows and not staged.problems:  # rows the reader could not stage are rows, refused
        raise UnusableFile(
            "Tệp không có dòng dữ liệu nào (chỉ có tiêu đề và dòng trống).",
            "The file has no data rows (only the header and empty rows).",
        )
    optimistic = big and counts.inserted == counts.rows
    if not optimistic:
        if mark_repeated_keys(conn, sql, same=same):
            counts = count(conn, sql, same=same)
        # The steps below join it with stored rows; without statistics those plans go wrong. (A first load
        # only scans it, and joins it with itself.)
        conn.execute(f"ANALYZE {sql.tables.ty}")
    _take(result, counts, staged)
    return optimistic


def _take(result: ImportResult, counts: Counts, staged: Staged) -> None:
    result.total_rows = counts.rows + len(staged.problems)
    result.rejected = counts.rejected + len(staged.problems)
    if result.applied:
        result.inserted, result.updated, result.unchanged = counts.inserted, counts.updated, counts.unchanged
        result.fast_unchanged = counts.set_aside
    else:
        result.inserted = result.updated = result.unchanged = result.fast_unchanged = 0


def _write(
    conn: psycopg.Connection[Any],
    sql: Statements,
    result: ImportResult,
    staged: Staged,
    *,
    optimistic: bool,
    lap: Callable[[str], None],
) -> None:
    """Write the new and changed rows. An optimistic write runs under a savepoint: when the unique index finds a
    key the file repeats, it is undone, the keys are marked, and what is left is written (unless ``strict``)."""
    if optimistic:
        conn.execute("SAVEPOINT disburse_import_write")
        try:
            written = write(conn, sql, inserted=result.inserted, updated=result.updated, lap=lap)
        except pg_errors.UniqueViolation:
            conn.execute("ROLLBACK TO SAVEPOINT disburse_import_write")
            mark_repeated_keys(conn, sql, same=False)
            _take(result, count(conn, sql, same=False), staged)
            lap("keys")
        else:
            conn.execute("RELEASE SAVEPOINT disburse_import_write")
            _take_written(result, written)
            return
    if result.applied:
        _take_written(result, write(conn, sql, inserted=result.inserted, updated=result.updated, lap=lap))


def _take_written(result: ImportResult, written: Written) -> None:
    result.set_based_references = written.set_based_references
    result.possible_duplicates = written.possible_duplicates
