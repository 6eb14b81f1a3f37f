"""The units overdue with Form 02: an index of their people

``ix_claims_unconfirmed`` (program_id, district_code, employer_id) WHERE track = 'A' AND confirmed_on IS NULL AND state
IN ('employer_overdue', 'verifying', 'needs_review'): the people of a unit's list past its Form 02 deadline, still
waiting or checked by the office without it. The backlog page and the caseworker's home count the units from it
(``disburse.reports.dashboard.overdue_units``): verification takes an overdue claim out of ``employer_overdue`` within
seconds, so the rollups' count of that state said 0 units while hundreds of people waited for their unit.

Revision ID: 0023
Revises: 0022
"""

from alembic import op
from sqlalchemy import text

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_claims_unconfirmed",
        "claims",
        ["program_id", "district_code", "employer_id"],
        postgresql_where=text(
            "track = 'A' AND confirmed_on IS NULL AND state IN ('employer_overdue', 'verifying', 'needs_review')"
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_claims_unconfirmed", table_name="claims")
