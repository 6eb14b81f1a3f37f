"""The people's offers of bank details: an index of their notes

``ix_claim_events_offers`` (claim_id, id) WHERE action = 'offer_details': the ``offer_details`` notes a person sends
on the public page (migration 0019), a handful among the millions of claim events. The caseworker's home page counts
the district's claims with an offer not yet dealt with, and the queue filters on it
(``disburse.claims.person_details.open_offer_clause``): from this index, neither reads the other events of claims
that have no offer.

Revision ID: 0032
Revises: 0031
"""

from alembic import op
from sqlalchemy import text

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Built CONCURRENTLY, outside the migration's transaction: claim_events is the largest table (an event per move of
    # every claim), and a plain build would hold every transition's insert for the whole scan. A build cut short
    # leaves an invalid index behind: dropped first, so that running the upgrade again builds it whole.
    with op.get_context().autocommit_block():
        op.drop_index("ix_claim_events_offers", table_name="claim_events", postgresql_concurrently=True, if_exists=True)
        op.create_index(
            "ix_claim_events_offers",
            "claim_events",
            ["claim_id", "id"],
            postgresql_where=text("action = 'offer_details'"),
            postgresql_concurrently=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_claim_events_offers", table_name="claim_events", postgresql_concurrently=True)
