""" "Xây dựng danh sách Mẫu số 01" clicked by two admins at the same moment: both requests looked for a build still
queued or running, found none, and each queued one (two audit rows, the second ran the whole registry for nothing).
The look and the insert now hold a lock until the commit, so the second waits for the first and opens its job; a
retry of a failed build while another is queued is refused the same way. Two transactions on two connections, the
data committed for real."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from disburse.auth.models import AuditLog, User
from disburse.claims import list_builds
from disburse.extensions import db
from disburse.jobs.models import Job
from tests.conftest import PASSWORD
from tests.factories import create_user, nq116

_SOMEONE_WAITS_FOR_ME = text(
    "SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
)


@pytest.fixture
def committed_admin(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, str]]:
    """An admin committed for real, on a day the lists may still be built; the jobs, audit rows, sessions and users
    the test committed removed after it."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-15")
    with app.app_context():
        admin = create_user("admin", password=PASSWORD)
        db.session.commit()
        ids = (admin.id, admin.email)
        db.session.remove()
    try:
        yield ids
    finally:
        with app.app_context():
            for statement in (
                "DELETE FROM audit_log WHERE actor_id = :u OR (object_type = 'user' AND object_id = CAST(:u AS text))",
                "DELETE FROM jobs WHERE created_by = :u",
                "DELETE FROM user_sessions WHERE user_id = :u",
                "DELETE FROM users WHERE id = :u",
            ):
                db.session.execute(text(statement), {"u": ids[0]})
            db.session.commit()
            db.session.remove()


def _while_a_first_build_waits(app: Flask, admin_id: int, second: Callable[[], Any]) -> tuple[int, Any]:
    """Start a build on this connection and keep it uncommitted until ``second``, on a thread, waits for it (10 s at
    most); commit; the first build's job id and what ``second`` returned or raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(second())
        except Exception as exc:  # reported below
            outcome.append(exc)

    with app.app_context():
        first = list_builds.start_build(nq116(), db.session.get(User, admin_id)).id
        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 10
        while not db.session.execute(_SOMEONE_WAITS_FOR_ME).scalar_one() and time.monotonic() < deadline:
            time.sleep(0.02)
        db.session.commit()
        db.session.remove()
    thread.join(30)
    assert not thread.is_alive() and len(outcome) == 1
    return first, outcome[0]


def _signed_in(app: Flask, email: str) -> Any:
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def _builds(admin_id: int) -> tuple[int, int]:
    """The admin's lists build jobs and the audit rows of their starts."""
    jobs = select(func.count()).select_from(Job).where(Job.kind == "lists.build", Job.created_by == admin_id)
    audits = (
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "lists.build", AuditLog.actor_id == admin_id)
    )
    return db.session.scalar(jobs) or 0, db.session.scalar(audits) or 0


def test_two_clicks_at_once_open_one_build(app: Flask, committed_admin: tuple[int, str]) -> None:
    admin_id, email = committed_admin
    client = _signed_in(app, email)
    first, answer = _while_a_first_build_waits(app, admin_id, lambda: client.post("/admin/lists"))
    assert not isinstance(answer, Exception), answer
    assert answer.status_code == 302 and answer.headers["Location"] == f"/jobs/{first}"
    with app.app_context():
        assert _builds(admin_id) == (1, 1)
        db.session.remove()


def test_a_retry_of_a_failed_build_while_one_is_being_started_is_refused(
    app: Flask, committed_admin: tuple[int, str]
) -> None:
    admin_id, email = committed_admin
    with app.app_context():
        failed = Job(kind="lists.build", state="failed", params={"program": "NQ116"}, error="boom", created_by=admin_id)
        db.session.add(failed)
        db.session.commit()
        failed_id = failed.id
        db.session.remove()
    client = _signed_in(app, email)
    first, answer = _while_a_first_build_waits(
        app, admin_id, lambda: client.post(f"/jobs/{failed_id}/retry", follow_redirects=True)
    )
    assert not isinstance(answer, Exception), answer
    html = answer.get_data(as_text=True)
    assert f"Công việc số {first} cùng loại đang chờ hoặc đang chạy: không cần chạy lại công việc này." in html
    with app.app_context():
        assert _builds(admin_id) == (2, 1)  # the failed one and the click's; no retry
        assert db.session.get(Job, failed_id).result is None
        db.session.remove()
