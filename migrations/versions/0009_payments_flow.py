"""payments flow: batches carry their reference and sending record, provider events keep unsigned callbacks for
audit, recoveries for money returned after settlement, reconciliation results

- ``payment_batches``: ``reference`` (our id towards the provider, unique), ``correlation_id`` (the provider's),
  ``sent_at``, ``send_attempts``, ``last_error``;
- ``provider_events``: the raw ``body`` and ``headers``; ``signature_ok`` (a callback whose signature failed is
  kept, never applied); ``payload`` may be empty (an unsigned body need not be JSON); the event id is unique among
  signed events only (a forged event must not block the real one), and a partial index finds the ones to apply;
- ``recoveries``: one per payment returned after it settled (owed, recovered, written off, closed);
- ``reconciliations``: each run of the reconciliation, with every difference found;
- claim events may record two new actions: ``retry_payment`` (a failure that was the bank's, paid again as it is)
  and ``payment_returned`` (settled money sent back by the payee's bank).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_OLD_ACTIONS = (
    "'confirm', 'decline', 'remove', 'mark_overdue', 'start_verification', 'flag_for_review', 'approve', 'reject', "
    "'queue_payment', 'cancel_payment', 'payment_succeeded', 'payment_failed', 'request_details', 'details_received', "
    "'apply', 'assign', 'release', 'contact', 'request_info', 'correct', 'confirm_again', 'resolve_duplicate', "
    "'reassess', 'sla_breach'"
)
_NEW_ACTIONS = _OLD_ACTIONS + ", 'retry_payment', 'payment_returned'"


def _claim_event_actions(actions: str) -> None:
    op.execute("ALTER TABLE claim_events DROP CONSTRAINT ck_claim_events_action_known")
    op.execute(
        f"ALTER TABLE claim_events ADD CONSTRAINT ck_claim_events_action_known CHECK (action IN ({actions}, 'create'))"
    )


def upgrade() -> None:
    _claim_event_actions(_NEW_ACTIONS)
    op.create_table(
        "reconciliations",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliations")),
    )
    op.create_index("ix_reconciliations_provider_day", "reconciliations", ["provider", "day"], unique=False)
    op.create_table(
        "recoveries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("claim_id", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("recovered_vnd", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("state", sa.String(length=12), server_default=sa.text("'owed'"), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "state IN ('owed', 'recovered', 'written_off', 'closed')", name=op.f("ck_recoveries_state_known")
        ),
        sa.CheckConstraint("amount_vnd > 0", name=op.f("ck_recoveries_amount_positive")),
        sa.CheckConstraint(
            "recovered_vnd >= 0 AND recovered_vnd <= amount_vnd", name=op.f("ck_recoveries_recovered_within_amount")
        ),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_recoveries_claim_id_claims")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_recoveries_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recoveries")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_recoveries_payment_id")),
    )
    op.create_index(op.f("ix_recoveries_claim_id"), "recoveries", ["claim_id"], unique=False)
    op.add_column("payment_batches", sa.Column("reference", sa.String(length=35), nullable=True))
    op.add_column("payment_batches", sa.Column("correlation_id", sa.String(length=100), nullable=True))
    op.add_column("payment_batches", sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "payment_batches", sa.Column("send_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column("payment_batches", sa.Column("last_error", sa.String(length=2000), nullable=True))
    op.create_unique_constraint(op.f("uq_payment_batches_reference"), "payment_batches", ["reference"])
    op.add_column("provider_events", sa.Column("body", sa.Text(), nullable=True))
    op.add_column("provider_events", sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column(
        "provider_events", sa.Column("signature_ok", sa.Boolean(), server_default=sa.text("true"), nullable=False)
    )
    op.alter_column("provider_events", "payload", existing_type=postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    op.drop_constraint(op.f("uq_provider_events_provider_event_id"), "provider_events", type_="unique")
    op.create_index(
        "ix_provider_events_unprocessed",
        "provider_events",
        ["id"],
        unique=False,
        postgresql_where=sa.text("signature_ok AND processed_at IS NULL"),
    )
    op.create_index(
        "uq_provider_events_signed",
        "provider_events",
        ["provider", "event_id"],
        unique=True,
        postgresql_where=sa.text("signature_ok"),
    )


def downgrade() -> None:
    _claim_event_actions(_OLD_ACTIONS)
    op.drop_index("uq_provider_events_signed", table_name="provider_events", postgresql_where=sa.text("signature_ok"))
    op.drop_index(
        "ix_provider_events_unprocessed",
        table_name="provider_events",
        postgresql_where=sa.text("signature_ok AND processed_at IS NULL"),
    )
    op.create_unique_constraint(
        op.f("uq_provider_events_provider_event_id"),
        "provider_events",
        ["provider", "event_id"],
        postgresql_nulls_not_distinct=False,
    )
    op.alter_column("provider_events", "payload", existing_type=postgresql.JSONB(astext_type=sa.Text()), nullable=False)
    op.drop_column("provider_events", "signature_ok")
    op.drop_column("provider_events", "headers")
    op.drop_column("provider_events", "body")
    op.drop_constraint(op.f("uq_payment_batches_reference"), "payment_batches", type_="unique")
    op.drop_column("payment_batches", "last_error")
    op.drop_column("payment_batches", "send_attempts")
    op.drop_column("payment_batches", "sent_at")
    op.drop_column("payment_batches", "correlation_id")
    op.drop_column("payment_batches", "reference")
    op.drop_index(op.f("ix_recoveries_claim_id"), table_name="recoveries")
    op.drop_table("recoveries")
    op.drop_index("ix_reconciliations_provider_day", table_name="reconciliations")
    op.drop_table("reconciliations")
