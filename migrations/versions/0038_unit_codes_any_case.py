"""employers: an index of the unit codes in capitals, to find a unit whose code was typed in another case
("dn01000001" for DN01000001: registry.models.unit_by_code).

Revision ID: 0038
Revises: 0037
"""

from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_employers_unit_code_upper ON employers (upper(unit_code))")


def downgrade() -> None:
    op.drop_index("ix_employers_unit_code_upper", table_name="employers")
