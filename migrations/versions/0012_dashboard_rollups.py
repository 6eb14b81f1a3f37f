"""the dashboards' rollups: district and province levels of claim_counters kept by the same triggers, the repair
sweeper's report, daily completion snapshots, completion targets, and the indexes the dashboards' bounded queries
read

The trigger functions of 0003 now upsert three levels in one statement each, always in the same order (employer,
then district, then province) and each in key order, so that concurrent claim transactions lock counter rows in one
global order. The triggers themselves are unchanged (0005 keeps them firing in every session). Claims are locked
against writers while the functions change and the new levels are filled from claim_counters.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_PLUS = "SELECT program_id, district_code, employer_id, state, 1 AS n, amount_vnd AS amount FROM new_rows"
_MINUS = "SELECT program_id, district_code, employer_id, state, -1 AS n, -amount_vnd AS amount FROM old_rows"
_DELTAS = {
    "claim_counters_insert": _PLUS,
    "claim_counters_delete": _MINUS,
    "claim_counters_update": f"{_PLUS} UNION ALL {_MINUS}",
}

# 0003's single level, for the downgrade.
_EMPLOYER = """
    INSERT INTO claim_counters AS c (program_id, district_code, employer_id, state, claims, amount_vnd)
    SELECT program_id, district_code, employer_id, state, sum(n), sum(amount)
    FROM ({deltas}) AS d
    GROUP BY program_id, district_code, employer_id, state
    HAVING sum(n) <> 0 OR sum(amount) <> 0
    ORDER BY program_id, district_code, employer_id, state
    ON CONFLICT (program_id, district_code, employer_id, state)
    DO UPDATE SET claims = c.claims + EXCLUDED.claims, amount_vnd = c.amount_vnd + EXCLUDED.amount_vnd;
"""
_DISTRICT = """
    INSERT INTO district_counters AS c (program_id, district_code, state, claims, amount_vnd)
    SELECT program_id, district_code, state, sum(n), sum(amount)
    FROM ({deltas}) AS d
    GROUP BY program_id, district_code, state
    HAVING sum(n) <> 0 OR sum(amount) <> 0
    ORDER BY program_id, district_code, state
    ON CONFLICT (program_id, district_code, state)
    DO UPDATE SET claims = c.claims + EXCLUDED.claims, amount_vnd = c.amount_vnd + EXCLUDED.amount_vnd;
"""
_PROVINCE = """
    INSERT INTO province_counters AS c (program_id, province_code, state, claims, amount_vnd)
    SELECT d.program_id, x.province_code, d.state, sum(d.n), sum(d.amount)
    FROM ({deltas}) AS d JOIN districts x ON x.code = d.district_code
    GROUP BY d.program_id, x.province_code, d.state
    HAVING sum(d.n) <> 0 OR sum(d.amount) <> 0
    ORDER BY d.program_id, x.province_code, d.state
    ON CONFLICT (program_id, province_code, state)
    DO UPDATE SET claims = c.claims + EXCLUDED.claims, amount_vnd = c.amount_vnd + EXCLUDED.amount_vnd;
