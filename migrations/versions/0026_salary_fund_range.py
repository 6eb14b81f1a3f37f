"""A salary fund is below 10^15 VND

The reductions multiply a month's fund by basis points in bigint (``disburse.reductions.service``): a fund of 10^15 or
more (a typing slip of a few digits: no employer's monthly fund comes near it) overflowed there, and since the
reductions are booked in the same transaction as the Form 01 lists, no claim was listed for anyone. The import
refuses such a figure; the table says so too.

Revision ID: 0026
Revises: 0025
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_check_constraint(
        op.f("ck_salary_funds_fund_in_range"), "salary_funds", "ui_salary_fund_vnd < 1000000000000000"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_salary_funds_fund_in_range"), "salary_funds", type_="check")
