"""employers: unit codes in capitals, as the registry import now stores them: a unit registered as "dnx0000002" and
another later as "DNX0000002" were two units, and a code typed in a third case found neither. A code whose
capitals another unit already holds is left as it is (those two are for the office to merge).

Revision ID: 0040
Revises: 0039
"""

from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Said at the upgrade: the units whose codes differ in case only, left as they are for the office to merge (the
    # import now reads both spellings as the one in capitals).
    op.execute(
        """DO $$
           DECLARE twin record;
           BEGIN
             FOR twin IN SELECT string_agg(unit_code || ' (id ' || id || ')', ', ' ORDER BY id) AS codes
                         FROM employers GROUP BY upper(unit_code) HAVING count(*) > 1 LOOP
               RAISE WARNING 'unit codes differing in case only, left as they are: %', twin.codes;
             END LOOP;
           END $$"""
    )
    op.execute(
        """UPDATE employers e SET unit_code = upper(e.unit_code COLLATE "C")
           WHERE e.unit_code <> upper(e.unit_code COLLATE "C")
             AND NOT EXISTS (SELECT 1 FROM employers o
                             WHERE o.id <> e.id AND upper(o.unit_code) = upper(e.unit_code))"""
    )


def downgrade() -> None:
    pass  # the codes' former case is not kept; capitals are what every reader takes
