"""claims' way to a decision: Form 02/04 dates, the application as declared, assignment, work events, name matching

- claims: ``confirmed_on`` (Form 02), ``applied_on`` and ``application`` (Form 04), ``assigned_to_id`` /
  ``assigned_at``; the queue index gains ``id`` for keyset pages, and a partial index finds a caseworker's cases;
- claim_events: the actions that record work without changing the state (assign, contact, correct, …) and the
  Form 04 ``apply`` transition;
- the ``unaccent`` and ``pg_trgm`` extensions and an immutable ``disburse_unaccent(text)`` for matching names
  without diacritics (possible duplicates). Both extensions are trusted (PostgreSQL 13+): a database owner may
  create them without superuser rights.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_OLD_ACTIONS = (
    "'confirm', 'decline', 'remove', 'mark_overdue', 'start_verification', 'flag_for_review', 'approve', 'reject', "
    "'queue_payment', 'cancel_payment', 'payment_succeeded', 'payment_failed', 'request_details', 'details_received'"
)
_NEW_ACTIONS = (
    _OLD_ACTIONS + ", 'apply', 'assign', 'release', 'contact', 'request_info', 'correct', 'confirm_again', "
    "'resolve_duplicate', 'reassess', 'sla_breach'"
)


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch_op:
        batch_op.add_column(sa.Column("confirmed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("applied_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("application", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
        batch_op.add_column(sa.Column("assigned_to_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key("fk_claims_assigned_to_id_users", "users", ["assigned_to_id"], ["id"])
        batch_op.drop_index("ix_claims_state_district")
        batch_op.create_index("ix_claims_queue", ["program_id", "state", "district_code", "id"], unique=False)
        batch_op.create_index(
            "ix_claims_assigned_to",
            ["assigned_to_id"],
            unique=False,
            postgresql_where=sa.text("assigned_to_id IS NOT NULL"),
        )
    op.execute("ALTER TABLE claim_events DROP CONSTRAINT ck_claim_events_action_known")
    op.execute(
        f"ALTER TABLE claim_events ADD CONSTRAINT ck_claim_events_action_known CHECK (action IN ({_NEW_ACTIONS}, 'create'))"
    )
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # unaccent() is only STABLE (its dictionary could change); naming the dictionary makes the wrapper safe to
    # declare IMMUTABLE, so that it may be used in indexes and inlined into parallel plans.
    op.execute(
        """CREATE FUNCTION disburse_unaccent(text) RETURNS text
           LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
           AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION disburse_unaccent(text)")
    # The extensions stay: other objects of the database may use them.
    op.execute("ALTER TABLE claim_events DROP CONSTRAINT ck_claim_events_action_known")
    op.execute(
        f"ALTER TABLE claim_events ADD CONSTRAINT ck_claim_events_action_known CHECK (action IN ({_OLD_ACTIONS}, 'create'))"
    )
    with op.batch_alter_table("claims") as batch_op:
        batch_op.drop_index("ix_claims_assigned_to", postgresql_where=sa.text("assigned_to_id IS NOT NULL"))
        batch_op.drop_index("ix_claims_queue")
        batch_op.create_index("ix_claims_state_district", ["program_id", "state", "district_code"], unique=False)
        batch_op.drop_constraint("fk_claims_assigned_to_id_users", type_="foreignkey")
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assigned_to_id")
        batch_op.drop_column("application")
        batch_op.drop_column("applied_on")
        batch_op.drop_column("confirmed_on")
