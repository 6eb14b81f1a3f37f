"""``disburse_one_typo_apart(a, b)``: whether two national IDs of the same length differ by one mistyped digit or
two neighbouring digits swapped, for the near-duplicate check (a similar name and the same birthday are not enough
at national scale: see docs/rules.md, section 7).

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """CREATE FUNCTION disburse_one_typo_apart(a text, b text) RETURNS boolean
           LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
           AS $$
             SELECT length(a) = length(b) AND coalesce((
                 SELECT count(*) = 1
                        OR (count(*) = 2 AND max(i) = min(i) + 1
                            AND substr(a, min(i), 1) = substr(b, max(i), 1)
                            AND substr(a, max(i), 1) = substr(b, min(i), 1))
                 FROM generate_series(1, length(a)) AS i
                 WHERE substr(a, i, 1) <> substr(b, i, 1)
             ), false)
           $$"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION disburse_one_typo_apart(text, text)")
