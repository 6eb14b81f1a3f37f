"""No background job stays "running" or "queued" for ever: ``fail_abandoned`` (beat's ``sweepers.jobs``) fails a job
whose process died, and leaves a job that is still being run alone, however quiet it is.

The job runs in a real second process (our ``run_job`` around work that sleeps), which the test kills with SIGKILL
as a crash or an out-of-memory kill would. The job rows are committed for real (the other process must see them)
and removed at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from disburse.extensions import db
from disburse.jobs.service import ABANDONED, NEVER_STARTED, fail_abandoned, run_job

# The job's work sleeps: a long import step that reports no progress for a while.
RUNNER = """
import sys, time
from disburse import create_app
from disburse.jobs.service import run_job
app = create_app()
with app.app_context():
    run_job(int(sys.argv[1]), "test.", lambda job, progress: time.sleep(600) or {})
"""


@pytest.fixture
def committed_jobs(app: Flask) -> Iterator[Callable[..., int]]:
    """Make committed job rows (``state``, created ``age_s`` ago); they are removed afterwards."""
    made: list[int] = []

    def make(state: str = "queued", age_s: float = 0.0) -> int:
        with app.app_context():
            job_id = db.session.execute(
                text(
                    """INSERT INTO jobs (kind, state, created_at)
                       VALUES ('test.sleep', :state, now() - make_interval(secs => :age)) RETURNING id"""
                ),
                {"state": state, "age": age_s},
            ).scalar_one()
            db.session.commit()
        made.append(job_id)
        return job_id

    yield make
    with app.app_context():
        db.session.execute(text("DELETE FROM jobs WHERE id = ANY(:ids)"), {"ids": made})
        db.session.commit()
        db.session.remove()


def _job(app: Flask, job_id: int) -> tuple[str, str | None]:
    with app.app_context():
        row = db.session.execute(text("SELECT state, error FROM jobs WHERE id = :id"), {"id": job_id}).one()
        db.session.remove()
    return row.state, row.error


def _lock_held(app: Flask, job_id: int) -> bool:
    with app.app_context():
        held = db.session.execute(
            text(
                """SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted
                   AND classid = hashtext('disburse.job')::oid AND objid = :id
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"""
            ),
            {"id": job_id},
        ).scalar_one()
        db.session.remove()
    return bool(held)


def _sweep(app: Flask, **limits: float) -> list[int]:
    with app.app_context():
        failed = fail_abandoned(**limits)
        db.session.commit()
        db.session.remove()
    return failed


@pytest.fixture
def running_job(app: Flask, database_url: str, redis_url: str, committed_jobs) -> Iterator[tuple[int, Any]]:
    """A job being run by another process, which holds its running lock."""
    job_id = committed_jobs()
    env = {**os.environ, "DISBURSE_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(job_id)], env=env)  # noqa: S603 - our interpreter
    try:
        deadline = time.monotonic() + 60
        while not (_job(app, job_id)[0] == "running" and _lock_held(app, job_id)):
            assert proc.poll() is None, f"the job's process exited with {proc.returncode}"
            assert time.monotonic() < deadline, "the job did not start within 60 s"
            time.sleep(0.2)
        yield job_id, proc
    finally:
        proc.kill()
        proc.wait()


def test_a_job_still_being_run_is_left_alone_however_quiet(app, running_job):
    job_id, proc = running_job
    assert job_id not in _sweep(app, running_grace_s=0)
    assert _job(app, job_id) == ("running", None)
    assert proc.poll() is None


def test_a_job_whose_process_died_is_failed_with_a_message_and_a_late_delivery_does_nothing(app, running_job):
    job_id, proc = running_job
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10  # PostgreSQL ends the dead process's connections, and their locks, at once
    while _lock_held(app, job_id):
        assert time.monotonic() < deadline, "the dead process's lock outlived it"
        time.sleep(0.1)
    assert job_id not in _sweep(app, running_grace_s=3600), "a fresh heartbeat is within its grace"
    assert _sweep(app, running_grace_s=0) == [job_id]
    assert _job(app, job_id) == ("failed", " / ".join(ABANDONED))

    with app.app_context():  # the task delivered again (acks_late) finds the job failed and does nothing
        run_job(job_id, "test.", lambda job, progress: pytest.fail("an abandoned job ran again"))
        db.session.remove()
    assert _job(app, job_id) == ("failed", " / ".join(ABANDONED))
    assert _sweep(app, running_grace_s=0) == [], "failed once"


def test_a_job_whose_task_was_lost_is_failed_after_waiting_too_long(app, committed_jobs):
    lost, waiting = committed_jobs(age_s=7 * 3600), committed_jobs(age_s=60)
    assert _sweep(app) == [lost]
    assert _job(app, lost) == ("failed", " / ".join(NEVER_STARTED))
    assert _job(app, waiting) == ("queued", None)


def test_a_job_run_to_its_end_lets_go_of_its_lock(app, committed_jobs):
    job_id = committed_jobs()
    with app.app_context():
        run_job(job_id, "test.", lambda job, progress: {"rows": 1})
        db.session.remove()
    assert _job(app, job_id) == ("succeeded", None)
    assert not _lock_held(app, job_id)
