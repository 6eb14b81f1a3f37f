"""claims' rollup triggers and the append-only guards fire in every session, replica role included

Bulk writers (the registry import, the list builder) write under ``session_replication_role = replica`` to skip
the per-row foreign-key triggers after giving the same guarantee set-based. Ordinary triggers are skipped in that
mode too; these must not be: the rollups of claims would drift, and the history tables would take updates.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TRIGGERS = (
    ("claims", "claim_counters_insert"),
    ("claims", "claim_counters_update"),
    ("claims", "claim_counters_delete"),
    ("claim_events", "claim_events_append_only"),
    ("payment_events", "payment_events_append_only"),
)


def upgrade():
    for table, trigger in TRIGGERS:
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}")


def downgrade():
    for table, trigger in TRIGGERS:
        op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
