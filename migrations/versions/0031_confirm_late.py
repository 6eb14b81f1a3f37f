"""The ``confirm_late`` action: a late Form 02 for a claim in review only because its unit had not confirmed it in
time (docs/rules.md, section 7, "Not confirmed by the employer"): the claim goes back to ``employer_confirmed`` with
the unit's details and is verified again.

Revision ID: 0031
Revises: 0030
"""

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

#: The actions 0027 left the check with.
_ACTIONS = (
    "'create', 'confirm', 'decline', 'remove', 'mark_overdue', 'start_verification', 'flag_for_review', 'approve', "
    "'reject', 'queue_payment', 'cancel_payment', 'payment_succeeded', 'payment_failed', 'request_details', "
    "'details_received', 'apply', 'assign', 'release', 'contact', 'request_info', 'correct', 'confirm_again', "
    "'resolve_duplicate', 'reassess', 'sla_breach', 'retry_payment', 'payment_returned', 'offer_details', "
    "'dismiss_offer'"
)


def _actions(actions: str, *, validate: bool) -> None:
    """Swap the check, as 0019 and 0027 do: added ``NOT VALID`` (the brief exclusive lock does not last a scan of
    every event), validated after under a lock that lets writes go on (a wider list: every row passes)."""
    op.execute("ALTER TABLE claim_events DROP CONSTRAINT ck_claim_events_action_known")
    op.execute(
        f"ALTER TABLE claim_events ADD CONSTRAINT ck_claim_events_action_known CHECK (action IN ({actions})) NOT VALID"
    )
    if validate:
        op.execute("ALTER TABLE claim_events VALIDATE CONSTRAINT ck_claim_events_action_known")


def upgrade() -> None:
    _actions(_ACTIONS + ", 'confirm_late'", validate=True)


def downgrade() -> None:
    # Events are never deleted: the late confirmations already written stay, new ones are refused.
    _actions(_ACTIONS, validate=False)
