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
    op.create_index(
        "ix_claim_events_offers",
        "claim_events",
        ["claim_id", "id"],
        postgresql_where=text("action = 'offer_details'"),
    )


def downgrade() -> None:
    op.drop_index("ix_claim_events_offers", table_name="claim_events")
