"""The sandbox bank's tables, on their own MetaData in the PostgreSQL schema ``sandbox``.

They are not disburse's tables: Alembic never sees them (``disburse.models`` does not import this module), and the
sandbox creates them itself at start (:func:`create_schema`). Money is integer VND.

The guarantees are the database's: ``transfers.reference_id`` is UNIQUE, so one reference can never be taken (and
moved) twice, whoever sends it and however often; ``ledger`` is append-only (a trigger refuses UPDATE and DELETE)
and holds at most one entry per transfer, kind and side (UNIQUE), so a settlement or a return is booked once.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Engine

SCHEMA = "sandbox"

metadata = MetaData(
    schema=SCHEMA,
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    },
)

STATUSES = ("rcvd", "pdng", "succ", "rjct")
_RETURN_DUE = "status = 'succ' AND NOT return_checked"
_OPEN = "status IN ('rcvd', 'pdng')"

batches = Table(
    "batches",
    metadata,
    Column("id", BigInteger, primary_key=True),
    #: The sender's id for the batch (our batch reference); a batch sent again is a new row with the same id.
    Column("transaction_id", String(99), nullable=False, index=True),
    #: The sandbox's id for the batch, answered in the acknowledgement.
    Column("correlation_id", String(64), nullable=False, unique=True),
    Column("message_id", String(99), nullable=False),
    Column("sender_id", String(99), nullable=False),
    #: Where the results of this batch go (the sender's callback URL).
    Column("sender_uri", String(500), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("batch_id", BigInteger, ForeignKey("batches.id"), nullable=False, index=True),
    #: The sender's end-to-end id. UNIQUE: the guarantee that the same reference never moves twice.
    Column("reference_id", String(35), nullable=False, unique=True),
    Column("payer_fa", String(100), nullable=False),
    Column("payee_fa", String(100), nullable=False),
    Column("payee_name", String(200), nullable=False),
    Column("amount_vnd", BigInteger, nullable=False),
    Column("currency_code", String(3), nullable=False),
    Column("note", String(99)),
    Column("status", String(4), nullable=False),
    Column("reason_code", String(60)),
    Column("reason_message", String(200)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("settled_at", DateTime(timezone=True)),
    Column("returned_at", DateTime(timezone=True)),
    #: False only while a settled transfer is still to come back (settlement decides it, once); true once it has.
    Column("return_checked", Boolean, nullable=False, server_default=text("false")),
    CheckConstraint("amount_vnd > 0", name="amount_positive"),
    CheckConstraint("currency_code = 'VND'", name="currency_vnd"),
    CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="status_known"),
    CheckConstraint("status <> 'succ' OR settled_at IS NOT NULL", name="succ_has_settled_at"),
    CheckConstraint("returned_at IS NULL OR settled_at IS NOT NULL", name="returned_was_settled"),
    Index("ix_transfers_open", "status", "received_at", postgresql_where=text(_OPEN)),
    #: The open transfers in id order: what each settlement pass takes its oldest from (see ``Bank.settle_due``).
    Index("ix_transfers_open_by_id", "id", postgresql_where=text(_OPEN)),
    #: The settled transfers still to come back, in id order: what each return pass reads (without it,
    #: every pass, twice a second, read every transfer the bank ever took).
    Index("ix_transfers_return_due", "id", postgresql_where=text(_RETURN_DUE)),
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", BigInteger, primary_key=True),
    #: Found by transfer through ``uq_ledger_once``, whose first column it is (no index of its own to write).
    Column("transfer_id", BigInteger, ForeignKey("transfers.id"), nullable=False),
    Column("reference_id", String(35), nullable=False),
    #: ``settlement`` (payer debited, payee credited) or ``return`` (the reverse).
    Column("kind", String(10), nullable=False),
    #: The account moved: a financial address.
    Column("account", String(100), nullable=False),
    Column("direction", String(6), nullable=False),
    Column("amount_vnd", BigInteger, nullable=False),
    Column("booked_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("transfer_id", "kind", "direction", name="uq_ledger_once"),
    CheckConstraint("amount_vnd > 0", name="amount_positive"),
    CheckConstraint("kind IN ('settlement', 'return')", name="kind_known"),
    CheckConstraint("direction IN ('debit', 'credit')", name="direction_known"),
    Index("ix_ledger_booked_at", "booked_at"),
)

callbacks = Table(
    "callbacks",
    metadata,
    Column("id", BigInteger, primary_key=True),
    #: The Standard Webhooks ``webhook-id``: the same on every retry, so the receiver can drop repeats.
    Column("event_id", String(64), nullable=False, unique=True),
    Column("url", String(500), nullable=False),
    #: The exact body signed and sent.
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    #: Set when the sandbox stops trying (the sender can still poll the status).
    Column("abandoned_at", DateTime(timezone=True)),
    Column("last_error", String(500)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(
        "ix_callbacks_due", "next_attempt_at", postgresql_where=text("delivered_at IS NULL AND abandoned_at IS NULL")
    ),
)

_APPEND_ONLY = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sandbox.ledger is append-only: a booking is reversed by a new entry, never changed';
END $$;
CREATE OR REPLACE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON {SCHEMA}.ledger
    FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.ledger_append_only();
-- It fires in every session, also one that skips the per-row foreign-key checks (session_replication_role).
ALTER TABLE {SCHEMA}.ledger ENABLE ALWAYS TRIGGER ledger_append_only;
"""


def create_schema(engine: Engine) -> None:
    """``CREATE SCHEMA IF NOT EXISTS sandbox``, its tables and the ledger's guard; harmless when they exist. Two
    sandboxes starting at once take turns (an advisory lock)."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('disburse.sandbox.schema'))"))
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        metadata.create_all(conn)
        # Added after the tables were first made: create_all does not add an index to a table that exists.
        conn.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS ix_transfers_return_due ON {SCHEMA}.transfers (id) WHERE {_RETURN_DUE}"
        )
        conn.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS ix_transfers_open_by_id ON {SCHEMA}.transfers (id) WHERE {_OPEN}"
        )
        # An index of the first ledgers, made redundant by uq_ledger_once (transfer_id, kind, direction).
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {SCHEMA}.ix_ledger_transfer_id")
        conn.exec_driver_sql(_APPEND_ONLY)


def clear(engine: Engine) -> None:
    """Empty every sandbox table (the tests do, between tests)."""
    names = ", ".join(f"{SCHEMA}.{t.name}" for t in (callbacks, ledger, transfers, batches))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
