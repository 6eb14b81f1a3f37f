"""How a user starts each kind of background job, and the worker runs it: the same requests the pages and the API
take, then the task's own body in this process (as the import and notice tests do), so that the job's row, its
result and its file are what production writes."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

from sqlalchemy import text

from disburse.extensions import db
from disburse.jobs import service as jobs
from disburse.verification import review
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_user
from tests.registry.test_import_support import employer_row
from workers.exports import export_dashboard
from workers.forms import read_form_02
from workers.imports import run_import
from workers.lists import build_lists_task
from workers.notices import district_day_notices

REASON = "Đã nghỉ việc từ tháng 8/2021."


def today_in_vietnam() -> date:
    """The day the test transaction's events carry (now() is the transaction's start)."""
    return db.session.scalar(text("SELECT (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"))


def refuse_someone(district: str, full_name: str = "Nguyễn Thị Hoa") -> Any:
    """A person of a unit in ``district`` whose claim a caseworker of the district refused today; the claim."""
    unit = create_employer(district_code=district, name=f"Công ty TNHH {full_name}")
    employee = create_employee(employer_id=unit.id, district_code=district, full_name=full_name)
    claim = create_claim("needs_review", employee=employee)
    review.reject(claim.id, create_user("caseworker", district=district), "not_employed_on_cutoff", REASON)
    return claim


def _job_in(location: str) -> int:
    found = re.fullmatch(r"/jobs/(\d+)", location)
    assert found, location
    return int(found.group(1))


def start_notices(client: Any, district: str = "017") -> int:
    """``POST /api/v1/notices/batches`` for today's refusals of ``district``, then the worker's task."""
    answer = client.post("/api/v1/notices/batches", json={"district": district, "date": today_in_vietnam().isoformat()})
    assert answer.status_code == 202, answer.get_json()
    job_id = int(answer.get_json()["job_id"])
    district_day_notices(job_id)
    return job_id


def start_export(client: Any, area: str = "district=017") -> int:
    """The dashboard's export button for a table too large to download at once (``DISBURSE_EXPORT_DIRECT_ROWS``
    set to 0 by the caller), then the worker's task."""
    answer = client.post(f"/dashboard/export?{area}&format=csv")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    job_id = _job_in(answer.headers["Location"])
    export_dashboard(job_id)
    return job_id


def start_import(client: Any) -> int:
    """A registry file uploaded on ``/admin/imports`` with one refused row (so the job offers the refused rows),
    then the worker's task."""
    rows = [employer_row(), employer_row(sector="bank")]  # the bank's sector is refused
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    answer = client.post(
        "/admin/imports",
        data={"kind": "employers", "file": (io.BytesIO(out.getvalue().encode("utf-8")), "don-vi.csv")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    job_id = _job_in(answer.headers["Location"])
    run_import(job_id)
    return job_id


#: A day inside the employers' review window of NQ116, when Form 02 is taken.
FORM_02_DAY = "2021-10-25"
FORM_02_HEADER = ["Mã số BHXH (si_code)", "Ngân hàng (bank_code)", "Số tài khoản (bank_account)", "decline"]


def form_02_file(lines: list[list[str]]) -> io.BytesIO:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FORM_02_HEADER)
    writer.writerows(lines)
    return io.BytesIO(out.getvalue().encode("utf-8-sig"))


def start_form_02(client: Any) -> int:
    """A unit's Form 02 too large to read while its employer waits (the caller sets ``DISBURSE_FORM_02_INLINE_BYTES``
    to 0 and ``DISBURSE_TODAY`` inside the review window), one row refused, uploaded by the unit's employer on a
    client of their own, then the worker's task."""
    unit = create_employer(name="Công ty TNHH Rất Đông Người")
    people = [create_employee(employer_id=unit.id) for _ in range(2)]
    for person in people:
        create_claim("listed", employee=person)
    employer = create_user("employer", employer_unit=unit.unit_code, password=PASSWORD)
    own = client.application.test_client()
    sign_in(own, employer)
    upload = form_02_file([[people[0].si_code, "VCB", "0071000123456", ""], [people[1].si_code, "KHONGCO", "12", ""]])
    answer = own.post(f"/employers/{unit.unit_code}/form-02/upload", data={"file": (upload, "mau02.csv")})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    job_id = _job_in(answer.headers["Location"])
    read_form_02(job_id)
    return job_id


def start_lists_build(user: Any) -> int:
    """A Form 01 lists build (as /admin/lists starts one until the list deadline), then the worker's task."""
    job = jobs.submit("lists.build", {"program": "NQ116"}, "lists.build", "NQ116", created_by=user.id)
    db.session.commit()
    build_lists_task("NQ116", job.id)
    return job.id
