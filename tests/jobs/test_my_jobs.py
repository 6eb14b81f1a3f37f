"""A supervisor who asked for a large file and left its page finds it again: 'Tệp của tôi' (/jobs/mine) lists the
jobs they started, newest first, with their files; not a colleague's. The job's page names the kind in words and
goes back to the dashboard of the area the file is about."""

from __future__ import annotations

import re

from disburse.extensions import db
from disburse.jobs import service as jobs
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_a_supervisor_finds_the_files_they_asked_for_and_goes_back_to_the_dashboard(client, db_session):
    supervisor = create_user("supervisor", province="01", password=PASSWORD)
    colleague = create_user("supervisor", province="01", password=PASSWORD)
    older = jobs.create_job(
        "export.dashboard", {"province": "01", "district": None, "filename": "tinh-01.xlsx"}, created_by=supervisor.id
    )
    newer = jobs.create_job(
        "export.dashboard", {"province": "01", "district": "017", "filename": "dong-anh.xlsx"}, created_by=supervisor.id
    )
    theirs = jobs.create_job(
        "export.dashboard",
        {"province": "01", "district": None, "filename": "cua-nguoi-khac.xlsx"},
        created_by=colleague.id,
    )
    db.session.flush()
    sign_in(client, supervisor)

    home = client.get("/").get_data(as_text=True)
    assert 'href="/jobs/mine"' in home  # in the header, beside the dashboard
    listed = client.get("/jobs/mine")
    page = listed.get_data(as_text=True)
    assert listed.status_code == 200
    assert page.index(f'href="/jobs/{newer.id}"') < page.index(f'href="/jobs/{older.id}"')  # newest first
    assert "dong-anh.xlsx" in page and "tinh-01.xlsx" in page and f'href="/jobs/{theirs.id}"' not in page
    assert "Tệp tiến độ chi trả" in _text(listed) and "export.dashboard" not in page

    shown = client.get(f"/jobs/{newer.id}").get_data(as_text=True)
    assert "export.dashboard" not in shown  # the kind in words, not its code
    assert 'href="/dashboard/?district=017"' in shown and 'href="/jobs/mine"' in shown
    assert 'href="/dashboard/?province=01"' in client.get(f"/jobs/{older.id}").get_data(as_text=True)


def test_someone_without_jobs_is_told_so(client, db_session):
    sign_in(client, create_user("caseworker", district="017", password=PASSWORD))
    listed = client.get("/jobs/mine")
    assert listed.status_code == 200 and 'id="no-jobs"' in listed.get_data(as_text=True)
