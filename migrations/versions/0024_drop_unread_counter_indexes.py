"""Drop the two partial indexes of ``claim_counters``' ``employer_overdue`` rows that nothing reads any more

The backlog page and the caseworker's home count overdue units from ``ix_claims_unconfirmed`` (0023), since the
rollups' ``employer_overdue`` rows empty within seconds of the deadline (verification takes those claims on).
``ix_claim_counters_overdue`` (0012) and ``ix_claim_counters_overdue_largest`` (0017) were only kept up to date on
every rollup write of such a row.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_claim_counters_overdue_largest", table_name="claim_counters")
    op.drop_index("ix_claim_counters_overdue", table_name="claim_counters")


def downgrade() -> None:
    op.create_index(
        "ix_claim_counters_overdue",
        "claim_counters",
        ["program_id", "district_code"],
        postgresql_where=sa.text("state = 'employer_overdue'"),
    )
    op.create_index(
        "ix_claim_counters_overdue_largest",
        "claim_counters",
        ["program_id", sa.text("claims DESC"), "employer_id"],
        postgresql_where=sa.text("state = 'employer_overdue' AND claims > 0"),
    )
