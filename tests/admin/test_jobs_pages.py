"""A background job's page, its JSON, its download, the admins' list of jobs and the retry of a failed one (real
PostgreSQL; the retry's message is read back from real Redis)."""

from __future__ import annotations

import re

from disburse.auth.models import AuditLog
from disburse.background import QueueNames
from disburse.extensions import db
from disburse.jobs import service as jobs
from disburse.jobs.models import Job
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user
from tests.test_background import _waiting


def _job(user=None, **fields) -> Job:
    job = jobs.create_job(
        fields.pop("kind", "import.employees"), fields.pop("params", {}), created_by=user.id if user else None
    )
    for key, value in fields.items():
        setattr(job, key, value)
    db.session.flush()
    return job


def test_the_job_page_shows_kind_state_starter_and_a_progress_bar(admin_client, admin):
    job = _job(admin, state="running", done=12_345, total=80_000)
    page = admin_client.get(f"/jobs/{job.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"<title>Công việc số {job.id} · disburse</title>" in html
    assert "Nhập danh sách người lao động" in html and "Đang chạy" in html and admin.email in html
    assert re.search(r'<progress class="bar" id="job-progress"[^>]* max="80000" value="12345"', html)
    assert "12.345 / 80.000 dòng (15,4%)" in html
    assert "jobs.js" in html  # the progress moves without a reload

    status = admin_client.get(f"/jobs/{job.id}.json").get_json()
    assert status["state"] == "running" and (status["done"], status["total"]) == (12_345, 80_000)
    assert status["text"] == "12.345 / 80.000 dòng (15,4%)" and status["finished"] is False

    sign_in(admin_client, admin, "en")
    html = admin_client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "12,345 / 80,000 rows (15.4%)" in html and "Import of employees" in html and "Running" in html


def test_a_failed_job_shows_its_error_in_the_pages_language(admin_client, admin):
    failure = jobs.JobFailed("Tệp không dùng được", "The file cannot be used", {"rejected": 3})
    job = _job(admin, state="running")
    jobs.fail(job.id, failure.message, failure.result)
    assert job.error == "Tệp không dùng được / The file cannot be used"  # both, for logs and API clients
    crashed = _job(admin, state="running")
    jobs.fail(crashed.id, "ValueError: bad")  # an unexpected error: its technical text as it is

    for locale, words, other in (("vi", "Tệp không dùng được", "The file"), ("en", "The file cannot be used", "Tệp")):
        sign_in(admin_client, admin, locale)
        html = admin_client.get(f"/jobs/{job.id}").get_data(as_text=True)
        assert ("Bị lỗi" if locale == "vi" else "Failed") in html
        assert words in html and other not in html
        assert admin_client.get(f"/jobs/{job.id}.json").get_json()["error"] == words
        assert "ValueError: bad" in admin_client.get(f"/jobs/{crashed.id}").get_data(as_text=True)


def test_only_the_starter_within_the_jobs_scope_and_admins_see_a_job(client, db_session):
    """The starter while the job's district is theirs (tests/jobs/test_job_scope.py moves them elsewhere); a job
    about the whole country, such as an import, only admins and national supervisors who started it."""
    starter = create_user("caseworker", password=PASSWORD)  # Đông Anh, 017
    other = create_user("caseworker", password=PASSWORD)
    job = _job(starter, kind="notices.district_day", params={"district": "017"}, state="succeeded", done=3, total=3)
    national = _job(starter, state="succeeded")  # an import: about the whole country
    sign_in(client, other)
    for url in (f"/jobs/{job.id}", f"/jobs/{job.id}.json", f"/jobs/{job.id}/download"):
        assert client.get(url).status_code == 404, url
    client.post("/logout")
    sign_in(client, starter)
    assert client.get(f"/jobs/{job.id}").status_code == 200
    assert client.get(f"/jobs/{job.id}.json").status_code == 200
    assert client.get(f"/jobs/{national.id}").status_code == 404
    assert client.get("/jobs/").status_code == 403  # the list is the admins'


def test_the_download_serves_the_file_of_the_result_and_nothing_outside_the_folder(admin_client, admin, folders):
    folders["exports"].mkdir()
    (folders["exports"] / "bao-cao.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (folders["exports"].parent / "secret.txt").write_text("no", encoding="utf-8")
    job = _job(admin, state="succeeded", result={"file": "bao-cao.csv", "filename": "Báo cáo.csv"})
    page = admin_client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f'href="/jobs/{job.id}/download"' in page and "Báo cáo.csv" in page
    with admin_client.get(f"/jobs/{job.id}/download") as answer:
        assert answer.status_code == 200 and answer.data == b"a,b\n1,2\n"
        assert "attachment" in answer.headers["Content-Disposition"]
    assert admin_client.get(f"/jobs/{job.id}.json").get_json()["download"] == f"/jobs/{job.id}/download"

    for name in ("../secret.txt", str(folders["exports"].parent / "secret.txt"), "", "missing.csv", "."):
        bad = _job(admin, state="succeeded", result={"file": name, "filename": "x.csv"})
        assert admin_client.get(f"/jobs/{bad.id}/download").status_code == 404, name
        assert 'id="job-download" hidden' in admin_client.get(f"/jobs/{bad.id}").get_data(as_text=True), name
        assert admin_client.get(f"/jobs/{bad.id}.json").get_json()["download"] is None, name


def test_the_list_filters_by_state_and_kind_newest_first_in_pages(admin_client, admin, monkeypatch):
    from disburse.jobs import views

    monkeypatch.setattr(views, "PAGE", 2)
    made = [_job(admin, kind="lists.build", state="failed", error="x") for _ in range(3)]
    other = _job(admin, kind="import.employers", state="succeeded")
    html = admin_client.get("/jobs/?state=failed&kind=lists.build").get_data(as_text=True)
    shown = [int(n) for n in re.findall(r'<td><a href="/jobs/(\d+)">', html)]
    assert shown == [made[2].id, made[1].id] and other.id not in shown
    assert "Lập danh sách Mẫu số 01" in html
    following = re.search(r'href="(/jobs/\?[^"]*before=\d+[^"]*)" rel="next"', html)
    assert following
    html = admin_client.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert [int(n) for n in re.findall(r'<td><a href="/jobs/(\d+)">', html)] == [made[0].id]

    bad = admin_client.get("/jobs/?state=exploded")
    assert bad.status_code == 400 and "Hãy chọn một trong các lựa chọn có trên trang." in bad.get_data(as_text=True)
    sign_in(admin_client, admin, "en")
    bad = admin_client.get("/jobs/?state=exploded")
    assert bad.status_code == 400 and "Choose one of the options on the page." in bad.get_data(as_text=True)


def test_retry_runs_the_same_task_as_a_new_job_linked_to_the_old(admin_client, admin, broker, tmp_path):
    upload = tmp_path / "nv.csv"
    upload.write_text("si_code\n", encoding="utf-8")
    failed = _job(
        admin, kind="import.employees", params={"path": str(upload), "strict": False}, state="failed", error="boom"
    )
    db.session.commit()
    page = admin_client.get(f"/jobs/{failed.id}").get_data(as_text=True)
    assert f'action="/jobs/{failed.id}/retry"' in page

    answer = admin_client.post(f"/jobs/{failed.id}/retry")
    assert answer.status_code == 302
    new = db.session.query(Job).filter(Job.params["retry_of"].astext == str(failed.id)).one()
    assert answer.headers["Location"] == f"/jobs/{new.id}"
    assert (new.kind, new.state, new.params["path"], new.created_by) == (
        "import.employees",
        "queued",
        str(upload),
        admin.id,
    )
    db.session.refresh(failed)
    assert failed.result == {"retried_by": new.id}
    assert _waiting(broker, QueueNames.IMPORTS) == [("imports.run", [new.id])]
    entry = db.session.query(AuditLog).filter_by(action="job.retry", object_id=str(failed.id)).one()
    assert entry.actor_id == admin.id and entry.data == {"new_job": new.id, "kind": "import.employees"}

    # A second retry of the same job, and a retry of a job that did not fail, are refused and change nothing.
    again = admin_client.post(f"/jobs/{failed.id}/retry", follow_redirects=True)
    assert f"Công việc này đã được chạy lại (công việc số {new.id})." in again.get_data(as_text=True)
    refused = admin_client.post(f"/jobs/{new.id}/retry", follow_redirects=True)
    assert "Chỉ chạy lại được công việc bị lỗi." in refused.get_data(as_text=True)
    assert _waiting(broker, QueueNames.IMPORTS) == [("imports.run", [new.id])]
    assert db.session.query(Job).filter(Job.params["retry_of"].isnot(None)).count() == 1
    # The old job's page no longer offers it, and links to the job that ran it again, as the list does.
    page = admin_client.get(f"/jobs/{failed.id}").get_data(as_text=True)
    assert f'action="/jobs/{failed.id}/retry"' not in page
    assert f'id="job-retried">Công việc này đã được chạy lại: <a href="/jobs/{new.id}">' in page
    listed = admin_client.get("/jobs/?state=failed").get_data(as_text=True)
    assert f'đã chạy lại: <a href="/jobs/{new.id}">số {new.id}</a>' in listed


def test_retry_of_a_lists_build_sends_its_programme(admin_client, admin, broker):
    failed = _job(admin, kind="lists.build", params={"program": "NQ116"}, state="failed", error="boom")
    db.session.commit()
    assert admin_client.post(f"/jobs/{failed.id}/retry").status_code == 302
    new_id = db.session.get(Job, failed.id).result["retried_by"]
    assert _waiting(broker, QueueNames.REPORTS) == [("lists.build", ["NQ116", new_id])]


def test_an_import_whose_file_is_gone_is_not_retried(admin_client, admin, broker, tmp_path):
    failed = _job(admin, params={"path": str(tmp_path / "gone.csv")}, state="failed", error="boom")
    db.session.commit()
    page = admin_client.get(f"/jobs/{failed.id}").get_data(as_text=True)
    assert f'action="/jobs/{failed.id}/retry"' not in page  # not offered: said why, before any click
    assert 'id="job-upload-gone"' in page and "muốn chạy lại, hãy tải tệp lên lại" in page
    html = admin_client.post(f"/jobs/{failed.id}/retry", follow_redirects=True).get_data(as_text=True)
    assert "Tệp đã tải lên không còn trên máy chủ: hãy tải tệp lên lại." in html
    assert broker.llen(QueueNames.IMPORTS) == 0
    sign_in(admin_client, admin, "en")
    html = admin_client.post(f"/jobs/{failed.id}/retry", follow_redirects=True).get_data(as_text=True)
    assert "The uploaded file is no longer on the server: upload it again." in html


def test_the_jobs_list_says_none_yet_without_filters_and_none_match_with_them(admin_client, admin):
    db.session.execute(Job.__table__.delete())  # rolled back with the test
    html = admin_client.get("/jobs/").get_data(as_text=True)
    assert '<p id="no-jobs">Chưa có công việc chạy nền nào.</p>' in html and "khớp bộ lọc" not in html
    _job(admin, state="running")
    html = admin_client.get("/jobs/?state=failed").get_data(as_text=True)
    assert "Không có công việc nào khớp bộ lọc." in html and "no-jobs" not in html
    sign_in(admin_client, admin, "en")
    db.session.execute(Job.__table__.delete())
    html = admin_client.get("/jobs/").get_data(as_text=True)
    assert "There are no background jobs yet." in html and "No job matches the filters." not in html
