"""A transaction that PostgreSQL aborts to break a deadlock is run again (:func:`disburse.bulk.after_deadlocks`): by
the helper itself, by a background job (:func:`disburse.jobs.service.run_job`) and by the ``verification.verify``
task, as ``payments.batch`` makes each batch. Each test makes a real deadlock between two connections: the other
writer holds a row the victim is about to want, and once the victim waits for it, asks for a row the victim holds.
The victim, waiting first, is the one PostgreSQL aborts; it is run again after the other writer has given up, and
goes through. Nothing else is retried."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from disburse.bulk import after_deadlocks
from disburse.extensions import db
from disburse.jobs.service import run_job

# Two rows of the reference data, updated to themselves: the locks are real, the data does not change.
FIRST = text("UPDATE banks SET name = name WHERE code = 'ABB'")
SECOND = text("UPDATE banks SET name = name WHERE code = 'ACB'")

# pg_locks, not pg_stat_activity: the statistics views keep one snapshot for the whole transaction.
_SOMEONE_WAITS_FOR_ME = text(
    "SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
)


@contextmanager
def other_writer(engine: Engine, holds: Any, then_wants: Any, params: dict[str, Any] | None = None) -> Iterator[None]:
    """Another connection that runs ``holds``, and as soon as some session waits for the lock it took, runs
    ``then_wants`` (a row that session holds), then rolls back. Inside the block, the victim's work runs."""
    ready = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            with engine.connect() as conn:
                # Only the victim looks for the deadlock (after the server's deadlock_timeout, 1 s), so only the
                # victim can be aborted, however late this thread runs.
                conn.execute(text("SET LOCAL deadlock_timeout = '30s'"))
                conn.execute(holds, params or {})
                ready.set()
                deadline = time.monotonic() + 30
                while not conn.execute(_SOMEONE_WAITS_FOR_ME).scalar_one():
                    if time.monotonic() > deadline:
                        raise AssertionError("nobody came to wait for the lock")
                    time.sleep(0.02)
                # The victim waits already; its deadlock check finds the cycle and PostgreSQL aborts it; this writer
                # then gets the row and ends.
                conn.execute(then_wants, params or {})
                conn.rollback()
        except BaseException as exc:  # reported by the block's end
            failed.append(exc)
            ready.set()

    thread = threading.Thread(target=run)
    thread.start()
    assert ready.wait(10) and not failed, failed
    yield
    thread.join(30)
    assert not thread.is_alive() and not failed, failed


def test_a_deadlocks_victim_is_run_again_and_goes_through(app):
    with app.app_context():
        attempts: list[int] = []
        retried: list[int] = []

        def work() -> str:
            attempts.append(len(attempts) + 1)
            db.session.execute(FIRST)
            db.session.execute(SECOND)
            db.session.commit()
            return "done"

        with other_writer(db.engine, SECOND, FIRST):
            result = after_deadlocks(work, on_retry=lambda: retried.append(1))

        assert result == "done"
        assert attempts == [1, 2] and retried == [1]
        db.session.remove()


def test_any_other_error_is_raised_at_once(app):
    with app.app_context():
        attempts: list[int] = []

        def work() -> None:
            attempts.append(1)
            db.session.execute(text("INSERT INTO banks (code, bin, name) VALUES ('ABB', '999999', 'again')"))

        with pytest.raises(IntegrityError):
            after_deadlocks(work)
        assert attempts == [1]
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def queued_job(app) -> Iterator[int]:
    with app.app_context():
        made = db.session.execute(
            text("INSERT INTO jobs (kind, state) VALUES ('test.deadlock', 'queued') RETURNING id")
        )
        job_id = made.scalar_one()
        db.session.commit()
        db.session.remove()
    yield job_id
    with app.app_context():
        db.session.execute(text("DELETE FROM jobs WHERE id = :id"), {"id": job_id})
        db.session.commit()
        db.session.remove()


def test_a_background_job_that_a_deadlock_aborted_is_run_again_not_failed(app, queued_job, caplog):
    with app.app_context():
        runs: list[int] = []

        def work(_job: Any, progress: Any) -> dict[str, Any]:
            runs.append(1)
            db.session.execute(FIRST)
            progress(1, 2)
            db.session.execute(SECOND)
            return {"rows": 2}

        with other_writer(db.engine, SECOND, FIRST):
            run_job(queued_job, "test.", work)

        state, error, result = db.session.execute(
            text("SELECT state, error, result FROM jobs WHERE id = :id"), {"id": queued_job}
        ).one()
        assert (state, error, result) == ("succeeded", None, {"rows": 2})
        assert len(runs) == 2
        assert f"job {queued_job} was a deadlock's victim" in caplog.text
        db.session.remove()


def test_a_verification_batch_that_a_deadlock_aborted_is_verified_again(app, caplog):
    """The victim is the real ``verification.verify`` task body: it locks its claim, then moves it, and the claims'
    rollup trigger wants the counter row the other writer holds; the other writer then wants the claim."""
    from tests.workers.test_verification_worker import Committed, history, rollups_equal_a_direct_count
    from workers.verification import verify

    with app.app_context():
        rows = Committed()
        try:
            program = rows.program()
            claim = rows.claim("employer_confirmed", program, confirmed_on=date(2021, 10, 25))
            db.session.commit()
            keys = {"program": program.id, "employer": claim.employer_id, "claim": claim.id}
            counter = text(
                """UPDATE claim_counters SET claims = claims
                   WHERE program_id = :program AND employer_id = :employer AND state = 'employer_confirmed'"""
            )
            the_claim = text("UPDATE claims SET updated_at = updated_at WHERE id = :claim")

            with other_writer(db.engine, counter, the_claim, keys):
                result = verify.run(claim_ids=[claim.id])

            assert "a verification batch was a deadlock's victim" in caplog.text
            assert result["approved"] == 1, result
            assert history(claim.id)[-2:] == [
                ("start_verification", "employer_confirmed", "verifying"),
                ("approve", "verifying", "approved"),
            ]
            assert [action for action, _, _ in history(claim.id)].count("approve") == 1
            assert rollups_equal_a_direct_count()
        finally:
            rows.clean()
            db.session.remove()
