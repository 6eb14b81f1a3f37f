"""backlog_counters also count the claims not paid by the end of the programme (kind ``unpaid_at_end``)

After a programme's last payable day, its claims still open (approved, after a failed payment, waiting at the office
for cash, in review…) will never be paid: each one owes the person a written answer. The backlog sweep counts them
per state, so that supervisors see how many are left to close (disburse/reports/backlog.py).

Revision ID: 0030
Revises: 0029
"""

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

_NAME = "ck_backlog_counters_kind_known"


def upgrade() -> None:
    op.drop_constraint(op.f(_NAME), "backlog_counters", type_="check")
    op.create_check_constraint(
        op.f(_NAME), "backlog_counters", "kind IN ('ageing', 'sla_breach', 'review_reason', 'unpaid_at_end')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM backlog_counters WHERE kind = 'unpaid_at_end'")
    op.drop_constraint(op.f(_NAME), "backlog_counters", type_="check")
    op.create_check_constraint(op.f(_NAME), "backlog_counters", "kind IN ('ageing', 'sla_breach', 'review_reason')")
