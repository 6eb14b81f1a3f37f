"""notifications: the outbox of e-mails to units (disburse.notifications). One row per message to one address,
unique by its key (the news: kind, programme, unit, day) and the address in any case, so each unit is told once
however often the news is found; states queued → sent | failed, with the attempts, the last error and when to try
next; the subject and body as sent, for audit. A partial index on the queued rows by their next attempt serves the
sender's look for what is due.

Revision ID: 0045
Revises: 0044
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.BigInteger(), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("locale", sa.String(2), server_default=sa.text("'vi'"), nullable=False),
        sa.Column("params", postgresql.JSONB(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("state", sa.String(10), server_default=sa.text("'queued'"), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_notifications_program_id_programs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employers.id"], name=op.f("fk_notifications_employer_id_employers"), ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "kind IN ('form_01_ready', 'form_02_reminder', 'details_needed')", name=op.f("ck_notifications_kind_known")
        ),
        sa.CheckConstraint("state IN ('queued', 'sent', 'failed')", name=op.f("ck_notifications_state_known")),
        sa.CheckConstraint("key <> ''", name=op.f("ck_notifications_key_not_blank")),
        sa.CheckConstraint(
            "recipient ~ '^[^@[:space:]]+@[^@[:space:]]+$'", name=op.f("ck_notifications_recipient_is_address")
        ),
        sa.CheckConstraint("locale IN ('vi', 'en')", name=op.f("ck_notifications_locale_known")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notifications_attempts_non_negative")),
        sa.CheckConstraint("(state = 'sent') = (sent_at IS NOT NULL)", name=op.f("ck_notifications_sent_has_time")),
        sa.CheckConstraint(
            "state <> 'sent' OR (subject IS NOT NULL AND body IS NOT NULL)", name=op.f("ck_notifications_sent_has_text")
        ),
        sa.CheckConstraint(
            "state <> 'failed' OR last_error IS NOT NULL", name=op.f("ck_notifications_failed_has_reason")
        ),
        sa.CheckConstraint("state = 'queued' OR attempts > 0", name=op.f("ck_notifications_settled_was_tried")),
    )
    op.create_index(
        "uq_notifications_key_recipient", "notifications", ["key", sa.text("lower(recipient)")], unique=True
    )
    op.create_index(
        "ix_notifications_due", "notifications", ["next_attempt_at"], postgresql_where=sa.text("state = 'queued'")
    )
    op.create_index("ix_notifications_employer", "notifications", ["employer_id"])


def downgrade() -> None:
    op.drop_table("notifications")
