"""sessions that can be ended and API tokens that expire

- users.session_epoch: every session cookie carries the epoch it was issued under, and the user loader refuses a
  cookie whose epoch is not the user's current one. Signing out adds one. The trigger ``users_end_sessions`` adds
  one whenever ``password_hash`` or ``active`` changes, whoever writes the row (a command, a page, plain SQL), so
  a changed password or a deactivation always ends the sessions already handed out. ``ENABLE ALWAYS``: it fires
  under ``session_replication_role = replica`` too.
- api_tokens.expires_at: required from now on. Tokens created before this migration never expired; they get
  90 days from the upgrade (not from their creation: a token older than that would otherwise stop at the upgrade,
  without warning to the system using it). ``expires_at > created_at`` is checked.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("session_epoch", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    op.execute(
        """
        CREATE FUNCTION users_end_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.password_hash IS DISTINCT FROM OLD.password_hash OR NEW.active IS DISTINCT FROM OLD.active THEN
                NEW.session_epoch := OLD.session_epoch + 1;
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER users_end_sessions BEFORE UPDATE OF password_hash, active ON users"
        " FOR EACH ROW EXECUTE FUNCTION users_end_sessions()"
    )
    op.execute("ALTER TABLE users ENABLE ALWAYS TRIGGER users_end_sessions")

    op.execute(
        "UPDATE api_tokens SET expires_at = greatest(now(), created_at) + interval '90 days' WHERE expires_at IS NULL"
    )
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_check_constraint(op.f("ck_api_tokens_expires_after_created"), "expires_at > created_at")


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_constraint("ck_api_tokens_expires_after_created", type_="check")
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=True)
    op.execute("DROP TRIGGER users_end_sessions ON users")
    op.execute("DROP FUNCTION users_end_sessions()")
    op.drop_column("users", "session_epoch")
