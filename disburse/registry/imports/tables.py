"""The scratch tables of one import, and two small helpers the steps share.

Every table an import creates is UNLOGGED, named after the import's random tag (two imports of different kinds
may run at once), and dropped at its end; a failed import's are dropped with its rolled-back transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, astuple, dataclass, fields
from typing import Any

import psycopg


@dataclass(frozen=True)
class ScratchTables:
    #: The file's cells as text, one row per data row (read.py).
    stage: str
    #: The cells normalised (trimmed, blank → NULL, codes padded), when the check does not read them raw.
    norm: str
    #: The rows the re-import's fast path found unchanged, set aside from the typed check.
    same: str
    #: The rows whose raw cells needed normalising (checked again, normalised).
    dirty: str
    #: The checked rows: typed values, ``errs``, and how each compares with the stored row.
    ty: str
    #: The rows whose natural key the file repeats.
    repeated: str
    #: Every valid date from 1900 to 2100 (``s`` its text, dd/mm/yyyy and ISO, ``d`` its value), for looking texts up.
    dates: str
    #: Every month from 1900 to 2100 (``s`` as ``mm/yyyy`` and ``YYYY-MM``, ``d`` its first day).
    months: str
    #: National IDs that this import makes shared by two SI codes (employees).
    dup: str
    #: Every way a bank is written, as :func:`~disburse.reference.service.bank_key` (``key``), and its ``code``: the
    #: names :func:`~disburse.reference.service.bank_names` knows (employees; empty for the other kinds).
    bank_names: str

    @classmethod
    def for_import(cls, tag: str | None = None) -> ScratchTables:
        """Fresh names, all from one random tag."""
        tag = tag or secrets.token_hex(6)
        return cls(**{role.name: f"import_{role.name}_{tag}" for role in fields(cls)})

    def names(self) -> dict[str, str]:
        """Role → table name (the placeholders of a spec's SQL)."""
        return asdict(self)

    def all(self) -> tuple[str, ...]:
        return astuple(self)


def parallel(conn: psycopg.Connection[Any], on: bool) -> None:
    """Let PostgreSQL split the next big scans and hash joins over parallel workers even where its costs say the
    start-up and the passing of rows would not pay (on big files they do), or return to the defaults."""
    for setting in ("parallel_setup_cost", "parallel_tuple_cost"):
        conn.execute(f"SET LOCAL {setting} = 0" if on else f"SET LOCAL {setting} TO DEFAULT")


def has_rows(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()
    return bool(row and row[0])
