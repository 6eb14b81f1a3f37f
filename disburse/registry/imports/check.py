"""The check: every staged row typed, looked up, checked against every rule and compared with the stored row.

One ``CREATE TABLE … AS SELECT`` (:meth:`Statements.typed`) makes the checked table ``ty``; a self-join then
finds natural keys repeated in the file (:func:`mark_repeated_keys`), and :func:`count` says how many rows will
be inserted, updated, left alone or rejected.

On the re-import of a big file, a first join picks out the rows that say, as text, exactly what is stored (the
fast path, :meth:`Statements.unchanged`): a stored row met every rule when it was written, so those rows skip the
typed check, which is most of the work; the others are checked in full. Clean cells are checked as they are, and
only the rows that needed normalising are checked again normalised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from disburse.registry.imports.read import Staged
from disburse.registry.imports.statements import Statements
from disburse.registry.imports.tables import ScratchTables, has_rows, parallel

#: The raw cells of a big file are checked as they are (:func:`check`) when at most this share of a sample of its
#: rows needs normalising.
DIRTY_SHARE = 0.1


def create_lookups(
    conn: psycopg.Connection[Any], tables: ScratchTables, *, analyze: bool, bank_names: bool = False
) -> None:
    """Every valid date from 1900 to 2100, as people write it here (dd/mm/yyyy) and as ISO (YYYY-MM-DD), and every
    month (mm/yyyy and YYYY-MM): looking a text up here checks and converts it. A day or month of one digit
    (1/5/1990) was padded by the normalising (statements.py, "date"); the rest (a two-digit year, 05/31/1990) is not
    found, and its message says why (formatting.parse_day).

    With ``bank_names``, every way a bank is written (:func:`~disburse.reference.service.bank_names`, a few hundred
    keys) and its code, the very mapping Form 02 and Form 03 use: the check looks up, in SQL, the key of a bank
    cell that is not a code (:data:`~disburse.registry.imports.spec.BANK_KEY`). A name several banks share
    (:func:`~disburse.reference.service.shared_bank_names`) is there without a code, to be refused as such."""
    if bank_names:
        from disburse.reference.service import bank_names as known_names
        from disburse.reference.service import shared_bank_names

        # Read before the COPY starts: the connection is the session's.
        rows = [*known_names().items(), *((key, None) for key in shared_bank_names())]
        conn.execute(f"CREATE UNLOGGED TABLE {tables.bank_names} (key text PRIMARY KEY, code text)")
        with conn.cursor() as cur, cur.copy(f"COPY {tables.bank_names} (key, code) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(f"ANALYZE {tables.bank_names}")  # a few hundred rows: the planner hashes it, never scans it
    conn.execute(
        f"CREATE UNLOGGED TABLE {tables.dates} AS SELECT to_char(d, f) AS s, d::date AS d "
        "FROM generate_series(DATE '1900-01-01', DATE '2100-12-31', interval '1 day') AS d, "
        "(VALUES ('YYYY-MM-DD'), ('DD/MM/YYYY')) AS f (f)"
    )
    conn.execute(
        f"CREATE UNLOGGED TABLE {tables.months} AS SELECT to_char(d, f) AS s, d::date AS d "
        "FROM generate_series(DATE '1900-01-01', DATE '2100-12-01', interval '1 month') AS d, "
        "(VALUES ('YYYY-MM'), ('MM/YYYY')) AS f (f)"
    )
    if analyze:
        conn.execute(f"ANALYZE {tables.dates}")
        conn.execute(f"ANALYZE {tables.months}")


def check(conn: psycopg.Connection[Any], sql: Statements, staged: Staged, *, big: bool) -> int:
    """Create the typed table ``ty``: every data row typed, looked up, checked and compared with the stored one.

    Returns how many rows the fast path found unchanged. A small file is normalised and checked in one plain
    statement. A big one is checked by parallel workers, in these steps:

    1. on a re-import, the rows that say exactly what is stored are set aside (:func:`_set_aside_unchanged`);
    2. when a sample shows the cells need no normalising (no spaces around values, codes with their leading
       zeros, keywords in lower case: the usual export), the raw cells are checked as they are and the few
       rows that did need normalising are checked again, normalised (:meth:`Statements.raw`); otherwise every
       row is normalised into a table first, which keeps each normalising expression from being evaluated
       wherever its value is used;
    3. the rows set aside stay in their own table (``same``), good and unchanged unless the file repeats their
       key (:func:`mark_repeated_keys` moves those into ``ty``).
    """
    c = {name: staged.column(name) for name in sql.spec.columns}
    t = sql.tables
    if not big:
        source = f"({sql.normalised(stage=t.stage, c=c, trim=staged.needs_trim)})"
        conn.execute(f"CREATE UNLOGGED TABLE {t.ty} AS {sql.typed(source=source)}")
        return 0

    parallel(conn, True)
    unchanged = _set_aside_unchanged(conn, sql, c)
    if unchanged and unchanged == staged.rows:  # the whole file: nothing left to check
        nothing = sql.typed(source=f"({sql.raw(stage=t.stage, c=c)})")
        conn.execute(f"CREATE UNLOGGED TABLE {t.ty} AS {nothing} WITH NO DATA")
    else:
        rest = t.stage
        if unchanged:
            conn.execute(f"ANALYZE {t.same}")
            rest = f"(SELECT * FROM {t.stage} r WHERE NOT EXISTS (SELECT 1 FROM {t.same} s WHERE s.row = r.row)) rest"
        _check_rows(conn, sql, c, rest, trim=staged.needs_trim)
    parallel(conn, False)
    return unchanged


def _set_aside_unchanged(conn: psycopg.Connection[Any], sql: Statements, c: dict[str, str]) -> int:
    """The fast path of a re-import: the rows that say exactly what is stored, into ``same``; how many.

    The cells as they are: a cell that normalising would change (" 017", "Female") is not what is stored and
    simply takes the full check.
    """
    fast = sql.unchanged(cells=f"({sql.cells(stage=sql.tables.stage, c=c)})")
    if not fast or not has_rows(conn, sql.spec.table):
        return 0
    # The many equalities make the planner expect one row and pick nested loops over a million: hash, in the
    # order written.
    conn.execute("SET LOCAL enable_nestloop = off")
    conn.execute("SET LOCAL enable_mergejoin = off")
    conn.execute("SET LOCAL join_collapse_limit = 1")
    cur = conn.execute(f"CREATE UNLOGGED TABLE {sql.tables.same} AS {fast}")
    conn.execute("SET LOCAL join_collapse_limit TO DEFAULT")
    conn.execute("SET LOCAL enable_nestloop TO DEFAULT")
    conn.execute("SET LOCAL enable_mergejoin TO DEFAULT")
    return max(cur.rowcount, 0)


def _check_rows(conn: psycopg.Connection[Any], sql: Statements, c: dict[str, str], rest: str, *, trim: bool) -> None:
    """The typed check of a big file's rows in ``rest`` (all, or those the fast path did not set aside)."""
    t = sql.tables
    sample = conn.execute(
        f"SELECT count(*) FILTER (WHERE dirty), count(*) "
        f"FROM ({sql.raw(stage=f'{t.stage} TABLESAMPLE SYSTEM (1) REPEATABLE (116)', c=c, trim=trim)}) x"
    ).fetchone()
    if sample and sample[0] <= DIRTY_SHARE * max(sample[1], 1):
        raw = sql.typed(source=f"({sql.raw(stage=rest, c=c, trim=trim)})", dirty="n.dirty")
        conn.execute(f"CREATE UNLOGGED TABLE {t.ty} AS {raw}")
        dirty = conn.execute(f"CREATE UNLOGGED TABLE {t.dirty} AS SELECT row FROM {t.ty} WHERE dirty").rowcount
        if dirty:
            dirty_rows = f"(SELECT s.* FROM {t.stage} s WHERE s.row IN (SELECT row FROM {t.dirty})) d"
            conn.execute(f"CREATE UNLOGGED TABLE {t.norm} AS {sql.normalised(stage=dirty_rows, c=c)}")
            conn.execute(f"DELETE FROM {t.ty} WHERE dirty")
            conn.execute(f"INSERT INTO {t.ty} {sql.typed(source=t.norm)}")
    else:
        conn.execute(f"CREATE UNLOGGED TABLE {t.norm} AS {sql.normalised(stage=rest, c=c, trim=trim)}")
        conn.execute(f"ANALYZE {t.norm}")
        conn.execute(f"CREATE UNLOGGED TABLE {t.ty} AS {sql.typed(source=t.norm)}")


