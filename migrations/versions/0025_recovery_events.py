"""A recovery's history as rows: ``recovery_events``, and the note column's lines moved into it

Until now a recovery's moves were lines appended to ``recoveries.note`` (free text, states as codes, capped at 1,000
characters). Each opening, move and sum recovered is now a row: from, to, the sum recovered in that step, who (NULL:
the system), their note, and for reconciliation's steps the statement counted (each statement's return once).
Append-only, as the other histories: ``refuse_change`` (0003), ``ENABLE ALWAYS``.

Existing recoveries get their opening (at ``created_at``) and, when they have moved or have a note, one row at
``updated_at`` carrying the old note's lines as they were; then ``note`` is dropped.

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_STATES = "'owed', 'recovered', 'written_off', 'closed'"


def upgrade() -> None:
    op.create_table(
        "recovery_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("recovery_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("from_state", sa.String(length=12), nullable=True),
        sa.Column("to_state", sa.String(length=12), nullable=False),
        sa.Column("recovered_vnd", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("statement", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"to_state IN ({_STATES})", name=op.f("ck_recovery_events_to_state_known")),
        sa.CheckConstraint("recovered_vnd >= 0", name=op.f("ck_recovery_events_recovered_not_negative")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_recovery_events_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["recovery_id"], ["recoveries.id"], name=op.f("fk_recovery_events_recovery_id_recoveries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_events")),
    )
    op.create_index(op.f("ix_recovery_events_recovery_id"), "recovery_events", ["recovery_id"], unique=False)
    op.create_index(
        "uq_recovery_events_statement",
        "recovery_events",
        ["recovery_id", "statement"],
        unique=True,
        postgresql_where=sa.text("statement IS NOT NULL"),
    )
    op.execute(
        """INSERT INTO recovery_events (recovery_id, from_state, to_state, created_at)
           SELECT id, NULL, 'owed', created_at FROM recoveries ORDER BY id"""
    )
    op.execute(
        """INSERT INTO recovery_events (recovery_id, from_state, to_state, recovered_vnd, note, created_at)
           SELECT id, 'owed', state, recovered_vnd, note, updated_at FROM recoveries
           WHERE state <> 'owed' OR recovered_vnd > 0 OR note IS NOT NULL ORDER BY id"""
    )
    op.execute(
        "CREATE TRIGGER recovery_events_append_only BEFORE UPDATE OR DELETE ON recovery_events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )
    op.execute("ALTER TABLE recovery_events ENABLE ALWAYS TRIGGER recovery_events_append_only")
    op.drop_column("recoveries", "note")


def downgrade() -> None:
    op.add_column("recoveries", sa.Column("note", sa.String(length=1000), nullable=True))
    op.execute(
        """UPDATE recoveries r SET note = right(h.lines, 1000)
           FROM (SELECT recovery_id, string_agg(
                        to_char(created_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'DD/MM/YYYY HH24:MI') || ': '
                        || coalesce(from_state, '') || ' → ' || to_state || coalesce(' (' || note || ')', ''),
                        chr(10) ORDER BY id) AS lines
                 FROM recovery_events WHERE from_state IS NOT NULL GROUP BY recovery_id) h
           WHERE h.recovery_id = r.id"""
    )
    op.drop_table("recovery_events")
