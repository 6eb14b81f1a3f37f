"""Uploaded registry files and exported files hold people's names, IDs and accounts: beat's ``sweepers.files`` deletes
those older than ``DISBURSE_FILE_RETENTION_DAYS``, never one a queued or running job still uses, never a link or what
it points to; the job's page then says the file was deleted, and a retry asks for the file again."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from disburse.extensions import db
from disburse.jobs import service as jobs
from disburse.jobs.models import Job
from tests.admin.test_imports import _csv, _upload
from tests.registry.test_import_support import employer_row
from workers.imports import run_import

DAY = 86400


def _age(path: Path, days: float) -> None:
    moment = time.time() - days * DAY
    os.utime(path, (moment, moment), follow_symlinks=False)


def _import(client, rows) -> Job:
    answer = _upload(client, _csv(rows), "don-vi.csv")
    job_id = int(re.fullmatch(r"/jobs/(\d+)", answer.headers["Location"]).group(1))
    return db.session.get(Job, job_id)


def test_files_past_their_retention_are_deleted_and_the_pages_say_so(admin_client, app, folders, broker):
    days = app.config["DISBURSE_FILE_RETENTION_DAYS"]
    finished = _import(admin_client, [employer_row(), employer_row(sector="bank")])  # one row refused: a file
    run_import(finished.id)
    db.session.expire_all()
    upload, refused_rows = Path(finished.params["path"]), folders["exports"] / finished.result["file"]
    waiting = _import(admin_client, [employer_row()])  # queued: its worker has not read it yet
    waiting_upload = Path(waiting.params["path"])
    fresh = folders["uploads"] / "fresh.csv"
    fresh.write_text("si_code\n")
    outside = folders["uploads"].parent / "elsewhere.csv"
    outside.write_text("not ours\n")
    link = folders["exports"] / "link.csv"
    link.symlink_to(outside)
    for path in (upload, refused_rows, waiting_upload, outside, link):
        _age(path, days + 1)
    _age(fresh, days - 1)

    assert jobs.delete_old_files() == 2
    assert not upload.exists() and not refused_rows.exists()
    assert waiting_upload.exists() and fresh.exists()  # in use; not old enough
    assert link.is_symlink() and outside.read_text() == "not ours\n"  # never a link, nor what it points to
    assert refused_rows.parent.is_dir()  # the folders stay

    html = admin_client.get(f"/jobs/{finished.id}").get_data(as_text=True)
    assert 'id="job-download" hidden' in html
    assert f"Tệp kết quả đã được xoá sau {days} ngày" in html
    assert admin_client.get(f"/jobs/{finished.id}/download").status_code == 404
    assert jobs.delete_old_files() == 0  # nothing left to do


def test_a_failed_import_whose_file_was_deleted_asks_for_the_file_again(admin_client, app, folders, broker):
    job = _import(admin_client, [employer_row()])
    job.state = "failed"
    db.session.commit()
    _age(Path(job.params["path"]), app.config["DISBURSE_FILE_RETENTION_DAYS"] + 1)
    assert jobs.delete_old_files() == 1
    answer = admin_client.post(f"/jobs/{job.id}/retry", follow_redirects=True)
    assert "Tệp đã tải lên không còn trên máy chủ: hãy tải tệp lên lại." in answer.get_data(as_text=True)
    assert db.session.query(Job).filter(Job.params["retry_of"].astext == str(job.id)).count() == 0
