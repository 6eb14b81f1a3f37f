"""The outreach list's index: the stopped people of a district in id order

``ix_employees_stopped_district`` (district_code, id) WHERE ui_status = 'stopped': the "group B, no application" list
of a district reads its people in id order from it, a page at a time, instead of a scan of every employee (13 million
at the national point: 3.9 s a page, against milliseconds; BENCHMARKS.md). About a tenth of the registry is stopped.

Revision ID: 0021
Revises: 0020
"""

from alembic import op
from sqlalchemy import text

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_employees_stopped_district",
        "employees",
        ["district_code", "id"],
        postgresql_where=text("ui_status = 'stopped'"),
    )


def downgrade() -> None:
    op.drop_index("ix_employees_stopped_district", table_name="employees")
