"""``notifications.send`` in a real Celery worker process, on real Redis, to a real SMTP server: the message queued
by a commit is delivered once however often the task runs; a worker killed after the server took a message and
before it recorded it leaves the row queued, and the next worker sends it again with the same Message-ID."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import redis
from celery import Celery
from flask import Flask
from sqlalchemy import select, text

from disburse.background import QueueNames
from disburse.extensions import db
from disburse.notifications import service
from disburse.notifications.models import Notification
from disburse.programs.calendar import programme_today
from disburse.runtime import celery_broker_url
from tests.celery_workers import start_worker, stop, wait_for_ping
from tests.e2e.conftest import Committed
from tests.factories import nq116
from tests.notifications.conftest import Mailbox
from tests.workers.conftest import session_worker_paused  # noqa: F401 - the fixture, for this module

# The session worker (tests/real_worker.py) shares the test database and would deliver these tests' rows too, by
# the Test configuration's .eml files, whenever a notifications.send from another test reaches it: held still here.
pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("session_worker_paused")]


def _until(check: Callable[[], Any], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"not within {seconds} s")


@pytest.fixture
def notifier(
    app: Flask, database_url: str, own_redis_url: str, smtp_server: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], Any]]:
    """Start workers on the notifications queue of the run's own Redis, sending to the test's SMTP server."""
    _mailbox, port = smtp_server
    client = redis.Redis.from_url(own_redis_url)
    client.flushdb()
    celery: Celery = app.extensions["celery"]
    own = Celery("test-notifier", broker=celery_broker_url(own_redis_url), set_as_current=False)
    own.conf.update(task_routes=celery.conf.task_routes, task_queues=celery.conf.task_queues)
    app.extensions["celery"] = own
    for name, value in {
        "DISBURSE_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "DISBURSE_MAIL_FROM": "BHXH <no-reply@bhxh.example.vn>",
        "DISBURSE_BASE_URL": "https://chitra.example.vn",
    }.items():
        monkeypatch.setenv(name, value)
    procs = []

    def start() -> Any:
        proc = start_worker(database_url, own_redis_url, QueueNames.NOTIFICATIONS, f"notifier{len(procs)}")
        procs.append(proc)
        wait_for_ping(app, proc, f"notifier{len(procs) - 1}")
        return proc

    try:
        yield start
    finally:
        for proc in procs:
            stop(proc)
        app.extensions["celery"] = celery
        client.flushdb()
        client.close()


@pytest.fixture
def made(app: Flask) -> Iterator[Committed]:
    with app.app_context():
        made = Committed()
        try:
            yield made
        finally:
            made.clean()  # the employers' notifications go with them (ON DELETE CASCADE)


def _row(key_unit: str) -> Notification | None:
    db.session.rollback()
    return db.session.scalar(select(Notification).where(Notification.key.contains(key_unit)))


def test_a_committed_notification_is_sent_once_by_the_worker_however_often_it_runs(app, made, notifier, smtp_server):
    mailbox, _ = smtp_server
    unit = made.unit(email="ketoan@congty.example.vn")
    made.claim("listed", person={"employer_id": unit.id}, review_due_on=date(2021, 10, 29))
    made.commit()
    notifier()
    service.queue_list_ready(nq116(), {unit.id}, programme_today())
    db.session.commit()  # sends notifications.send after the commit
    _until(lambda: mailbox.received)
    row = _until(lambda: (r := _row(unit.unit_code)) and r.state == "sent" and r)
    for _ in range(3):  # beat again and again
        app.extensions["celery"].send_task("notifications.send")
    service.queue_list_ready(nq116(), {unit.id}, programme_today())  # the same news again: no row
    db.session.commit()
    time.sleep(3)
    assert len(mailbox.received) == 1 and row.attempts == 1
    assert db.session.scalar(text("SELECT count(*) FROM notifications WHERE employer_id = :id"), {"id": unit.id}) == 1
    body = mailbox.received[0].get_content()
    assert "Mẫu số 02" in body and "Form 02" in body and f"/employers/{unit.unit_code}/form-02" in body


def test_a_worker_killed_between_the_send_and_its_record_is_followed_by_a_resend_with_the_same_id(
    app, made, notifier, smtp_server
):
    mailbox, _ = smtp_server
    mailbox.hold_s = 10  # the server has the message; the worker waits for its "250"
    unit = made.unit(email="ketoan@congty.example.vn")
    made.claim("listed", person={"employer_id": unit.id}, review_due_on=date(2021, 10, 29))
    made.commit()
    first = notifier()
    service.queue_list_ready(nq116(), {unit.id}, programme_today())
    db.session.commit()
    _until(lambda: mailbox.received)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    row = _row(unit.unit_code)
    assert row is not None and row.state == "queued" and row.attempts == 0  # never recorded

    mailbox.hold_s = 0
    db.session.execute(text("UPDATE notifications SET next_attempt_at = now() WHERE id = :id"), {"id": row.id})
    db.session.commit()  # the lease of the dead worker ran out
    notifier()
    app.extensions["celery"].send_task("notifications.send")  # beat's next minute
    _until(lambda: len(mailbox.received) == 2)
    _until(lambda: (r := _row(unit.unit_code)) and r.state == "sent")
    assert mailbox.received[0]["Message-ID"] == mailbox.received[1]["Message-ID"]
