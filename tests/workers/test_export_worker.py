"""A dashboard table too large to download at once: the page's button starts a job, a real worker writes the file
into the export folder, and the job's result names it (the job page's download link reads it)."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from disburse.extensions import db
from disburse.jobs.models import Job
from tests.e2e.conftest import Committed

pytestmark = pytest.mark.worker


def test_a_large_export_is_written_by_a_worker(app, celery_worker, monkeypatch):
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
            assert "method=\"post\"" in client.get(url).get_data(as_text=True)
            assert client.post(url).status_code == 302
            job = db.session.scalar(select(Job).where(Job.created_by == admin.id))
            assert job is not None and job.kind == "export.dashboard"
            deadline = time.monotonic() + 60
            while job.state in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.3)
                db.session.refresh(job)
            assert job.state == "succeeded", job.error
            assert job.result["filename"].startswith("tien-do-units-017-") and job.result["file"] == f"job-{job.id}.csv"
            written = Path(app.config["DISBURSE_EXPORT_DIR"]) / job.result["file"]
            rows = list(csv.reader(io.StringIO(written.read_text(encoding="utf-8-sig"))))
            ours = [row for row in rows[1:] if row[1].startswith("Công ty Xuất")]
            assert [(row[1], row[3], row[4]) for row in ours] == [
                ("Công ty Xuất 0", "2", "2"),
                ("Công ty Xuất 1", "2", "1"),
                ("Công ty Xuất 2", "0", "0"),
            ]
            assert job.total == job.done == len(rows) - 1
        finally:
            if written is not None:
                written.unlink(missing_ok=True)
            made.clean()
