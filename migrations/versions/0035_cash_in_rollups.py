"""the rollups tell bank from cash: claim_counters, district_counters and province_counters count, of each row's
claims, those paid in cash at the office (cash_claims, cash_amount_vnd: claims.payout = 'cash'), kept by the same
statement-level triggers in the same upserts; rollup_repairs records what was expected and found of them too

The dashboards split "in payment" (payment_pending) into the bank's and the offices' cash lists: a claim's payout
cannot change while it is in payment, and a batch takes only the claims of its channel, so the payout of a claim in
payment says where it waits. Two columns on the rows the triggers already upsert, rather than the payout in the
rows' key: the same rows, locked in the same order, no row more; a statement that changes only a payout (the cash
offer, cash from review) now upserts the row of its state, which it did not before (its claims and VND add up to
nothing). Claims are locked against writers while the columns are filled from them and the functions change.

Revision ID: 0035
Revises: 0034
"""

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

_COUNTERS = ("claim_counters", "district_counters", "province_counters")


def _deltas(with_cash: bool) -> dict[str, str]:
    cash = (
        ", CASE WHEN payout = 'cash' THEN {sign}1 ELSE 0 END AS cash_n,"
        " CASE WHEN payout = 'cash' THEN {sign}amount_vnd ELSE 0 END AS cash_amount"
        if with_cash
        else ""
    )
    plus = (
        "SELECT program_id, district_code, employer_id, state, 1 AS n, amount_vnd AS amount"
        + cash.format(sign="")
        + " FROM new_rows"
    )
    minus = (
        "SELECT program_id, district_code, employer_id, state, -1 AS n, -amount_vnd AS amount"
        + cash.format(sign="-")
        + " FROM old_rows"
    )
    return {
        "claim_counters_insert": plus,
        "claim_counters_delete": minus,
        "claim_counters_update": f"{plus} UNION ALL {minus}",
    }


# The three levels in one statement each, always in the same order (employer, district, province) and each in key
# order, as 0012 has them, with the cash columns added.
_EMPLOYER = """
    INSERT INTO claim_counters AS c (program_id, district_code, employer_id, state, claims, amount_vnd{columns})
    SELECT program_id, district_code, employer_id, state, sum(n), sum(amount){sums}
    FROM ({deltas}) AS d
    GROUP BY program_id, district_code, employer_id, state
    HAVING sum(n) <> 0 OR sum(amount) <> 0{having}
    ORDER BY program_id, district_code, employer_id, state
    ON CONFLICT (program_id, district_code, employer_id, state)
    DO UPDATE SET claims = c.claims + EXCLUDED.claims, amount_vnd = c.amount_vnd + EXCLUDED.amount_vnd{added};
"""
_DISTRICT = """
    INSERT INTO district_counters AS c (program_id, district_code, state, claims, amount_vnd{columns})
    SELECT program_id, district_code, state, sum(n), sum(amount){sums}
    FROM ({deltas}) AS d
    GROUP BY program_id, district_code, state
    HAVING sum(n) <> 0 OR sum(amount) <> 0{having}
    ORDER BY program_id, district_code, state
    ON CONFLICT (program_id, district_code, state)
    DO UPDATE SET claims = c.claims + EXCLUDED.claims, amount_vnd = c.amount_vnd + EXCLUDED.amount_vnd{added};
"""
_PROVINCE = """
    INSERT INTO province_counters AS c (program_id, province_code, state, claims, amount_vnd{columns})
    SELECT d.program_id, x.province_code, d.state, sum(d.n), sum(d.amount){sums}
    FROM ({deltas}) AS d JOIN districts x ON x.code = d.district_code
    GROUP BY d.program_id, x.province_code, d.state
    HAVING sum(d.n) <> 0 OR sum(d.amount) <> 0{having}
    ORDER BY d.program_id, x.province_code, d.state
    ON CONFLICT (program_id, province_code, state)
    DO UPDATE SET claims = c.claims + EXCLUDED.claims, amount_vnd = c.amount_vnd + EXCLUDED.amount_vnd{added};
"""
_CASH = {
    "columns": ", cash_claims, cash_amount_vnd",
    "sums": ", sum(d.cash_n), sum(d.cash_amount)",
    # A change of payout alone adds nothing to the claims and their VND, and something to the cash columns.
    "having": " OR sum(d.cash_n) <> 0 OR sum(d.cash_amount) <> 0",
    "added": ", cash_claims = c.cash_claims + EXCLUDED.cash_claims,"
    " cash_amount_vnd = c.cash_amount_vnd + EXCLUDED.cash_amount_vnd",
}
_WITHOUT_CASH = dict.fromkeys(_CASH, "")


