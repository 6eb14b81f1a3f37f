"""completion_snapshots keep where the eligible not yet paid were, as the dashboard names them: being confirmed or
checked (checking), approved and not yet sent (approved), in payment at a bank and on an office's cash list
(payment_pending_bank, payment_pending_cash, each with its VND), payment failed (payment_failed); they already kept
needs_review and awaiting_details

The monthly report shows them for every month, a past month from its last snapshot. The rows taken before this
migration did not count them, and nothing kept says how many claims were in each of those states on those days
(claim_events is written by the service, not by the database, and its times are the transactions' starts, not their
commits): the columns are NULL there (the report shows "—" and says why), except where the row itself settles them.
Of the eligible not yet paid (eligible - paid), those not in review nor awaiting details are the sum of the new
columns; where that sum is 0, every one of them was 0, and so was their VND. New rows always fill them
(disburse.reports.rollups.take_snapshots).

Revision ID: 0036
Revises: 0035
"""

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

#: The new columns, in the order of the dashboard's figures_of; all NULL-able (unknown in an older row).
COLUMNS = (
    ("checking", sa.Integer()),
    ("approved", sa.Integer()),
    ("payment_pending_bank", sa.Integer()),
    ("payment_pending_bank_amount_vnd", sa.BigInteger()),
    ("payment_pending_cash", sa.Integer()),
    ("payment_pending_cash_amount_vnd", sa.BigInteger()),
    ("payment_failed", sa.Integer()),
)

#: The older rows whose own figures settle the new columns: nobody eligible and unpaid outside review and awaiting
#: details, so none in any of the new columns' states. Every other older row keeps NULL (not known). Read by
#: tests/dashboard/test_monthly.py.
FILL = """
    UPDATE completion_snapshots
    SET {zeros}
    WHERE checking IS NULL AND eligible - paid - needs_review - awaiting_details = 0
""".format(zeros=", ".join(f"{name} = 0" for name, _ in COLUMNS))


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("completion_snapshots", sa.Column(name, kind, nullable=True))
    op.execute(FILL)


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column("completion_snapshots", name)
