"""audit_log: an index on (actor_id, id), for the audit page's filter by who acted, newest first. A rare actor among
two million rows took 0.9–1.5 s to find without it, 2 ms with it.

Revision ID: 0041
Revises: 0040
"""

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_actor_id", table_name="audit_log")
