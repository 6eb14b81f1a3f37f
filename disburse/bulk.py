"""Helpers for set-based bulk writes shared by the registry import, the list builder and the set-based transitions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import String, any_, text, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import OperationalError

T = TypeVar("T")

#: How many times a transaction PostgreSQL chose as a deadlock's victim is run again before the error is raised.
DEADLOCK_ATTEMPTS = 5


def any_of(column: Any, values: Iterable[str]) -> Any:
    """``column = ANY(:values)``: the values as one array parameter. ``column.in_(values)`` sends one parameter each,
    and PostgreSQL takes at most 65,535 in a statement: a bank's status file naming 70,000 references, or a poll of
    as many, failed with an error instead of an answer."""
    return column == any_(type_coerce(list(values), ARRAY(String)))


def session_connection() -> psycopg.Connection[Any]:
    """The psycopg connection under the current SQLAlchemy session (its transaction), for COPY and bulk SQL."""
    from disburse.extensions import db

    return db.session.connection().connection.driver_connection  # type: ignore[return-value]


def may_set_replication_role(conn: psycopg.Connection[Any]) -> bool:
    """Whether this role may set ``session_replication_role`` (a superuser, or PostgreSQL 15+
    ``GRANT SET ON PARAMETER session_replication_role``). Bulk writers use ``replica`` to skip per-row
    foreign-key triggers where they have already given the same guarantee set-based; without the privilege they
    fall back to the ordinary, checked insert."""
    conn.execute("SAVEPOINT disburse_replication_role")
    try:
        conn.execute("SET LOCAL session_replication_role = origin")
    except pg_errors.InsufficientPrivilege:
        conn.execute("ROLLBACK TO SAVEPOINT disburse_replication_role")
        return False
    finally:
        conn.execute("RELEASE SAVEPOINT disburse_replication_role")
    return True


def may_skip_reference_triggers(conn: psycopg.Connection[Any], *tables: str) -> bool:
    """Whether a bulk writer may write ``tables`` under ``session_replication_role = replica``, skipping only
    their per-row foreign-key triggers (after giving the same guarantee set-based): the role may set it, and no
    ordinary trigger of those tables would be skipped with them (only ``ENABLE ALWAYS`` ones fire in that mode)."""
    row = conn.execute(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = ANY(%s::regclass[]) AND NOT tgisinternal AND tgenabled <> 'A'",
        (list(tables),),
    ).fetchone()
    if row is None or row[0]:
        return False
    return may_set_replication_role(conn)


def no_jit() -> None:
    """Switch PostgreSQL's JIT compiler off for the rest of the transaction. A bulk statement is estimated expensive
    (tens of thousands of index look-ups), so JIT compiles it every time, for nothing an index probe gains from:
    measured on 20,000 claims of a verification batch, 0.74 s of compiling for 0.9 s of work; on Form 02's
    confirmation of 100,000 claims, 0.42 s a statement. Set locally: it ends with the transaction."""
    from disburse.extensions import db

    db.session.execute(text("SELECT set_config('jit', 'off', true)"))


def analyze_if_stale(conn: psycopg.Connection[Any], table: str, *, drift: float = 0.2) -> bool:
    """ANALYZE ``table`` when its statistics no longer describe it: never analysed, or its size changed by more
    than ``drift`` since (a bulk load). Autovacuum would get there, but only after the commit and a nap, while
    the statement that follows a load (the lists build after an import) needs them now. True when it analysed."""
    row = conn.execute(
        "SELECT reltuples, relpages, pg_relation_size(oid) / current_setting('block_size')::int "
        "FROM pg_class WHERE oid = %s::regclass",
        (table,),
    ).fetchone()
    assert row is not None
    reltuples, relpages, pages = float(row[0]), int(row[1]), int(row[2])
    if reltuples >= 0 and abs(pages - relpages) <= drift * max(relpages, 1):
        return False
    conn.execute(f"ANALYZE {table}")
    return True


def after_deadlocks(
    work: Callable[[], T], *, attempts: int = DEADLOCK_ATTEMPTS, on_retry: Callable[[], None] | None = None
) -> T:
    """``work()`` (a whole transaction, its commit included), run again after a rollback each time PostgreSQL broke a
    deadlock by aborting it. Writers of the rollups can deadlock when one of them moves claims in several statements
    (each statement locks rollup rows in key order, but not across statements); PostgreSQL aborts one of the two and
    the other goes on, so running the victim again succeeds. Any other error, or a deadlock on the last attempt, is
    raised (after the rollback). ``on_retry`` is called before each new attempt (a count, a log line)."""
    from disburse.extensions import db

    for attempt in range(1, attempts + 1):
        try:
            return work()
        except OperationalError as exc:
            db.session.rollback()
            if not isinstance(exc.orig, pg_errors.DeadlockDetected) or attempt == attempts:
                raise
        if on_retry is not None:
            on_retry()
        time.sleep(0.1 * attempt)
    raise AssertionError("unreachable")
