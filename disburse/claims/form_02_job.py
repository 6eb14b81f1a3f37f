"""A large Form 02 file read by a background job instead of while the employer waits.

A unit of tens of thousands of people returns a workbook that takes longer to read than a web request may run (an
XLSX costs ~0.25 ms a row in openpyxl). The page keeps the file under ``DISBURSE_UPLOAD_DIR`` and queues the
``forms.form_02`` task (workers/forms.py); the employer follows it on the job's page (its progress, then what was
confirmed, declined and refused, and the refused rows as a file). The work is the upload page's own: the same
reading, the same :func:`~disburse.claims.employer_forms.confirm`, the same errors file, in one transaction with the
job's result. The file stays after the job, so that a failed one can be run again; the retention sweep deletes it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from disburse.auth.models import User
from disburse.claims import unit
from disburse.claims.employer_forms import confirm
from disburse.claims.outcomes import FormRefused
from disburse.extensions import db
from disburse.jobs.models import Job
from disburse.jobs.service import JobFailed, Progress, export_dir, submit, upload_dir
from disburse.programs.models import Program
from disburse.programs.service import ProgramNotFound, get_program
from disburse.registry.models import Employer, unit_by_code
from disburse.spreadsheets import UnusableFile, write_csv

KIND = "form02.upload"
TASK = "forms.form_02"


def start(program: Program, employer: Employer, upload: FileStorage, *, actor: User) -> Job:
    """Keep the uploaded form and queue its reading (sent once the caller commits)."""
    extension = Path(upload.filename or "").suffix.lower()
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{extension}"
    upload.save(path)
    params = {
        "path": str(path),
        "program": program.code,
        "unit_code": employer.unit_code,
        "filename": secure_filename(upload.filename or "") or f"mau-02{extension}",
        "size": path.stat().st_size,
    }
    return submit(KIND, params, TASK, created_by=actor.id)


#: The unit's Form 02 jobs its page lists, newest first.
RECENT = 5


def recent(employer: Employer, user: User) -> list[Job]:
    """The Form 02 files ``user`` sent for the unit that were read (or are being read) by a job, newest first."""
    return list(
        db.session.scalars(
            select(Job)
            .where(
                Job.kind == KIND,
                Job.created_by == user.id,
                # In any case: a job queued before migration 0040 put the unit's code in capitals names it as it was.
                func.upper(Job.params["unit_code"].astext) == employer.unit_code.upper(),
            )
            .order_by(Job.id.desc())
            .limit(RECENT)
        )
    )


def errors_name(job_id: int) -> str:
    """The refused rows of job ``job_id``, inside the export folder (so that the job's page offers them)."""
    return f"form-02/job-{job_id}-errors.csv"


def run(job: Job, progress: Progress) -> dict[str, Any]:
    """The job's work: read the kept file as the upload page would, confirm its rows as the unit's user, and return
    the outcome's counts (with the errors file when rows were refused); a form that cannot be taken fails the job
    with the page's message, and nothing changes."""
    params = job.params
    employer = unit_by_code(params["unit_code"])  # a job queued before migration 0040 names the code as it was
    actor = db.session.get(User, job.created_by) if job.created_by is not None else None
    try:
        program = get_program(params["program"])
    except ProgramNotFound:
        program = None
    if employer is None or program is None or actor is None:
        raise JobFailed(
            "Đơn vị, chương trình hoặc người gửi không còn trong hệ thống.",
            "The unit, the programme or the sender is no longer known.",
        )
    try:
        listed = unit.listed_people(program, employer)
        # Read against the list's size (what the form should hold); the confirmation after it is one statement.
        rows, others = unit.read_returned_form(
            Path(params["path"]), program, listed, lambda n: progress(n, max(listed, n))
        )
        result = confirm(
            program, employer.unit_code, [c for _, c in rows], actor=actor, row_numbers=[n for n, _ in rows]
        )
    except (UnusableFile, FormRefused) as exc:
        raise JobFailed(exc.message_vi, exc.message_en) from exc
    except FileNotFoundError as exc:
        raise JobFailed(
            "Tệp đã tải lên không còn (đã quá thời hạn lưu): hãy gửi lại tệp.",
            "The uploaded file is gone (kept no longer than the retention period): send it again.",
        ) from exc
    progress(len(rows), len(rows))
    summary: dict[str, Any] = {**result.as_dict()["summary"], "rows": len(rows), "unit_code": employer.unit_code}
    if others:
        summary["other_sheets"] = others
    lines = unit.refused_rows(rows, result)
    if lines:
        path = export_dir() / errors_name(job.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_csv(path, unit.ERRORS_HEADER, lines)
        summary |= {"file": errors_name(job.id), "filename": f"mau-02-{employer.unit_code}-loi.csv"}
    return summary
