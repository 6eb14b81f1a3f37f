"""An order its provider holds back for a reason of ours waits before it is handed over again, and is counted

When a provider refuses a message and names orders for something that is ours (an amount above its limit, a field of
the fund's), those orders stay ``sent`` (nobody's failure) and were handed over again at every chase, every five
minutes, for ever and out of sight. Now each is counted and waits:

``payments.withheld_count``: how many times the provider held the order back (never reset; from
``DISBURSE_PAYMENT_BANK_FAILURES_ALERT`` on, each further time is logged at ERROR and the order is flagged on the
admins' health page and in ``disburse payments batches``).

``payments.withheld_until``: while the order is held back, it is not handed over again before this time
(``DISBURSE_PAYMENT_RETRY_BASE_S`` doubled at each time, up to ``DISBURSE_PAYMENT_RETRY_CAP_S``); NULL once the
provider took it. ``payments.withheld_reason``: the provider's words the last time.

Revision ID: 0034
Revises: 0033
"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "payments", sa.Column("withheld_count", sa.SmallInteger(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column("payments", sa.Column("withheld_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("payments", sa.Column("withheld_reason", sa.String(length=300), nullable=True))
    op.create_check_constraint(op.f("ck_payments_withheld_count_non_negative"), "payments", "withheld_count >= 0")
    op.create_index(
        "ix_payments_withheld",
        "payments",
        ["withheld_until"],
        unique=False,
        postgresql_where=sa.text("withheld_until IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_payments_withheld", table_name="payments", postgresql_where=sa.text("withheld_until IS NOT NULL"))
    op.drop_constraint(op.f("ck_payments_withheld_count_non_negative"), "payments", type_="check")
    op.drop_column("payments", "withheld_reason")
    op.drop_column("payments", "withheld_until")
    op.drop_column("payments", "withheld_count")
