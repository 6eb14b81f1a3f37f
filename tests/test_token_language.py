"""A program calling with an API token is answered in its Accept-Language everywhere the API sends it, not in its
user's page language: a job's progress at /jobs/<id>.json (where the API sends a client to follow the job it
started) came back "Đã xếp hàng" to a client asking for English."""

from __future__ import annotations

from disburse.auth.service import create_token
from disburse.extensions import db
from disburse.jobs.service import create_job
from tests.factories import create_user


def test_a_jobs_progress_follows_the_token_callers_accept_language(client, db_session):
    """(``client`` starts each request with an empty ``g``, as real requests do: the locale is chosen again.)"""
    user = create_user("caseworker", district="017")
    user.locale = "vi"  # the user's pages are in Vietnamese
    token = create_token(user)
    job = create_job("notices.batch", {"district": "017"}, created_by=user.id)
    db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    english = client.get(f"/jobs/{job.id}.json", headers=bearer | {"Accept-Language": "en"})
    vietnamese = client.get(f"/jobs/{job.id}.json", headers=bearer)
    assert english.status_code == vietnamese.status_code == 200
    assert english.json["state"] == vietnamese.json["state"] == "queued"
    assert english.json["state_label"] != vietnamese.json["state_label"]
    assert english.json["state_label"].isascii() and not vietnamese.json["state_label"].isascii()