"""


def _functions(*levels: str) -> None:
    for name, deltas in _DELTAS.items():
        body = "".join(level.format(deltas=deltas) for level in levels)
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$;"
        )


def _counter_columns() -> list[sa.Column]:
    return [
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("claims", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    ]


def upgrade() -> None:
    # No claim changes while the levels are filled and the functions change: the new levels start exact.
    op.execute("LOCK TABLE claims IN SHARE MODE")
    op.create_table(
        "district_counters",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=3), nullable=False),
        *_counter_columns(),
        sa.PrimaryKeyConstraint("program_id", "district_code", "state", name=op.f("pk_district_counters")),
    )
    op.create_table(
        "province_counters",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        *_counter_columns(),
        sa.PrimaryKeyConstraint("program_id", "province_code", "state", name=op.f("pk_province_counters")),
    )
    op.execute(
        """INSERT INTO district_counters (program_id, district_code, state, claims, amount_vnd)
           SELECT program_id, district_code, state, sum(claims), sum(amount_vnd) FROM claim_counters
           GROUP BY program_id, district_code, state HAVING sum(claims) <> 0 OR sum(amount_vnd) <> 0"""
    )
    op.execute(
        """INSERT INTO province_counters (program_id, province_code, state, claims, amount_vnd)
           SELECT c.program_id, x.province_code, c.state, sum(c.claims), sum(c.amount_vnd)
           FROM claim_counters c JOIN districts x ON x.code = c.district_code
           GROUP BY c.program_id, x.province_code, c.state HAVING sum(c.claims) <> 0 OR sum(c.amount_vnd) <> 0"""
    )
    _functions(_EMPLOYER, _DISTRICT, _PROVINCE)

    op.create_table(
        "rollup_repairs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("swept_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("area_code", sa.String(length=3), nullable=False),
        sa.Column("employer_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("expected_claims", sa.Integer(), nullable=False),
        sa.Column("found_claims", sa.Integer(), nullable=False),
        sa.Column("expected_amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("found_amount_vnd", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("level IN ('employer', 'district', 'province')", name=op.f("ck_rollup_repairs_level_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_repairs")),
    )
    op.create_index("ix_rollup_repairs_swept_at", "rollup_repairs", ["swept_at"], unique=False)

    op.create_table(
        "completion_snapshots",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("area_code", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("eligible", sa.Integer(), nullable=False),
        sa.Column("paid", sa.Integer(), nullable=False),
        sa.Column("paid_amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("needs_review", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("declined", sa.Integer(), nullable=False),
        sa.Column("awaiting_details", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "level IN ('country', 'province', 'district')", name=op.f("ck_completion_snapshots_level_known")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_completion_snapshots_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("program_id", "level", "area_code", "day", name=op.f("pk_completion_snapshots")),
    )

    op.create_table(
        "completion_targets",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=3), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("percent_bp", sa.Integer(), nullable=False),
        sa.Column("set_by_id", sa.BigInteger(), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("percent_bp BETWEEN 0 AND 10000", name=op.f("ck_completion_targets_percent_range")),
        sa.ForeignKeyConstraint(
            ["district_code"], ["districts.code"], name=op.f("fk_completion_targets_district_code_districts")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_completion_targets_program_id_programs")
        ),
        sa.ForeignKeyConstraint(["set_by_id"], ["users.id"], name=op.f("fk_completion_targets_set_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_completion_targets")),
        sa.UniqueConstraint(
            "program_id",
            "district_code",
            "target_date",
            name=op.f("uq_completion_targets_program_id_district_code_target_date"),
        ),
    )

    op.create_index(
        "ix_claim_counters_overdue",
        "claim_counters",
        ["program_id", "district_code"],
        unique=False,
        postgresql_where=sa.text("state = 'employer_overdue'"),
    )
    op.create_index(
        "ix_claim_events_decisions",
        "claim_events",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("actor_id IS NOT NULL AND action IN ('approve', 'reject')"),
    )
    op.create_index(
        "ix_payments_failures",
        "payments",
        ["failure_code", "claim_id"],
        unique=False,
        postgresql_where=sa.text("state IN ('failed', 'returned')"),
    )


def downgrade() -> None:
    op.execute("LOCK TABLE claims IN SHARE MODE")
    op.drop_index(
        "ix_payments_failures", table_name="payments", postgresql_where=sa.text("state IN ('failed', 'returned')")
    )
    op.drop_index(
        "ix_claim_events_decisions",
        table_name="claim_events",
        postgresql_where=sa.text("actor_id IS NOT NULL AND action IN ('approve', 'reject')"),
    )
    op.drop_index(
        "ix_claim_counters_overdue", table_name="claim_counters", postgresql_where=sa.text("state = 'employer_overdue'")
    )
    op.drop_table("completion_targets")
    op.drop_table("completion_snapshots")
    op.drop_index("ix_rollup_repairs_swept_at", table_name="rollup_repairs")
    op.drop_table("rollup_repairs")
    _functions(_EMPLOYER)
    op.drop_table("province_counters")
    op.drop_table("district_counters")
