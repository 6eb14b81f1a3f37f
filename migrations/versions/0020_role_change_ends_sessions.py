"""A change of role or scope ends the user's sessions too

``users_end_sessions`` (migration 0007) moved the session epoch on a new password or a deactivation; it now does on
a change of ``role``, ``province_code``, ``district_code`` or ``employer_id`` as well, whoever writes the row: a
session opened under one role and scope does not go on under another (the user signs in again, and sees at once
what they may now see). Their API tokens stay theirs and carry the new role from their next request.

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE OR REPLACE FUNCTION users_end_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {changed} THEN
        NEW.session_epoch := OLD.session_epoch + 1;
    END IF;
    RETURN NEW;
END
$$
"""


def _trigger(columns: tuple[str, ...]) -> None:
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)
    op.execute(_FUNCTION.format(changed=changed))
    op.execute("DROP TRIGGER users_end_sessions ON users")
    op.execute(
        f"CREATE TRIGGER users_end_sessions BEFORE UPDATE OF {', '.join(columns)} ON users"
        " FOR EACH ROW EXECUTE FUNCTION users_end_sessions()"
    )
    op.execute("ALTER TABLE users ENABLE ALWAYS TRIGGER users_end_sessions")


def upgrade() -> None:
    _trigger(("password_hash", "active", "role", "province_code", "district_code", "employer_id"))


def downgrade() -> None:
    _trigger(("password_hash", "active"))
