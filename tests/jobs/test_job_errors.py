"""What a failed job's page says: an unexpected failure (a bug, a statement the database refused) tells anyone but an
admin only that the job failed, with its number, in the page's language; the exception's text (SQLAlchemy's carries
the statement and its parameters: people's data) is logged and shown to admins. An expected failure's words
(:class:`~disburse.jobs.service.JobFailed`) are shown to everyone as they are. Real PostgreSQL; the job is run by the
real task body, :func:`~disburse.jobs.service.run_job`."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import text

from disburse.extensions import db
from disburse.jobs import service as jobs
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user

#: Personal data a failing statement carries in its parameters.
PERSON = "Nguyễn Thị Hoa 001190012345"


def _crash(_job: Any, _progress: Any) -> dict[str, Any]:
    db.session.execute(text("SELECT CAST(:full_name AS integer)"), {"full_name": PERSON})
    return {}


#: The job each role starts (its kind and params, within the starter's scope).
STARTS = {
    "employer": lambda user: ("form02.upload", {"unit_code": _unit_code(user)}),
    "caseworker": lambda _user: ("notices.district_day", {"district": "017"}),
    "supervisor": lambda _user: ("export.dashboard", {}),  # a national supervisor's export
}


def _unit_code(user: Any) -> str:
    from disburse.registry.models import Employer

    employer = db.session.get(Employer, user.employer_id)
    assert employer is not None
    return employer.unit_code


@pytest.mark.parametrize("role", sorted(STARTS))
def test_an_unexpected_failure_shows_plain_words_but_to_admins(client, caplog, role):
    starter = create_user(role, password=PASSWORD)
    kind, params = STARTS[role](starter)
    job = jobs.create_job(kind, params, created_by=starter.id)
    db.session.commit()
    with caplog.at_level(logging.ERROR, logger="disburse.jobs.service"):
        jobs.run_job(job.id, kind.split(".")[0] + ".", _crash)
    assert job.state == "failed" and "DataError" in (job.error or "")
    assert f"job {job.id} failed" in caplog.text and "DataError" in caplog.text  # the details, for the operators

    for locale, words in (
        ("vi", f"Công việc số {job.id} bị lỗi. Hãy thử lại; nếu vẫn lỗi, hãy liên hệ bộ phận hỗ trợ"),
        ("en", f"Job {job.id} failed. Try again; if it fails again, contact support"),
    ):
        sign_in(client, starter, locale)
        page = client.get(f"/jobs/{job.id}")
        assert page.status_code == 200
        status = client.get(f"/jobs/{job.id}.json").get_json()
        for shown in (page.get_data(as_text=True), status["error"]):
            assert words in shown
            for secret in ("Nguyễn Thị Hoa", "001190012345", "SQL", "DataError", "integer", "sqlalche.me"):
                assert secret not in shown, (locale, secret)
        client.post("/logout")

    admin = create_user("admin", password=PASSWORD)
    sign_in(client, admin)
    error = client.get(f"/jobs/{job.id}.json").get_json()["error"]
    assert error.startswith("DataError: ") and "invalid input syntax for type integer" in error
    assert "DataError: " in client.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_an_expected_failures_words_are_shown_to_its_starter(client):
    starter = create_user("caseworker", password=PASSWORD)
    job = jobs.create_job("notices.district_day", {"district": "017"}, created_by=starter.id)
    db.session.commit()

    def refuse(_job: Any, _progress: Any) -> dict[str, Any]:
        raise jobs.JobFailed("Không có thông báo nào trong ngày.", "There is no notice that day.")

    jobs.run_job(job.id, "notices.", refuse)
    sign_in(client, starter, "en")
    assert client.get(f"/jobs/{job.id}.json").get_json()["error"] == "There is no notice that day."
    sign_in(client, starter, "vi")
    assert "Không có thông báo nào trong ngày." in client.get(f"/jobs/{job.id}").get_data(as_text=True)
