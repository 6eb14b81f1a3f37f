"""a cash receipt number pays one payment (unique among payments that have one); reconciliation's index on a
provider's settlements by time

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_payments_provider_settled_at",
        "payments",
        ["provider", "settled_at"],
        unique=False,
        postgresql_where=sa.text("settled_at IS NOT NULL"),
    )
    op.create_index(
        "uq_payments_receipt_number",
        "payments",
        ["receipt_number"],
        unique=True,
        postgresql_where=sa.text("receipt_number IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_payments_receipt_number", table_name="payments")
    op.drop_index("ix_payments_provider_settled_at", table_name="payments")
