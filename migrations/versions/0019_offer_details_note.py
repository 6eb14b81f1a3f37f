"""The ``offer_details`` note: bank details a person sent on the public page, kept on the claim for a caseworker to
confirm before they are used (docs/operations.md, "Details from the person").

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_ACTIONS = (
    "'create', 'confirm', 'decline', 'remove', 'mark_overdue', 'start_verification', 'flag_for_review', 'approve', "
    "'reject', 'queue_payment', 'cancel_payment', 'payment_succeeded', 'payment_failed', 'request_details', "
    "'details_received', 'apply', 'assign', 'release', 'contact', 'request_info', 'correct', 'confirm_again', "
    "'resolve_duplicate', 'reassess', 'sla_breach', 'retry_payment', 'payment_returned'"
)


def _actions(actions: str, *, validate: bool) -> None:
    """Swap the check. Added ``NOT VALID``, so that the brief exclusive lock does not last a scan of every event;
    validated after under a lock that lets writes go on (a wider list: every row passes)."""
    op.execute("ALTER TABLE claim_events DROP CONSTRAINT ck_claim_events_action_known")
    op.execute(
        f"ALTER TABLE claim_events ADD CONSTRAINT ck_claim_events_action_known CHECK (action IN ({actions})) NOT VALID"
    )
    if validate:
        op.execute("ALTER TABLE claim_events VALIDATE CONSTRAINT ck_claim_events_action_known")


def upgrade() -> None:
    _actions(_ACTIONS + ", 'offer_details'", validate=True)


def downgrade() -> None:
    # Events are never deleted: the notes already written stay, new ones are refused.
    _actions(_ACTIONS, validate=False)
