"""Two caseworkers deciding the same possible duplicate at once, each from their own half of the pair (assign-next
hands the halves to different people): each locked its own claim first, then the group in id order, so each held
the row the other wanted next. PostgreSQL aborted one of them (a deadlock), and that caseworker got "service
unavailable" (503). The group is now locked in id order from the first lock: the second waits for the first, then
finds the group decided (found by the explorer). Two transactions on two connections, the data committed for real."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import text

from disburse.auth.models import User
from disburse.extensions import db
from disburse.verification import review
from tests.workers.test_verification_worker import committed  # noqa: F401 - the fixture

_SOMEONE_WAITS_FOR_ME = text(
    "SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
)


@pytest.mark.parametrize("override", [False, True])
def test_two_caseworkers_deciding_one_pair_from_each_half_take_turns(app: Any, committed: Any, override: bool) -> None:  # noqa: F811
    program = committed.program()
    first_id, second_id = (committed.user("caseworker", district="017").id for _ in range(2))
    national_id = f"079{time.monotonic_ns() % 10**9:09d}"
    low, high = (
        committed.claim(
            "needs_review",
            program,
            employee=committed.person(national_id=national_id, district_code="017", possible_duplicate=True),
            reasons=["possible_duplicate"],
        )
        for _ in range(2)
    )
    db.session.commit()
    low_id, high_id = low.id, high.id
    note = "Hai người khác nhau." if override else None
    outcome: list[Any] = []

    def second() -> None:
        """The other caseworker, from the higher half: it must not hold that claim while it waits for the lower."""
        with app.app_context():
            try:
                done = review.resolve_duplicate(
                    high_id, db.session.get(User, second_id), high_id, override=override, note=note
                )
                db.session.commit()
                outcome.append(done.changed)
            except review.ReviewError as exc:
                db.session.rollback()
                outcome.append(exc.code)
            finally:
                db.session.remove()

    # The first caseworker, from the lower half, has its claim locked (as the case's action takes it) ...
    db.session.execute(text("SELECT id FROM claims WHERE id = :id FOR UPDATE"), {"id": low_id})
    thread = threading.Thread(target=second)
    thread.start()
    deadline = time.monotonic() + 10
    while not db.session.execute(_SOMEONE_WAITS_FOR_ME).scalar_one() and time.monotonic() < deadline:
        time.sleep(0.02)
    # ... and decides while the other waits: with the other holding the higher claim, this waited for it, and one of
    # the two was aborted as a deadlock.
    done = review.resolve_duplicate(low_id, db.session.get(User, first_id), low_id, override=override, note=note)
    db.session.commit()
    thread.join(30)
    assert not thread.is_alive() and done.changed
    states = dict(
        db.session.execute(text("SELECT id, state FROM claims WHERE id IN (:a, :b)"), {"a": low_id, "b": high_id}).all()
    )
    if override:
        # The pair said different people by the first: the second's same decision, keeping the other, is recorded.
        assert outcome == [True] and states[low_id] != "rejected" and states[high_id] != "rejected", (outcome, states)
    else:
        # The first kept the lower and refused the higher: the second, keeping the refused one, is told so.
        assert outcome == ["invalid_state"] and states == {low_id: "needs_review", high_id: "rejected"}, (
            outcome,
            states,
        )
