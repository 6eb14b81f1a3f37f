"""append-only history tables; claim_counters kept exact by statement-level triggers on claims

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The counters are upserted in key order so that concurrent transactions lock counter rows in the same order.
_UPSERT = """
    INSERT INTO claim_counters AS c (program_id, district_code, employer_id, state, claims, amount_vnd)
    SELECT program_id, district_code, employer_id, state, sum(n), sum(amount)
    FROM ({deltas}) AS d
    GROUP BY program_id, district_code, employer_id, state
    HAVING sum(n) <> 0 OR sum(amount) <> 0
    ORDER BY program_id, district_code, employer_id, state
    ON CONFLICT (program_id, district_code, employer_id, state)
    DO UPDATE SET claims = c.claims + EXCLUDED.claims, amount_vnd = c.amount_vnd + EXCLUDED.amount_vnd;
"""
_PLUS = "SELECT program_id, district_code, employer_id, state, 1 AS n, amount_vnd AS amount FROM new_rows"
_MINUS = "SELECT program_id, district_code, employer_id, state, -1 AS n, -amount_vnd AS amount FROM old_rows"


def upgrade():
    op.execute(
        """
        CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'restrict_violation';
        END $$;
        """
    )
    for table in ("claim_events", "payment_events"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )

    for name, body in (
        ("claim_counters_insert", _UPSERT.format(deltas=_PLUS)),
        ("claim_counters_delete", _UPSERT.format(deltas=_MINUS)),
        ("claim_counters_update", _UPSERT.format(deltas=f"{_PLUS} UNION ALL {_MINUS}")),
    ):
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$;")
    op.execute(
        "CREATE TRIGGER claim_counters_insert AFTER INSERT ON claims "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION claim_counters_insert()"
    )
    op.execute(
        "CREATE TRIGGER claim_counters_update AFTER UPDATE ON claims "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION claim_counters_update()"
    )
    op.execute(
        "CREATE TRIGGER claim_counters_delete AFTER DELETE ON claims "
        "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION claim_counters_delete()"
    )


def downgrade():
    for name in ("claim_counters_insert", "claim_counters_update", "claim_counters_delete"):
        op.execute(f"DROP TRIGGER {name} ON claims")
        op.execute(f"DROP FUNCTION {name}()")
    for table in ("claim_events", "payment_events"):
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute("DROP FUNCTION refuse_change()")