def mark_repeated_keys(conn: psycopg.Connection[Any], sql: Statements, *, same: bool) -> bool:
    """Reject every row whose natural key the file repeats; True when there was one.

    With ``same``, the rows the fast path set aside take part, and those whose key repeats move into ``ty``.
    """
    # A self-join finds them in parallel workers (a GROUP BY runs in one process); the UPDATE touches only them.
    parallel(conn, True)
    cur = conn.execute(sql.repeated_keys(with_set_aside=same))
    parallel(conn, False)
    if cur.rowcount <= 0:
        return False
    if same:
        conn.execute(sql.move_repeated_into_ty())
    conn.execute(sql.mark_repeated())
    return True


@dataclass
class Counts:
    rows: int
    rejected: int
    inserted: int
    updated: int
    unchanged: int
    #: Of the unchanged, those the fast path set aside.
    set_aside: int = 0


def count(conn: psycopg.Connection[Any], sql: Statements, *, same: bool) -> Counts:
    """The rows of ``ty`` by outcome, and the unchanged rows the fast path set aside (``same``)."""
    row = conn.execute(sql.count()).fetchone()
    assert row is not None
    counts = Counts(*(int(v) for v in row))
    if same:
        row = conn.execute(f"SELECT count(*) FROM {sql.tables.same}").fetchone()
        counts.set_aside = int(row[0]) if row else 0
        counts.rows += counts.set_aside
        counts.unchanged += counts.set_aside
    return counts
