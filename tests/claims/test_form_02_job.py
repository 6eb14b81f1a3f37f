"""A Form 02 file too large to read while the employer waits (``DISBURSE_FORM_02_INLINE_BYTES``) is read by a
background job: the upload answers at once with the job's page, the task (its real body, in this process) confirms the
rows as the upload page would, and the job's page gives the outcome, the refused rows as a file and the way back. A
file that cannot be the form fails the job with the page's message and changes nothing."""

from __future__ import annotations

import csv
import io
import re

import pytest

from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.jobs.models import Job
from tests.admin.conftest import PASSWORD, folders, sign_in  # noqa: F401 - the fixture
from tests.factories import create_claim, create_employee, create_employer, create_user
from tests.jobs.starts import FORM_02_DAY, form_02_file
from workers.forms import read_form_02


@pytest.fixture
def unit(app, db_session, folders, monkeypatch):  # noqa: F811 - the fixture
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", FORM_02_DAY)
    monkeypatch.setitem(app.config, "DISBURSE_FORM_02_INLINE_BYTES", 100)  # bytes: any real form is "large"
    return create_employer(name="Công ty TNHH Rất Đông Người")


def _people(unit, n: int) -> list[Claim]:
    return [create_claim("listed", employee=create_employee(employer_id=unit.id)) for _ in range(n)]


def _si(claim: Claim) -> str:
    from disburse.registry.models import Employee

    return db.session.get(Employee, claim.employee_id).si_code


def _upload(client, unit, upload: io.BytesIO) -> int:
    answer = client.post(f"/employers/{unit.unit_code}/form-02/upload", data={"file": (upload, "mau02.csv")})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    found = re.fullmatch(r"/jobs/(\d+)", answer.headers["Location"])
    assert found is not None, answer.headers["Location"]
    return int(found.group(1))


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_a_large_form_02_is_read_by_a_job_whose_page_gives_the_outcome(client, unit):
    listed = _people(unit, 3)
    sign_in(client, create_user("employer", employer_unit=unit.unit_code, password=PASSWORD))
    lines = [
        [_si(listed[0]), "VCB", "0071000123456", ""],
        [_si(listed[1]), "", "", "x"],
        [_si(listed[2]), "NO", "1", ""],
    ]
    job_id = _upload(client, unit, form_02_file(lines))
    job = db.session.get(Job, job_id)
    assert (job.kind, job.state, job.params["unit_code"]) == ("form02.upload", "queued", unit.unit_code)
    assert [db.session.get(Claim, c.id).state for c in listed] == ["listed"] * 3, "nothing read before the job runs"

    read_form_02(job_id)
    db.session.expire_all()
    assert [db.session.get(Claim, c.id).state for c in listed] == ["employer_confirmed", "declined", "listed"]
    job = db.session.get(Job, job_id)
    assert job.state == "succeeded" and (job.done, job.total) == (3, 3)

    page = client.get(f"/jobs/{job_id}")
    text = _text(page)
    assert page.status_code == 200
    assert "Mẫu số 02 gửi bằng tệp" in text and "Đã xong" in text
    assert "Xác nhận 1" in text and "Không nhận hỗ trợ 1" in text and "Dòng bị từ chối 1" in text
    assert f'href="/employers/{unit.unit_code}/form-02"' in page.get_data(as_text=True)
    with client.get(f"/jobs/{job_id}/download") as download:
        assert download.status_code == 200
        rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[0] == ["row", "si_code", "full_name", "column", "value", "error_code", "message_vi", "message_en"]
    assert rows[1][:6] == ["4", _si(listed[2]), "", "bank_code", "NO", "bank_unknown"]

    # The unit's Form 02 page lists the file the user sent, its state and the way to its job.
    form_page = client.get(f"/employers/{unit.unit_code}/form-02").get_data(as_text=True)
    listed_jobs = form_page.split('id="form-02-jobs"', 1)[1].split("</ul>", 1)[0]
    assert f'href="/jobs/{job_id}"' in listed_jobs and "mau02.csv" in listed_jobs and "Đã xong" in listed_jobs

    # An admin sees the job, with no way "back" to a page only the unit's employer may open.
    admin = client.application.test_client()
    sign_in(admin, create_user("admin", password=PASSWORD))
    seen = admin.get(f"/jobs/{job_id}")
    assert seen.status_code == 200 and f'href="/employers/{unit.unit_code}/form-02"' not in seen.get_data(True)

    # Another unit's employer does not see the job (the same 404 as an unknown one).
    other = client.application.test_client()
    sign_in(other, create_user("employer", password=PASSWORD))
    assert other.get(f"/jobs/{job_id}").status_code == 404


def test_a_file_that_cannot_be_the_form_fails_its_job_with_the_reason_and_changes_nothing(client, unit):
    listed = _people(unit, 2)
    sign_in(client, create_user("employer", employer_unit=unit.unit_code, password=PASSWORD), "en")
    no_si_column = io.BytesIO(("bank_code,bank_account,decline\n" + "VCB,0071000123456,\n" * 5).encode("utf-8"))
    job_id = _upload(client, unit, no_si_column)
    read_form_02(job_id)
    db.session.expire_all()
    assert db.session.get(Job, job_id).state == "failed"
    assert [db.session.get(Claim, c.id).state for c in listed] == ["listed", "listed"]
    text = _text(client.get(f"/jobs/{job_id}"))
    assert "Failed" in text and "SI code column (si_code)" in text


def test_a_small_form_02_is_still_read_while_the_employer_waits(client, unit, app, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_FORM_02_INLINE_BYTES", 1_000_000)
    [claim] = _people(unit, 1)
    sign_in(client, create_user("employer", employer_unit=unit.unit_code, password=PASSWORD))
    answer = client.post(
        f"/employers/{unit.unit_code}/form-02/upload",
        data={"file": (form_02_file([[_si(claim), "VCB", "0071000123456", ""]]), "mau02.csv")},
    )
    assert answer.status_code == 200 and "Xác nhận: 1 người" in _text(answer)
    assert db.session.query(Job).filter_by(kind="form02.upload").count() == 0
