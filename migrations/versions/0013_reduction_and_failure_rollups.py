"""two more rollups the dashboards measured as too slow without: reduction_totals (the employers' contribution
reduction per program and district: units, people covered, VND; refreshed by the reductions' booking in its
transaction and by the rollups' repair sweeper) and failure_counters (failed and returned payment attempts per
program × district × provider code, kept exact by statement-level triggers on payments, ENABLE ALWAYS, key-ordered
upserts as the claims' rollups)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


_PLUS = """SELECT c.program_id, c.district_code, coalesce(p.failure_code, '') AS code, 1 AS n, p.amount_vnd AS amount
            FROM new_rows p JOIN claims c ON c.id = p.claim_id WHERE p.state IN ('failed', 'returned')"""
_MINUS = """SELECT c.program_id, c.district_code, coalesce(p.failure_code, '') AS code, -1 AS n, -p.amount_vnd AS amount
             FROM old_rows p JOIN claims c ON c.id = p.claim_id WHERE p.state IN ('failed', 'returned')"""
_UPSERT = """
    INSERT INTO failure_counters AS f (program_id, district_code, failure_code, payments, amount_vnd)
    SELECT program_id, district_code, code, sum(n), sum(amount) FROM ({deltas}) AS d
    GROUP BY program_id, district_code, code
    HAVING sum(n) <> 0 OR sum(amount) <> 0
    ORDER BY program_id, district_code, code
    ON CONFLICT (program_id, district_code, failure_code)
    DO UPDATE SET payments = f.payments + EXCLUDED.payments, amount_vnd = f.amount_vnd + EXCLUDED.amount_vnd;
"""
_FAILED = "state IN ('failed', 'returned')"
_TRIGGERS = {
    "failure_counters_insert": ("INSERT", "NEW TABLE AS new_rows", _PLUS),
    "failure_counters_update": ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", f"{_PLUS} UNION ALL {_MINUS}"),
    "failure_counters_delete": ("DELETE", "OLD TABLE AS old_rows", _MINUS),
}


def upgrade() -> None:
    op.create_table(
        "reduction_totals",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=3), nullable=False),
        sa.Column("employers", sa.Integer(), nullable=False),
        sa.Column("employees", sa.BigInteger(), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("program_id", "district_code", name=op.f("pk_reduction_totals")),
    )
    op.execute(
        """INSERT INTO reduction_totals (program_id, district_code, employers, employees, amount_vnd)
           SELECT u.program_id, e.district_code, count(*), sum(u.most), sum(u.amount)
           FROM (SELECT program_id, employer_id, max(ui_participants) AS most, sum(amount_vnd) AS amount
                 FROM reductions GROUP BY program_id, employer_id) u
           JOIN employers e ON e.id = u.employer_id
           GROUP BY u.program_id, e.district_code"""
    )

    op.execute("LOCK TABLE payments IN SHARE MODE")
    # 0012's index for failures by reason: the counters answer now; one index less to write per payment.
    op.drop_index("ix_payments_failures", table_name="payments", postgresql_where=sa.text(_FAILED))
    op.create_table(
        "failure_counters",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=3), nullable=False),
        sa.Column("failure_code", sa.String(length=40), nullable=False),
        sa.Column("payments", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("program_id", "district_code", "failure_code", name=op.f("pk_failure_counters")),
    )
    op.execute(
        """INSERT INTO failure_counters (program_id, district_code, failure_code, payments, amount_vnd)
           SELECT c.program_id, c.district_code, coalesce(p.failure_code, ''), count(*), sum(p.amount_vnd)
           FROM payments p JOIN claims c ON c.id = p.claim_id WHERE p.state IN ('failed', 'returned')
           GROUP BY 1, 2, 3"""
    )
    for name, (event, tables, deltas) in _TRIGGERS.items():
        body = _UPSERT.format(deltas=deltas)
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$;")
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON payments REFERENCING {tables} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {name}()"
        )
        # Like the claims' rollups (0005): they fire under session_replication_role = replica too.
        op.execute(f"ALTER TABLE payments ENABLE ALWAYS TRIGGER {name}")


def downgrade() -> None:
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON payments")
        op.execute(f"DROP FUNCTION {name}()")
    op.drop_table("failure_counters")
    op.create_index(
        "ix_payments_failures",
        "payments",
        ["failure_code", "claim_id"],
        unique=False,
        postgresql_where=sa.text(_FAILED),
    )
    op.drop_table("reduction_totals")
