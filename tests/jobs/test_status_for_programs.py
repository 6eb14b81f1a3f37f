"""The job's status URL that ``POST /api/v1/notices/batches`` names in its Location answers an API client's errors in
the API's JSON shape: 401 (with WWW-Authenticate) without a token or with a bad one, the same 404 ``not_found`` for
another user's job as for none; never the sign-in form's redirect or an HTML page. A browser (it carries the session
cookie) keeps the pages' answers. Real PostgreSQL, the real request path."""

from __future__ import annotations

from typing import Any

import pytest

from disburse.auth.service import create_token
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user
from tests.jobs.starts import today_in_vietnam


def _bearer(user: Any, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(user)}", **more}


@pytest.fixture
def started(app, client, db_session) -> tuple[str, Any]:
    """A caseworker of Đông Anh (017) started today's notices over the API: the Location, and the caseworker. (The
    ``client`` fixture makes every test client start each request with an empty ``g``, as real requests do.)"""
    starter = create_user("caseworker")
    answer = client.post(
        "/api/v1/notices/batches",
        json={"district": "017", "date": today_in_vietnam().isoformat()},
        headers=_bearer(starter),
    )
    assert answer.status_code == 202, answer.get_json()
    return answer.headers["Location"], starter


def _json_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.headers.get("Location"))
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["error"] == code and set(body) == {"error", "message", "fields"}
    return body


def test_the_location_answers_an_api_client_in_the_apis_error_shape(app, started):
    location, starter = started
    program = app.test_client()  # no cookie: a program

    followed = program.get(location, headers=_bearer(starter))
    assert followed.status_code == 200 and followed.get_json()["state"] == "queued"

    for headers in ({}, {"Authorization": "Bearer dsb_nothing"}):
        answer = program.get(location, headers={**headers, "Accept-Language": "en"})
        body = _json_error(answer, 401, "unauthorized")
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="disburse"'
        assert body["message"] == "Sign in or send an API token (Authorization: Bearer …)."

    # Another caseworker of the same district did not start it: the same 404 as a job that does not exist.
    other = create_user("caseworker")
    theirs = _json_error(program.get(location, headers=_bearer(other)), 404, "not_found")
    unknown = location.replace(location.split("/")[2], "987654321.json")
    assert theirs == _json_error(program.get(unknown, headers=_bearer(other)), 404, "not_found")
    assert _json_error(program.get(location, headers=_bearer(other, **{"Accept-Language": "vi"})), 404, "not_found")[
        "message"
    ] == ("Không tìm thấy.")


def test_the_jobs_other_urls_answer_a_program_with_a_token_or_asking_for_json_likewise(app, started):
    location, starter = started
    job_url = location.removesuffix(".json")
    program = app.test_client()
    other = create_user("caseworker")
    for url in (job_url, f"{job_url}/download"):
        _json_error(program.get(url, headers=_bearer(other)), 404, "not_found")
        _json_error(program.get(url, headers={"Authorization": "Bearer dsb_nothing"}), 401, "unauthorized")
        _json_error(program.get(url, headers={"Accept": "application/json"}), 401, "unauthorized")
    assert program.get(job_url, headers=_bearer(starter)).status_code == 200


def test_a_browser_keeps_the_pages_answers(app, started):
    location, _starter = started
    job_url = location.removesuffix(".json")
    browser = app.test_client()
    browser.get("/login")  # a browser holds the session cookie from its first page on, signed in or not
    for url in (location, job_url, f"{job_url}/download"):
        answer = browser.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login"), url
    sign_in(browser, create_user("caseworker", password=PASSWORD))
    for url in (location, job_url):
        answer = browser.get(url)
        assert answer.status_code == 404 and answer.mimetype == "text/html", url
