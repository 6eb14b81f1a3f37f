"""A batch records when its provider really took it, and a payment when the provider was last asked about it

``payment_batches.acknowledged_at``: when the provider acknowledged the batch (its answer accepted the message, or,
for bank files, the pain.001 file was written into the outbox). A batch is marked ``sent`` and committed before the
provider is called (never twice), so ``sent`` alone does not say that the provider has it: a bank file that could not
be written, or a worker that died after the commit, left a ``sent`` batch nobody would hand over again.
``handover_tried_at``: when a hand-over was last tried or asked for; the payments sweeper hands over again each batch
not acknowledged ``DISBURSE_PAYMENT_HANDOVER_AFTER_S`` after that (or after its creation).

``payments.last_asked_at``: when the status chase last asked the provider about the payment; the chase asks the least
recently asked first, so payments that never settle do not keep the others from being asked.

Existing batches handed over with the provider's acknowledgement (a correlation id, no error) count as acknowledged
at their ``sent_at``; the others are handed over again by the sweeper (asking first: nothing is paid twice).

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payment_batches", sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("payment_batches", sa.Column("handover_tried_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        """UPDATE payment_batches SET acknowledged_at = sent_at
           WHERE state <> 'open' AND sent_at IS NOT NULL AND correlation_id IS NOT NULL AND last_error IS NULL"""
    )
    op.create_index(
        "ix_payment_batches_unacknowledged",
        "payment_batches",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("acknowledged_at IS NULL"),
    )
    op.add_column("payments", sa.Column("last_asked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_payments_sent_last_asked",
        "payments",
        ["provider", sa.text("last_asked_at NULLS FIRST"), "id"],
        unique=False,
        postgresql_where=sa.text("state = 'sent'"),
    )


def downgrade() -> None:
    op.drop_index("ix_payments_sent_last_asked", table_name="payments")
    op.drop_column("payments", "last_asked_at")
    op.drop_index("ix_payment_batches_unacknowledged", table_name="payment_batches")
    op.drop_column("payment_batches", "handover_tried_at")
    op.drop_column("payment_batches", "acknowledged_at")
