"""verification and sweepers: claim_identities (blocking keys for the duplicate checks), the sweepers' partial
indexes on claims, one SLA breach note per claim and deadline

- ``claim_identities``: one row per claim that reached verification (national ID, date of birth, the name without
  diacritics and three blocking keys), written by verification; no foreign keys (derived data keyed by claim id),
  so that nothing is added to the import of ``employees``;
- ``ix_claims_listed_due``, ``ix_claims_payment_due``, ``ix_claims_applications_open``: partial indexes that give
  each deadline sweep only the claims it may have to act on;
- ``uq_claim_events_sla_breach``: an SLA breach is noted once per claim and deadline, whoever sweeps.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_CLOSED = "'paid', 'rejected', 'declined', 'removed'"


def upgrade() -> None:
    op.create_table(
        "claim_identities",
        sa.Column("claim_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("national_id", sa.String(length=12), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("key_family_given", sa.BigInteger(), nullable=True),
        sa.Column("key_family_middle", sa.BigInteger(), nullable=True),
        sa.Column("key_middle_given", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("claim_id", name=op.f("pk_claim_identities")),
    )
    for key in ("key_family_given", "key_family_middle", "key_middle_given"):
        op.create_index(f"ix_claim_identities_{key}", "claim_identities", [key], unique=False)
    op.create_index(
        "ix_claims_listed_due",
        "claims",
        ["program_id", "review_due_on", "id"],
        unique=False,
        postgresql_where=sa.text("state = 'listed'"),
    )
    op.create_index(
        "ix_claims_payment_due",
        "claims",
        ["program_id", "payment_due_on", "id"],
        unique=False,
        postgresql_where=sa.text(f"payment_due_on IS NOT NULL AND state NOT IN ({_CLOSED})"),
    )
    op.create_index(
        "ix_claims_applications_open",
        "claims",
        ["program_id", "applied_on", "id"],
        unique=False,
        postgresql_where=sa.text(f"applied_on IS NOT NULL AND state NOT IN ({_CLOSED})"),
    )
    op.create_index(
        "uq_claim_events_sla_breach",
        "claim_events",
        ["claim_id", sa.text("(data ->> 'deadline')")],
        unique=True,
        postgresql_where=sa.text("action = 'sla_breach'"),
    )


def downgrade() -> None:
    op.drop_index("uq_claim_events_sla_breach", table_name="claim_events")
    op.drop_index("ix_claims_applications_open", table_name="claims")
    op.drop_index("ix_claims_payment_due", table_name="claims")
    op.drop_index("ix_claims_listed_due", table_name="claims")
    op.drop_table("claim_identities")
