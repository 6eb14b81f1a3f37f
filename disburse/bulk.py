"""Helpers for set-based bulk writes shared by the registry import and the list builder."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors as pg_errors


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
