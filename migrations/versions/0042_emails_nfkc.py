"""users.email: kept compatibility-composed (NFKC), as the code now keeps and looks up every address. An address
typed in full-width letters ("ｕｎｉ@test.vn") was kept as typed, beside "uni@test.vn" as another user, and could be
found only by typing it so; signing in as "ｕｎｉ@test.vn" now looks up "uni@test.vn".

Each address not in NFKC form is rewritten to it, unless another user already has that address (any case), or
another row would be rewritten to it too (then only the oldest is): those are left as they are and named in the
log (``disburse.migrations``) by id, for an admin to deactivate the look-alike (typed as it is kept, its address is
still its own: ``get_user_by_email`` reads an exact match first). Nothing else about a user changes (the
session epoch moves only for a password, ``active``, the role or the scope). No downgrade: the typed form is gone.

Revision ID: 0042
Revises: 0041
"""

import logging
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

log = logging.getLogger("disburse.migrations")


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(
        sa.text(
            """UPDATE users u SET email = normalize(u.email, NFKC)
               WHERE u.email IS NOT NFKC NORMALIZED
                 AND char_length(normalize(u.email, NFKC)) <= 254
                 AND NOT EXISTS (SELECT 1 FROM users o
                                 WHERE o.id <> u.id AND lower(o.email) = lower(normalize(u.email, NFKC)))
                 AND u.id = (SELECT min(w.id) FROM users w
                             WHERE lower(normalize(w.email, NFKC)) = lower(normalize(u.email, NFKC)))"""
        )
    )
    for user_id, email in bind.execute(
        sa.text("SELECT id, email FROM users WHERE email IS NOT NFKC NORMALIZED ORDER BY id")
    ).all():
        log.warning(
            "user id %s: e-mail %r left as it is: its NFKC form %r is another user's address (or too long); "
            "find this user by id on /admin/users/%s, not by the address",
            user_id,
            email,
            unicodedata.normalize("NFKC", email),
            user_id,
        )


def downgrade() -> None:
    pass
