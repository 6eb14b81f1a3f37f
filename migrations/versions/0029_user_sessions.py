"""Signing out ends only the session that signs out

user_sessions: a row for each session opened by signing in, keyed by the SHA-256 of a random key its cookie carries.
The user loader refuses a cookie whose key has no row; signing out deletes that row alone, so the user's other
browsers stay signed in (signing out used to move ``users.session_epoch`` on, which ended them all). The epoch still
ends every session of a user at once: the trigger ``users_end_sessions`` (migrations 0007 and 0020) moves it on a new
password, a deactivation, a new role or scope. Cookies issued before this migration carry no key: they work until
they expire as before, and signing out of one still ends all of that user's sessions (nothing else can end it).
Downgrading ends every session.

Revision ID: 0029
Revises: 0028
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_user_sessions")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)


def downgrade() -> None:
    # The code before this migration knows no keys: a signed-out cookie whose epoch is still current would work
    # again. Every session ends instead.
    op.execute("UPDATE users SET session_epoch = session_epoch + 1")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
