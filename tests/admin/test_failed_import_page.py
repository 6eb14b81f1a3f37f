"""The page of an import that failed: it says plainly that nothing was imported, with no progress bar (a CSV not in
UTF-8 showed "1 / 2 dòng (50,0%)" and a green bar, from the reader's estimate, for a file of one data row); a failure
in the file itself (not UTF-8, rows refused with "import nothing if any row is refused") offers a corrected file's
upload instead of running the job again, which could only fail the same way; a failure that was not the file's (the
worker lost, a database error) keeps "run again". The import runs in process, as the other import tests do."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import UTC, datetime

import pytest

from disburse.background import QueueNames
from disburse.extensions import db
from disburse.jobs import service as jobs
from disburse.jobs.models import Job
from tests.admin.conftest import sign_in
from tests.registry.test_import_support import employer_row
from tests.test_background import _waiting
from workers.imports import run_import

RETRY_BUTTON = "Chạy lại công việc này"


def _csv(rows: list[dict[str, str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    # Windows' Vietnamese code page has the base letters and the tone marks, not every composed letter.
    return unicodedata.normalize("NFD", out.getvalue()).encode(encoding, errors="replace")


def _imported(client, content: bytes, **extra: str) -> int:
    answer = client.post(
        "/admin/imports",
        data={"kind": "employers", "file": (io.BytesIO(content), "don-vi.csv"), **extra},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    job_id = int(re.fullmatch(r"/jobs/(\d+)", answer.headers["Location"]).group(1))
    run_import(job_id)
    db.session.expire_all()
    return job_id


def _main(html: str) -> str:
    return html.split("<main", 1)[1]


@pytest.mark.parametrize(
    ("content", "extra", "says"),
    [
        (_csv([employer_row(name="Công ty TNHH Hồng Hà")], "cp1258"), {}, "Tệp không được mã hoá UTF-8"),
        (_csv([employer_row(), employer_row(sector="bank")]), {"strict": "y"}, "1 dòng bị từ chối"),
    ],
    ids=["not-utf-8", "strict"],
)
def test_a_failure_in_the_file_says_nothing_was_imported_and_offers_a_corrected_file(
    admin_client, admin, folders, broker, content, extra, says
):
    job_id = _imported(admin_client, content, **extra)
    job = db.session.get(Job, job_id)
    assert job.state == "failed" and jobs.failed_on_its_file(job) and not jobs.can_retry(job)

    html = _main(admin_client.get(f"/jobs/{job_id}").get_data(as_text=True))
    assert says in html
    assert '<p id="job-nothing-saved">Không dòng nào được nhập.</p>' in html
    assert "<progress" not in html and not re.search(r"\d+ / \d+ dòng", html) and "%)" not in html
    assert RETRY_BUTTON not in html and f'action="/jobs/{job_id}/retry"' not in html
    assert re.search(r'<p id="job-fix-file">[^<]*<a href="/admin/imports">Tải lên tệp đã sửa</a>', html)
    status = admin_client.get(f"/jobs/{job_id}.json").get_json()
    assert (status["text"], status["percent"]) == ("Không dòng nào được nhập.", None)

    sign_in(admin_client, admin, "en")
    html = _main(admin_client.get(f"/jobs/{job_id}").get_data(as_text=True))
    assert '<p id="job-nothing-saved">Nothing was imported.</p>' in html and "<progress" not in html
    assert '<a href="/admin/imports">Upload the corrected file</a>' in html and "Run this job again" not in html

    # Run again anyway (a page open from before): refused, nothing queued but the upload's own task (run above).
    sign_in(admin_client, admin)
    refused = admin_client.post(f"/jobs/{job_id}/retry", follow_redirects=True).get_data(as_text=True)
    assert "Lỗi nằm ở chính tệp nên chạy lại cũng lỗi như vậy: hãy sửa tệp rồi tải lên lại." in refused
    assert _waiting(broker, QueueNames.IMPORTS) == [("imports.run", [job_id])]


def _running_import(admin, folders) -> Job:
    """An import job of a good file that a worker has started and read half of."""
    folders["uploads"].mkdir(parents=True, exist_ok=True)
    upload = folders["uploads"] / "don-vi.csv"
    upload.write_bytes(_csv([employer_row(), employer_row()]))
    job = jobs.create_job("import.employers", {"path": str(upload), "strict": False}, created_by=admin.id)
    job.state, job.done, job.total = "running", 1, 2
    job.started_at = job.heartbeat_at = datetime(2021, 10, 15, 8, 0, tzinfo=UTC)
    db.session.flush()
    return job


@pytest.mark.parametrize("how", ["worker lost", "database error"])
def test_a_failure_that_was_not_the_files_says_nothing_was_imported_and_offers_to_run_again(
    admin_client, admin, folders, broker, how
):
    job = _running_import(admin, folders)
    if how == "worker lost":
        assert job.id in jobs.fail_abandoned()  # its running lock is free and its heartbeat old: the sweeper's
    else:
        jobs.fail(job.id, "OperationalError: server closed the connection unexpectedly")
    db.session.commit()
    db.session.expire_all()
    assert not jobs.failed_on_its_file(job) and jobs.can_retry(job)

    html = _main(admin_client.get(f"/jobs/{job.id}").get_data(as_text=True))
    assert '<p id="job-nothing-saved">Không dòng nào được nhập.</p>' in html
    assert "<progress" not in html and "1 / 2 dòng" not in html
    assert RETRY_BUTTON in html and 'id="job-fix-file"' not in html
    listed = admin_client.get("/jobs/?state=failed").get_data(as_text=True)
    row = re.search(rf'<tr>\s*<td><a href="/jobs/{job.id}">.*?</tr>', listed, re.S).group(0)
    assert '<td class="num">—</td>' in row and "1 / 2" not in row
    assert admin_client.post(f"/jobs/{job.id}/retry").status_code == 302
    assert db.session.get(Job, job.id).result["retried_by"]


def test_a_failed_job_of_another_kind_says_nothing_was_saved(admin_client, admin):
    job = jobs.create_job("lists.build", {"program": "NQ116"}, created_by=admin.id)
    job.state, job.done, job.total = "running", 40, 100
    db.session.flush()
    jobs.fail(job.id, "OperationalError: server closed the connection unexpectedly")
    html = _main(admin_client.get(f"/jobs/{job.id}").get_data(as_text=True))
    assert '<p id="job-nothing-saved">Không có gì được ghi.</p>' in html and "<progress" not in html
    assert "40 / 100" not in html and RETRY_BUTTON in html
