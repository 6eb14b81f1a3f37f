""" "Take the next 20" pressed twice at once (a double click): both requests counted what the caseworker held before
either had committed, and each took 20. The caseworker's assignments now wait for each other, so the second sees
the first's claims and takes none. Two transactions on two connections, the data committed for real."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import func, select, text

from disburse.auth.models import User
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.verification import review
from tests.workers.test_verification_worker import committed  # noqa: F401 - the fixture

_SOMEONE_WAITS_FOR_ME = text(
    "SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
)


def test_two_presses_at_once_take_one_batch(app: Any, committed: Any) -> None:  # noqa: F811 - the fixture
    program = committed.program()
    caseworker = committed.user("caseworker", district="017")
    for _ in range(45):
        committed.claim("needs_review", program, employee=committed.person(district_code="017"))
    db.session.commit()
    program_id, user_id = program.id, caseworker.id
    outcome: list[Any] = []

    def second() -> None:
        with app.app_context():
            try:
                taken = review.assign_next(db.session.get(User, user_id), program_id, 20, held=0)
                db.session.commit()
                outcome.append(len(taken))
            except review.TakenAlready:
                db.session.rollback()
                outcome.append("taken already")
            finally:
                db.session.remove()

    first = review.assign_next(db.session.get(User, user_id), program_id, 20, held=0)
    thread = threading.Thread(target=second)
    thread.start()
    deadline = time.monotonic() + 10
    while not db.session.execute(_SOMEONE_WAITS_FOR_ME).scalar_one() and time.monotonic() < deadline:
        time.sleep(0.02)
    db.session.commit()
    thread.join(30)
    assert len(first) == 20 and outcome == ["taken already"]
    held = select(func.count()).where(Claim.assigned_to_id == user_id, Claim.program_id == program_id)
    assert db.session.scalar(held) == 20
