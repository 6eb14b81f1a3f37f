"""A transaction that PostgreSQL aborts to break a deadlock is run again (:func:`disburse.bulk.after_deadlocks`, as
``payments.batch`` makes each batch): a real deadlock between two connections, the victim run again after the other
writer has finished, and nothing else retried."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from disburse.bulk import after_deadlocks
from disburse.extensions import db

# Two rows of the reference data, updated to themselves: the locks are real, the data does not change.
FIRST = text("UPDATE banks SET name = name WHERE code = 'ABB'")
SECOND = text("UPDATE banks SET name = name WHERE code = 'ACB'")


def test_a_deadlocks_victim_is_run_again_and_goes_through(app):
    with app.app_context():
        victim_holds_first = threading.Event()
        other_holds_second = threading.Event()
        other_failed: list[BaseException] = []
        engine = db.engine  # the thread has no app context of its own

        def other_writer() -> None:
            try:
                with engine.connect() as conn:
                    conn.execute(SECOND)
                    other_holds_second.set()
                    victim_holds_first.wait(10)
                    # The victim starts waiting first, so its deadlock check (after deadlock_timeout) finds the cycle
                    # and PostgreSQL aborts it; this writer then gets the row and ends.
                    time.sleep(0.5)
                    conn.execute(FIRST)
                    conn.rollback()
            except BaseException as exc:  # reported to the test below
                other_failed.append(exc)

        attempts: list[int] = []
        retried: list[int] = []

        def work() -> str:
            attempts.append(len(attempts) + 1)
            db.session.execute(FIRST)
            if len(attempts) == 1:
                victim_holds_first.set()
                other_holds_second.wait(10)
            db.session.execute(SECOND)
            db.session.commit()
            return "done"

        other = threading.Thread(target=other_writer)
        other.start()
        assert other_holds_second.wait(10), other_failed
        result = after_deadlocks(work, on_retry=lambda: retried.append(1))
        other.join(10)

        assert not other_failed, other_failed
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