def _functions(with_cash: bool) -> None:
    words = _CASH if with_cash else _WITHOUT_CASH
    for name, deltas in _deltas(with_cash).items():
        body = "".join(level.format(deltas=deltas, **words) for level in (_EMPLOYER, _DISTRICT, _PROVINCE))
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$;"
        )


# The program's cash claims per district, employer and state, counted once, then written to each level.
_FILL = (
    """CREATE TEMPORARY TABLE cash_rollup ON COMMIT DROP AS
       SELECT c.program_id, c.district_code, x.province_code, c.employer_id, c.state, count(*) AS n,
              sum(c.amount_vnd) AS amount
       FROM claims c JOIN districts x ON x.code = c.district_code WHERE c.payout = 'cash'
       GROUP BY 1, 2, 3, 4, 5""",
    """UPDATE claim_counters c SET cash_claims = r.n, cash_amount_vnd = r.amount FROM cash_rollup r
       WHERE c.program_id = r.program_id AND c.district_code = r.district_code
         AND c.employer_id IS NOT DISTINCT FROM r.employer_id AND c.state = r.state""",
    """UPDATE district_counters c SET cash_claims = r.n, cash_amount_vnd = r.amount
       FROM (SELECT program_id, district_code, state, sum(n) AS n, sum(amount) AS amount FROM cash_rollup
             GROUP BY 1, 2, 3) r
       WHERE c.program_id = r.program_id AND c.district_code = r.district_code AND c.state = r.state""",
    """UPDATE province_counters c SET cash_claims = r.n, cash_amount_vnd = r.amount
       FROM (SELECT program_id, province_code, state, sum(n) AS n, sum(amount) AS amount FROM cash_rollup
             GROUP BY 1, 2, 3) r
       WHERE c.program_id = r.program_id AND c.province_code = r.province_code AND c.state = r.state""",
    "DROP TABLE cash_rollup",
)


def upgrade() -> None:
    # No claim changes while the columns are filled and the functions change: the cash columns start exact.
    op.execute("LOCK TABLE claims IN SHARE MODE")
    for table in _COUNTERS:
        op.add_column(table, sa.Column("cash_claims", sa.Integer(), server_default=sa.text("0"), nullable=False))
        op.add_column(table, sa.Column("cash_amount_vnd", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    for name, kind in (
        ("expected_cash_claims", sa.Integer()),
        ("found_cash_claims", sa.Integer()),
        ("expected_cash_amount_vnd", sa.BigInteger()),
        ("found_cash_amount_vnd", sa.BigInteger()),
    ):
        op.add_column("rollup_repairs", sa.Column(name, kind, server_default=sa.text("0"), nullable=False))
    for statement in _FILL:
        op.execute(statement)
    _functions(with_cash=True)


def downgrade() -> None:
    op.execute("LOCK TABLE claims IN SHARE MODE")
    _functions(with_cash=False)
    for name in ("found_cash_amount_vnd", "expected_cash_amount_vnd", "found_cash_claims", "expected_cash_claims"):
        op.drop_column("rollup_repairs", name)
    for table in reversed(_COUNTERS):
        op.drop_column(table, "cash_amount_vnd")
        op.drop_column(table, "cash_claims")
