"""The ``answer_info`` note: a unit answers the office's request for information about a person in words, on its
pages (it could only send a Form 02 or 03 row for them).

Revision ID: 0039
Revises: 0038
"""

from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

#: The actions 0031 left the check with.
_ACTIONS = (
    "'create', 'confirm', 'decline', 'remove', 'mark_overdue', 'start_verification', 'flag_for_review', 'approve', "
    "'reject', 'queue_payment', 'cancel_payment', 'payment_succeeded', 'payment_failed', 'request_details', "
    "'details_received', 'apply', 'assign', 'release', 'contact', 'request_info', 'correct', 'confirm_again', "
    "'resolve_duplicate', 'reassess', 'sla_breach', 'retry_payment', 'payment_returned', 'offer_details', "
    "'dismiss_offer', 'confirm_late'"
)


def _actions(actions: str, *, validate: bool) -> None:
    """Swap the check, as 0019, 0027 and 0031 do: added ``NOT VALID`` (the brief exclusive lock does not last a scan
    of every event), validated after under a lock that lets writes go on (a wider list: every row passes)."""
    op.execute("ALTER TABLE claim_events DROP CONSTRAINT ck_claim_events_action_known")
    op.execute(
        f"ALTER TABLE claim_events ADD CONSTRAINT ck_claim_events_action_known CHECK (action IN ({actions})) NOT VALID"
    )
    if validate:
        op.execute("ALTER TABLE claim_events VALIDATE CONSTRAINT ck_claim_events_action_known")


def upgrade() -> None:
    _actions(_ACTIONS + ", 'answer_info'", validate=True)


def downgrade() -> None:
    # Events are never deleted: the answers already written stay, new ones are refused.
    _actions(_ACTIONS, validate=False)
