"""No statement of ours is ever prepared on the server, on any of our engines (the app's, the sandbox bank's, the
replica's): PostgreSQL would then plan it once for any parameters, guessing ten elements for an array, and the bulk
settlement of 20,000 payments became a nested loop of 20,000 × 20,000 rows (:func:`disburse.runtime.connect_args`).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from disburse.extensions import db
from disburse.replica import _Replica
from tests.sandbox_bank import Bank

#: An array parameter like the bulk statements', run more often than psycopg's default threshold (5) for preparing.
STATEMENT = text("SELECT count(*) FROM unnest(CAST(:ids AS bigint[])) AS w(id)")
RUNS = 8


def _prepared_after_runs(engine: Engine) -> int:
    with engine.connect() as conn:
        for n in range(RUNS):
            assert conn.execute(STATEMENT, {"ids": list(range(n + 1))}).scalar_one() == n + 1
        return int(conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one())


def test_the_apps_statements_are_never_prepared(app):
    with app.app_context():
        assert _prepared_after_runs(db.engine) == 0


def test_the_sandbox_banks_statements_are_never_prepared(bank: Bank):
    assert _prepared_after_runs(bank.sandbox.engine) == 0


def test_the_replicas_statements_are_never_prepared(database_url):
    replica = _Replica(database_url)
    try:
        assert _prepared_after_runs(replica.engine) == 0
    finally:
        replica.engine.dispose()
