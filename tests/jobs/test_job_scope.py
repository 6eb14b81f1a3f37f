"""Who sees a background job (its page, its progress JSON, its file): admins, and the user who started it while what
the job is about is within their scope as it is now. Moved to another district, province or role, the starter gets
the same 404 as for a job that does not exist, for every kind of job (real PostgreSQL, the real task bodies)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from disburse.admin.service import user_version
from disburse.extensions import db
from disburse.jobs import service as jobs
from disburse.jobs.models import Job
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user
from tests.jobs.starts import refuse_someone, start_export, start_import, start_notices

_CSRF = re.compile(r'(name="csrf_token" value=|name="csrf-token" content=)"[^"]*"')
#: Messages flashed by the sign-in before, shown by whichever page comes first.
_FLASHES = re.compile(r'<p class="flash [^"]*" role="(?:status|alert)">[^<]*</p>')


def _scrubbed(response: Any, url: str) -> Any:
    """A 404's body without what differs from one request to the next whatever the job (the path, the form token)."""
    if response.status_code != 404:
        return None
    if response.is_json:
        return response.get_json()
    page = response.get_data(as_text=True)
    for echoed in (url, html.escape(url)):
        page = page.replace(echoed, "<path>")
    return _FLASHES.sub("", _CSRF.sub(r"\1<token>", page))


def _answer(client: Any, url: str) -> tuple[int, Any]:
    """The status and the scrubbed body of ``GET url`` (a file's response closed once read)."""
    with client.get(url) as response:
        return response.status_code, _scrubbed(response, url)


def _sees(client: Any, job_id: int) -> bool:
    """The job's page, JSON and file all answer (200), or all answer as an unknown job does (the same 404)."""
    answers = {suffix: _answer(client, f"/jobs/{job_id}{suffix}") for suffix in ("", ".json", "/download")}
    if all(status == 200 for status, _body in answers.values()):
        return True
    unknown = job_id + 1_000_000
    for suffix, (status, body) in answers.items():
        none_status, none_body = _answer(client, f"/jobs/{unknown}{suffix}")
        assert status == none_status == 404, (suffix, status)
        assert body == none_body, suffix
    return False


def _move(admin_client: Any, user: Any, **scope: str) -> None:
    """An admin changes the user's role and scope on the users' page (which ends the user's sessions)."""
    db.session.refresh(user)
    answer = admin_client.post(f"/admin/users/{user.id}", data={"seen": user_version(user), **scope})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:800]
    db.session.refresh(user)


def test_a_caseworker_moved_to_another_district_no_longer_sees_the_notices_they_started(
    app,
    client,
    other_admin,
    folders,
    broker,
):
    canbo = create_user("caseworker", district="017", password=PASSWORD)
    claim = refuse_someone("017", "Nguyễn Thị Hoa")
    sign_in(client, canbo)
    job_id = start_notices(client, "017")
    assert _sees(client, job_id)
    with client.get(f"/jobs/{job_id}/download") as download:
        assert "Nguyễn Thị Hoa" in download.get_data(as_text=True)  # district 017's refusals
    assert client.get(f"/caseworker/claims/{claim.id}").status_code == 200

    _move(other_admin, canbo, role="caseworker", district="009")
    assert client.get(f"/jobs/{job_id}").status_code == 302  # the old session ended: sign in again
    sign_in(client, canbo)
    assert client.get(f"/caseworker/claims/{claim.id}").status_code == 404  # 017's claims are no longer theirs
    assert not _sees(client, job_id)  # and neither are 017's notices
    assert other_admin.get(f"/jobs/{job_id}").status_code == 200  # admins see every job

    _move(other_admin, canbo, role="caseworker", district="017")  # back: the scope decides, not a flag
    sign_in(client, canbo)
    assert _sees(client, job_id)


@dataclass(frozen=True)
class Case:
    """A user with a scope starts a job about a place in it, then is moved: ``before`` and ``after`` are the users'
    page's fields (role and scope)."""

    before: dict[str, str]
    start: Callable[[Any], int]
    after: dict[str, str]


