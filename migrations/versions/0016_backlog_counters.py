"""backlog_counters: the dashboards' backlog figures (open cases by age bucket per state, SLA breaches per state, the
review queue per reason) per district, province and the country, as a beat sweep counted them at a moment
(backlog_sweeps: when, on which programme day, how long, how many rows); replaced whole by each sweep, so the
backlog pages read a few dozen rows instead of every open case (1 s and 3.3 s for the country at national size).
No trigger on claims: the figures depend on the day, and the claims' write path already keeps three rollup levels.
No foreign keys either: the rows are derived, rebuilt whole by every sweep (as district_counters).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backlog_counters",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("area_code", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "level IN ('country', 'province', 'district')", name=op.f("ck_backlog_counters_level_known")
        ),
        sa.CheckConstraint(
            "kind IN ('ageing', 'sla_breach', 'review_reason')", name=op.f("ck_backlog_counters_kind_known")
        ),
        sa.PrimaryKeyConstraint(
            "program_id", "level", "area_code", "kind", "state", "key", name=op.f("pk_backlog_counters")
        ),
    )
    op.create_table(
        "backlog_sweeps",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("took_ms", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_backlog_sweeps")),
    )


def downgrade() -> None:
    op.drop_table("backlog_sweeps")
    op.drop_table("backlog_counters")
