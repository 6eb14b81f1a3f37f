"""A payment that failed on the bank's side is paid again after a wait, and does not count as the person's failure

``claims.retry_after``: while a claim is ``approved`` after a failure that was the bank's (a timeout, the fund's
account short of money, a cut-off: :data:`disburse.payments.reasons.BANK_SIDE`), batching does not take it before
this time (an exponential backoff, ``DISBURSE_PAYMENT_RETRY_BASE_S`` doubled each time up to
``DISBURSE_PAYMENT_RETRY_CAP_S``). NULL in every other state (the check says so): the claims' transition path clears
it when the claim leaves ``approved``.

``claims.bank_failures``: the claim's failed payments that were the bank's. ``payment_failures`` now counts only the
failures of the person's details, which is what the program's ``max_payment_failures`` (the offer of cash) is about.
Claims failed on the bank's side before this revision keep them counted in ``payment_failures``: which failure was
whose is on each payment (``failure_code``), and moving past counts would change offers already made.

Revision ID: 0033
Revises: 0032
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("claims", sa.Column("retry_after", sa.DateTime(timezone=True), nullable=True))
    op.add_column("claims", sa.Column("bank_failures", sa.SmallInteger(), server_default=sa.text("0"), nullable=False))
    op.create_check_constraint(op.f("ck_claims_bank_failures_non_negative"), "claims", "bank_failures >= 0")
    op.create_check_constraint(
        op.f("ck_claims_retry_after_only_approved"), "claims", "retry_after IS NULL OR state = 'approved'"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_claims_retry_after_only_approved"), "claims", type_="check")
    op.drop_constraint(op.f("ck_claims_bank_failures_non_negative"), "claims", type_="check")
    op.drop_column("claims", "bank_failures")
    op.drop_column("claims", "retry_after")
