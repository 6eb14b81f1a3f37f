"""The write: a plain INSERT of the new rows and an UPDATE of the rows whose values differ, nothing else, so
re-importing a file changes nothing (not even ``updated_at``) and a corrected file updates only what changed.

Foreign keys: new rows are written with ``session_replication_role = replica`` when the database lets us
set it (a superuser, or PostgreSQL 15's ``GRANT SET ON PARAMETER session_replication_role``) and the target
table has no triggers of its own. That skips only the per-row foreign-key triggers, which on a million rows
cost about twice the whole COPY; the same guarantee is given set-based instead: every reference was looked up
in the check step and the referenced rows are locked ``FOR KEY SHARE`` (exactly what each trigger would have
done) before the insert. Without the privilege the plain INSERT runs and the triggers check row by row.

Bulk loads: a load that at least doubles the table (the first load of a province or of the nation) drops the
table's secondary indexes and unreferenced unique constraints, inserts, and builds them again, which is cheaper
than maintaining them row by row (:data:`REBUILD_INDEXES_FROM`). Statistics are left to whoever plans over the
table next (the lists build refreshes stale ones) and autovacuum.

Possible duplicates (the kinds whose :attr:`Spec.flags_duplicate_national_ids` is set: employees): the same
national ID under two SI codes is imported and every such employee gets ``possible_duplicate = true``, also when
the other SI code was imported earlier. An import sets the flag and never clears it: clearing is a caseworker's
decision after review.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from disburse.bulk import may_skip_reference_triggers
from disburse.registry.imports.statements import Statements
from disburse.registry.imports.tables import ScratchTables, has_rows, parallel

#: A load of at least this many new rows that also at least doubles the table builds the table's secondary
#: indexes after the insert instead of maintaining them row by row: PostgreSQL's "Populating a Database" advice,
#: for the first load of a province or of the nation. The primary key stays (other tables reference it).
REBUILD_INDEXES_FROM = 100_000


@dataclass
class Written:
    #: Whether new rows were written with the set-based reference check (see the module docstring).
    set_based_references: bool
    #: Rows marked possible duplicates by this import (imported rows and rows already stored).
    possible_duplicates: int = 0


def write(
    conn: psycopg.Connection[Any], sql: Statements, *, inserted: int, updated: int, lap: Callable[[str], None]
) -> Written:
    """Write the new and changed rows, with the possible-duplicate marks of the kinds that have them."""
    stored = has_rows(conn, sql.spec.table)
    flags = sql.spec.flags_duplicate_national_ids
    if flags:
        find_duplicate_national_ids(conn, sql.tables, anything_new=inserted + updated > 0, stored=stored)
        lap("duplicates")
    # No ANALYZE of the table here: the lists build, which plans over it next, refreshes statistics that a load
    # has made stale (disburse.bulk.analyze_if_stale), and autovacuum does after the commit.
    written = Written(set_based_references=_insert_and_update(conn, sql, inserted, updated))
    lap("write")
    if flags:
        written.possible_duplicates = flag_duplicates(conn, sql.tables, stored=stored)
        lap("flag")
    return written


def _insert_and_update(conn: psycopg.Connection[Any], sql: Statements, inserted: int, updated: int) -> bool:
    """Insert the new rows and update the changed ones; True when the insert skipped the reference triggers."""
    set_based = False
    table = sql.spec.table
    if inserted:
        # Measured against a COPY FROM STDIN relayed from COPY TO STDOUT in chunks (see BENCHMARKS.md, Import):
        # the plain INSERT … SELECT was ~10% faster on a million rows, the relay's extra pass costing more than
        # COPY's multi-row heap inserts save.
        rebuild = _rebuild_indexes_after(conn, table, inserted)
        for drop, _create in rebuild:
            conn.execute(drop)
        set_based = may_skip_reference_triggers(conn, table)
        if set_based:
            _lock_references(conn, sql, inserted)
            # An error here aborts the transaction (or the savepoint), which also undoes this setting.
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(sql.insert())
            conn.execute("SET LOCAL session_replication_role = origin")
        else:
            conn.execute(sql.insert())
        if rebuild:
            conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for _drop, create in rebuild:
                conn.execute(create)
    if updated:
        conn.execute(sql.update())
    return set_based


# ------------------------------------------------------------------------------------------------ bulk loads


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


# -------------------------------------------------------------------------------------------- references


def _lock_references(conn: psycopg.Connection[Any], sql: Statements, inserted: int) -> None:
    """Lock ``FOR KEY SHARE`` the rows the new rows refer to, as the foreign-key triggers would. When the
    referenced table has fewer rows than the load (the first load of a province), all of them: cheaper than
    finding the few hundred thousand the file names among millions of rows."""
    for table, column in sql.spec.references:
        whole = column is None or _fewer_rows(conn, table, inserted)
        conn.execute(sql.lock(table, None if whole else column))


def _fewer_rows(conn: psycopg.Connection[Any], table: str, than: int) -> bool:
    row = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) s", (than,)).fetchone()
    return row is not None and int(row[0]) < than


# ------------------------------------------------------------------------------------ possible duplicates


def find_duplicate_national_ids(
    conn: psycopg.Connection[Any], tables: ScratchTables, *, anything_new: bool, stored: bool
) -> None:
    """National IDs that, after this import, belong to two or more SI codes, among new or changed rows: the
    table ``dup``.

    Rows that are unchanged were checked when they were first imported, so a re-import of the same file
    looks at nothing; when the table held nobody before (``stored`` false), only the file is looked at.
    """
    ty, dup = tables.ty, tables.dup
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
    parallel(conn, True)
    conn.execute(f"CREATE UNLOGGED TABLE {dup} AS {within} {stored_too if stored else ''}")
    parallel(conn, False)
    conn.execute(f"ANALYZE {dup}")


def flag_duplicates(conn: psycopg.Connection[Any], tables: ScratchTables, *, stored: bool) -> int:
    """Mark every employee holding a duplicated national ID; return how many this import marked.

    New rows were marked as they were inserted (the spec's ``also_insert``); the others only need it when the
    table held anyone before.
    """
    if not stored:  # everyone is new: the partial index of the marked ones counts them
        row = conn.execute("SELECT count(*) FROM employees WHERE possible_duplicate").fetchone()
        return int(row[0]) if row else 0
    row = conn.execute(
        f"""SELECT count(*) FROM {tables.ty} t
            WHERE t.errs = '' AND t.target_id IS NULL AND EXISTS (SELECT 1 FROM {tables.dup} d WHERE d.nid = t.nid)"""
    ).fetchone()
    inserted_flagged = int(row[0]) if row else 0
    # Few national IDs: one index probe each (ix_employees_national_id).
    cur = conn.execute(
        f"""UPDATE employees e SET possible_duplicate = true, updated_at = now()
            FROM (SELECT DISTINCT nid FROM {tables.dup}) d
            WHERE e.national_id = d.nid AND NOT e.possible_duplicate"""
    )
    return inserted_flagged + max(cur.rowcount, 0)
