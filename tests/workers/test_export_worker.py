"""A dashboard table too large to download at once: the page's button starts a job, a real worker writes the file
into the export folder, and the job's result names it (the job page's download link reads it).

The worker and the app use the run's own Redis database (``own_redis_url``) while this runs: the session worker, on
the suite's database, would take the task first and find no export worker's queue."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from flask import Flask
from sqlalchemy import select

from disburse.background import QueueNames
from disburse.extensions import db
from disburse.jobs.models import Job
from disburse.runtime import celery_broker_url
from tests.celery_workers import start_worker, stop, wait_for_ping
from tests.e2e.conftest import Committed

pytestmark = pytest.mark.worker


@pytest.fixture
def exporter(app: Flask, database_url: str, own_redis_url: str) -> Iterator[None]:
    """A real worker on the reports queue, on the run's own Redis database (``own_redis_url``), where the app sends
    its tasks meanwhile."""
    url = own_redis_url
    client = redis.Redis.from_url(url)
    client.flushdb()
    celery: Celery = app.extensions["celery"]
    own = Celery("test-export-worker", broker=celery_broker_url(url), set_as_current=False)
    own.conf.update(task_routes=celery.conf.task_routes, task_queues=celery.conf.task_queues)
    app.extensions["celery"] = own
    proc = start_worker(database_url, url, QueueNames.REPORTS, "exporter")
    try:
        wait_for_ping(app, proc, "exporter")
        yield
    finally:
        stop(proc)
        app.extensions["celery"] = celery
        client.flushdb()
        client.close()


def test_a_large_export_is_written_by_a_worker(app, exporter, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_EXPORT_DIRECT_ROWS", 1)
    with app.app_context():
        made = Committed()
        written: Path | None = None
        try:
            units = [made.unit(district_code="017", name=f"Công ty Xuất {n}") for n in range(3)]
            for unit, states in zip(units, (("paid", "paid"), ("paid", "listed"), ("rejected",)), strict=True):
                for state in states:
                    made.claim(state, person={"employer_id": unit.id, "district_code": "017"})
            admin = made.user("admin")
            made.commit()
            client = app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = admin.get_id()
            url = "/dashboard/export?district=017&sort=percent_paid&order=desc&format=csv"
            assert 'method="post"' in client.get(url).get_data(as_text=True)
            started = client.post(url)
            assert started.status_code == 302
            job = db.session.scalar(select(Job).where(Job.created_by == admin.id))
            assert job is not None and job.kind == "export.dashboard"
            assert started.headers["Location"] == f"/jobs/{job.id}"
            deadline = time.monotonic() + 60
            while job.state in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.3)
                db.session.refresh(job)
            assert job.state == "succeeded", job.error
            assert job.result["filename"].startswith("tien-do-units-017-") and job.result["file"] == f"job-{job.id}.csv"
            written = Path(app.config["DISBURSE_EXPORT_DIR"]) / job.result["file"]
            rows = list(csv.reader(io.StringIO(written.read_text(encoding="utf-8-sig"))))
            ours = [row for row in rows[1:] if row[1].startswith("Công ty Xuất")]
            eligible, paid = rows[0].index("Đủ điều kiện / Eligible"), rows[0].index("Đã chi trả / Paid")
            assert [(row[1], row[eligible], row[paid]) for row in ours] == [
                ("Công ty Xuất 0", "2", "2"),
                ("Công ty Xuất 1", "2", "1"),
                ("Công ty Xuất 2", "0", "0"),
            ]
            assert job.total == job.done == len(rows) - 1
            with client.get(f"/jobs/{job.id}/download") as download:
                assert download.status_code == 200 and download.data == written.read_bytes()
                assert job.result["filename"] in download.headers["Content-Disposition"]
        finally:
            if written is not None:
                written.unlink(missing_ok=True)
            made.clean()
