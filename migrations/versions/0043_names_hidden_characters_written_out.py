"""users.full_name and api_tokens.name: a hidden character kept before names were checked is written out as its
code point ("Nguyễn [U+202E]oảB nằV"). Names typed since are refused when they hold one (a control or format
character, Unicode Cc or Cf, but white space); those kept before showed as another name ("Nguyễn Văn Bảo") wherever a
page printed them: the supervisor's "give to" list, the productivity table, the case's timeline, the account page.
Written out in the row itself, every page shows what the name holds, and the admin corrects it on the user's page.
The rows are few (people and integrations, not claims): read and written one by one. No downgrade: what was
hidden is now plain to see, which is the point.

Revision ID: 0043
Revises: 0042
"""

import logging
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

log = logging.getLogger("disburse.migrations")

#: Ordinary white space, which a name may hold (it is tidied to single spaces when typed), though Cc.
_SPACE_CONTROLS = frozenset("\t\n\x0b\x0c\r\x85")


def written_out(value: str) -> str:
    """``value`` with each hidden character written as its code point in brackets (as ``disburse.auth.text.shown``,
    copied: a migration keeps the rule of its day)."""
    return "".join(
        f"[U+{ord(c):04X}]" if unicodedata.category(c) in ("Cc", "Cf") and c not in _SPACE_CONTROLS else c
        for c in value
    )


def upgrade() -> None:
    bind = op.get_bind()
    for table, column, width in (("users", "full_name", 200), ("api_tokens", "name", 100)):
        rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table} WHERE {column} <> '' ORDER BY id")).all()
        for row_id, value in rows:
            if value is None or (plain := written_out(value)) == value:
                continue
            bind.execute(
                sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"), {"value": plain[:width], "id": row_id}
            )
            log.warning("%s id %s: hidden characters in %s written out: %r", table, row_id, column, plain)


def downgrade() -> None:
    pass
