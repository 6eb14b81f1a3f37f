"""A job whose task the broker refuses after the job's commit: the request answers as it does when all is well (the
job, queued, committed), never "nothing was done" (a client would submit again and make a second job); beat's
``sweepers.jobs`` sends the task again once the job has waited a minute and its queue holds no message, and the job
runs. Real PostgreSQL, real Redis (a dead one for the broker that refuses), the real task bodies."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import func, select, text

from disburse.auth.service import create_token
from disburse.background import QueueNames
from disburse.extensions import db
from disburse.jobs.models import Job
from tests.admin.conftest import PASSWORD, sign_in
from tests.apps import broker_down
from tests.factories import create_user
from tests.jobs.starts import FORM_02_DAY, refuse_someone, today_in_vietnam
from tests.jobs.test_downloads import KINDS
from tests.test_background import _waiting
from workers.notices import district_day_notices
from workers.sweepers import jobs as sweep_jobs

REFUSED = "could not send task notices.district_day; a sweeper will find its work"


@pytest.fixture
def caseworker(db_session):
    user = create_user("caseworker")  # Đông Anh, 017
    yield user, {"Authorization": f"Bearer {create_token(user)}"}
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM idempotency_keys WHERE caller = :c"), {"c": f"user:{user.id}"})


def test_the_api_answers_202_with_the_job_and_a_retry_with_its_key_makes_no_second_job(
    app, client, db_session, broker, dead_redis_url, caseworker, folders, caplog
):
    caplog.set_level(logging.WARNING, logger="disburse.background")
    user, auth = caseworker
    refuse_someone("017")
    headers = {**auth, "Idempotency-Key": str(uuid.uuid4())}
    body = {"district": "017", "date": today_in_vietnam().isoformat()}
    with broker_down(app, dead_redis_url):
        first = client.post("/api/v1/notices/batches", json=body, headers=headers)
        again = client.post("/api/v1/notices/batches", json=body, headers=headers)

    assert first.status_code == 202, first.get_json()
    job_id = first.get_json()["job_id"]
    assert first.get_json() == {"job_id": job_id, "kind": "notices.district_day", "state": "queued"}
    assert again.status_code == 202 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Job).where(Job.created_by == user.id)) == 1
    assert [r.getMessage() for r in caplog.records].count(REFUSED) == 1
    assert broker.llen(QueueNames.REPORTS) == 0

    sweep_jobs()  # the job has just been made: its task may be on its way
    assert broker.llen(QueueNames.REPORTS) == 0
    db_session.execute(
        text("UPDATE jobs SET created_at = created_at - interval '2 minutes' WHERE id = :id"), {"id": job_id}
    )
    sweep_jobs()
    assert _waiting(broker, QueueNames.REPORTS) == [("notices.district_day", [job_id])]
    sweep_jobs()  # its message waits in the queue: not sent twice
    assert broker.llen(QueueNames.REPORTS) == 1

    district_day_notices(job_id)  # the worker takes it
    job = db_session.get(Job, job_id)
    db_session.refresh(job)
    assert job.state == "succeeded" and job.result["notices"] == 1


@pytest.mark.parametrize("prefix", sorted(KINDS))
def test_every_way_to_start_a_job_answers_as_usual_when_the_broker_refuses_its_task(
    app, client, folders, broker, exports_by_job, dead_redis_url, monkeypatch, prefix
):
    """The page, the API or the command that starts each kind of job (tests/jobs/starts.py) gets its usual answer;
    the task body then runs the job."""
    monkeypatch.setitem(app.config, "DISBURSE_FORM_02_INLINE_BYTES", 0)
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", FORM_02_DAY)
    admin = create_user("admin", password=PASSWORD)
    refuse_someone("017", "Trần Văn Bình")
    sign_in(client, admin)
    with broker_down(app, dead_redis_url):
        job_id = KINDS[prefix].start(client, admin)
    job = db.session.get(Job, job_id)
    db.session.refresh(job)
    assert job.kind.startswith(prefix) and job.state == "succeeded", job.error
