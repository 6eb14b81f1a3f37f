"""After an import: what happens next for new people (the import's page says it, with the programme's dates), and
the Form 01 lists built from the admins' page as an audited background job while the lists may still go out (until
the list deadline); after it the build is refused, naming Form 03 and Form 04 instead (real PostgreSQL and Redis)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from disburse.auth.models import AuditLog
from disburse.background import QueueNames
from disburse.claims import list_builds
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.jobs import service as jobs
from disburse.jobs.models import Job
from tests.admin.conftest import sign_in
from tests.factories import create_employee, create_employer, nq116
from tests.test_background import _waiting
from workers.lists import build_lists_task


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.mark.parametrize(
    ("today", "step", "words"),
    [
        (date(2021, 10, 20), "build_lists", ["danh sách Mẫu số 01 được lập lại", "20/10/2021", "5 ngày làm việc"]),
        (date(2021, 10, 21), "form_03", ["Mẫu số 03 (“Bổ sung”", "đến hết ngày 10/11/2021", "20/12/2021"]),
        (date(2021, 11, 11), "form_04", ["Mẫu số 03 đã hết ngày 10/11/2021", "Mẫu số 04", "20/12/2021"]),
        (date(2021, 12, 21), "closed", ["Đã hết hạn nhận hồ sơ đề nghị hỗ trợ (Mẫu số 04) ngày 20/12/2021", "NQ116"]),
    ],
)
def test_what_brings_a_new_person_in_follows_the_programmes_calendar(db_session, today, step, words):
    found = list_builds.next_step(nq116(), today)
    assert found.step == step
    for part in words:
        assert part in found.words[0], part
    assert found.words[1] and found.words[1] != found.words[0]


def _import_job(admin, inserted: int = 3) -> Job:
    job = jobs.create_job("import.employees", {}, created_by=admin.id)
    job.state, job.result = "succeeded", {"total_rows": 3, "inserted": inserted, "updated": 3 - inserted}
    db.session.flush()
    return job


@pytest.mark.parametrize(
    ("today", "locale", "says", "links"),
    [
        ("2021-10-15", "vi", "hạn gửi danh sách cho đơn vị là ngày 20/10/2021", True),
        ("2021-10-15", "en", "the lists must reach the units by 20/10/2021", True),
        (
            "2021-10-25",
            "vi",
            "Đơn vị bổ sung họ bằng Mẫu số 03 (“Bổ sung”, kèm giấy tờ chứng minh) đến hết ngày",
            False,
        ),
        ("2021-10-25", "en", "Their unit adds them on Form 03 (“add”, with proof) until 10/11/2021", False),
    ],
)
def test_an_employees_import_says_what_happens_next_for_new_people(
    app, client, admin, monkeypatch, today, locale, says, links
):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", today)
    job = _import_job(admin)
    sign_in(client, admin, locale)
    page = client.get(f"/jobs/{job.id}")
    assert page.status_code == 200
    section = re.search(r'<section[^>]*id="new-people".*?</section>', page.get_data(as_text=True), re.S)
    assert section is not None
    assert says in _text(page)
    assert ('href="/admin/lists"' in section.group(0)) is links


def test_an_employees_import_that_added_nobody_says_nothing_of_new_people(app, client, admin, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-15")
    job = _import_job(admin, inserted=0)
    sign_in(client, admin)
    page = client.get(f"/jobs/{job.id}")
    assert page.status_code == 200
    text = _text(page)
    assert 'id="new-people"' not in page.get_data(as_text=True) and "Người lao động mới" not in text
    assert 'href="/admin/lists"' not in page.get_data(as_text=True)


def test_an_admin_builds_the_lists_before_the_deadline_as_an_audited_job_and_new_people_get_claims(
    app,
    client,
    admin,
    monkeypatch,
    broker,
):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-15")
    unit = create_employer()
    new = create_employee(employer_id=unit.id)  # imported: eligible, but no claim yet
    db.session.commit()
    sign_in(client, admin)

    page = client.get("/admin/lists")
    assert page.status_code == 200 and "Lập danh sách Mẫu số 01" in _text(page)
    answer = client.post("/admin/lists")
    assert answer.status_code == 302
    job_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    job = db.session.get(Job, job_id)
    assert (job.kind, job.params["program"], job.created_by) == ("lists.build", "NQ116", admin.id)
    assert _waiting(broker, QueueNames.REPORTS) == [("lists.build", ["NQ116", job_id])]
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "lists.build"))
    assert entry is not None and (entry.actor_id, entry.object_id) == (admin.id, str(job_id))
    # A second click while it waits makes no second job.
    assert client.post("/admin/lists").headers["Location"].endswith(f"/jobs/{job_id}")

    build_lists_task("NQ116", job_id)

    db.session.refresh(job)
    assert job.state == "succeeded" and job.total and job.done == job.total
    claim = db.session.scalar(select(Claim).where(Claim.employee_id == new.id))
    assert claim is not None and (claim.state, claim.track) == ("listed", "A")
    shown = _text(client.get(f"/jobs/{job_id}"))
    assert "Lập danh sách Mẫu số 01" in shown and "Hồ sơ được tạo" in shown


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("vi", "Đơn vị bổ sung họ bằng Mẫu số 03"),
        ("en", "Their unit adds them on Form 03"),
    ],
)
def test_after_the_list_deadline_the_build_is_refused_and_names_form_03(
    app,
    client,
    admin,
    monkeypatch,
    broker,
    locale,
    words,
):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-21")
    sign_in(client, admin, locale)
    page = client.get("/admin/lists")
    assert (
        page.status_code == 200 and words in _text(page) and 'action="/admin/lists"' not in page.get_data(as_text=True)
    )
    answer = client.post("/admin/lists")
    assert answer.status_code == 409 and words in _text(answer)
    assert db.session.scalar(select(Job).where(Job.kind == "lists.build")) is None
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "lists.build")) is None
    assert _waiting(broker, QueueNames.REPORTS) == []
