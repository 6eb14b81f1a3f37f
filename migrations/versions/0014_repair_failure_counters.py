"""the repair sweeper covers failure_counters too: rollup_repairs takes the level 'failures' (its state column then
holds the provider's code, up to 40 characters)

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_rollup_repairs_level_known"), "rollup_repairs", type_="check")
    op.create_check_constraint(
        op.f("ck_rollup_repairs_level_known"),
        "rollup_repairs",
        "level IN ('employer', 'district', 'province', 'failures')",
    )
    op.alter_column(
        "rollup_repairs", "state", existing_type=sa.String(length=30), type_=sa.String(length=40), nullable=False
    )


def downgrade() -> None:
    op.execute("DELETE FROM rollup_repairs WHERE level = 'failures'")
    op.alter_column(
        "rollup_repairs", "state", existing_type=sa.String(length=40), type_=sa.String(length=30), nullable=False
    )
    op.drop_constraint(op.f("ck_rollup_repairs_level_known"), "rollup_repairs", type_="check")
    op.create_check_constraint(
        op.f("ck_rollup_repairs_level_known"), "rollup_repairs", "level IN ('employer', 'district', 'province')"
    )