CASES = {
    "notices, caseworker to another district": Case(
        {"role": "caseworker", "district": "017"},
        lambda c: start_notices(c, "017"),
        {"role": "caseworker", "district": "009"},
    ),
    "notices, supervisor to another province": Case(
        {"role": "supervisor", "province": "01"},
        lambda c: start_notices(c, "017"),
        {"role": "supervisor", "province": "79"},
    ),
    "district export, caseworker to another district": Case(
        {"role": "caseworker", "district": "017"},
        lambda c: start_export(c, "district=017"),
        {"role": "caseworker", "district": "009"},
    ),
    "province export, supervisor to another province": Case(
        {"role": "supervisor", "province": "01"},
        lambda c: start_export(c, "province=01"),
        {"role": "supervisor", "province": "79"},
    ),
    "province export, supervisor to a district of it": Case(
        {"role": "supervisor", "province": "01"},
        lambda c: start_export(c, "province=01"),
        {"role": "caseworker", "district": "017"},
    ),
    "national export, national supervisor to a province": Case(
        {"role": "supervisor"}, lambda c: start_export(c, "table=areas"), {"role": "supervisor", "province": "01"}
    ),
    "import of the registry, admin to a province's supervisor": Case(
        {"role": "admin"}, start_import, {"role": "supervisor", "province": "01"}
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_every_kind_of_job_follows_its_starters_current_scope(
    app,
    client,
    other_admin,
    folders,
    broker,
    exports_by_job,
    case,
):
    role = case.before["role"]
    starter = create_user(
        role,
        password=PASSWORD,
        **({"district": case.before["district"]} if "district" in case.before else {}),
        **({"province": case.before.get("province")} if role == "supervisor" else {}),
    )
    refuse_someone("017")  # something for the notices and a row for the exports
    sign_in(client, starter)
    job_id = case.start(client)
    job = db.session.get(Job, job_id)
    assert job.state == "succeeded", job.error
    assert _sees(client, job_id)

    _move(other_admin, starter, **case.after)
    sign_in(client, starter)
    assert not _sees(client, job_id)
    assert other_admin.get(f"/jobs/{job_id}").status_code == 200


def test_another_user_of_the_same_scope_does_not_see_a_job_they_did_not_start(client, db_session):
    starter = create_user("caseworker", district="017", password=PASSWORD)
    colleague = create_user("caseworker", district="017", password=PASSWORD)
    job = jobs.create_job("notices.district_day", {"district": "017"}, created_by=starter.id)
    job.state = "succeeded"
    db.session.flush()
    sign_in(client, colleague)
    assert not _sees(client, job.id)
    client.post("/logout")
    sign_in(client, starter)
    assert client.get(f"/jobs/{job.id}").status_code == 200


def test_what_a_job_is_about_is_recorded_when_it_is_made(db_session):
    user = create_user("admin")
    unit = refuse_someone("017").employer_id
    made = {
        "district": jobs.create_job("notices.district_day", {"district": "017", "date": "2021-11-02"}),
        "province": jobs.create_job("export.dashboard", {"province": "79", "district": None}),
        "unit": jobs.create_job("export.unit", {"employer_id": unit}),
        "country": jobs.create_job("import.employees", {"path": "/x.csv"}, created_by=user.id),
    }
    assert made["district"].params["scope"] == {"units": [], "districts": ["017"], "provinces": ["01"]}
    assert made["province"].params["scope"] == {"units": [], "districts": [], "provinces": ["79"]}
    assert made["unit"].params["scope"] == {"units": [unit], "districts": ["017"], "provinces": ["01"]}
    assert made["country"].params["scope"] == {"units": [], "districts": [], "provinces": []}


def test_a_job_made_before_its_scope_was_recorded_is_judged_by_its_params(client, db_session):
    """Rows written before ``scope`` existed: the place their params name (a notices job's district) decides."""
    canbo = create_user("caseworker", district="017", password=PASSWORD)
    elsewhere = create_user("caseworker", district="009", password=PASSWORD)
    older = [
        Job(kind="notices.district_day", state="succeeded", params={"district": "017"}, done=0, created_by=user.id)
        for user in (canbo, elsewhere)
    ]
    db.session.add_all(older)
    db.session.flush()
    sign_in(client, canbo)
    assert client.get(f"/jobs/{older[0].id}").status_code == 200
    client.post("/logout")
    sign_in(client, elsewhere)
    assert not _sees(client, older[1].id)  # started by them, about 017: not theirs any more
