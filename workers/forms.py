"""``forms.form_02``: a large Form 02 file read as a background job (the upload page's path for a big unit).

Thin: :func:`disburse.jobs.service.run_job` starts the job (guarded, so a redelivery does nothing), then
:func:`disburse.claims.form_02_job.run` reads and confirms the rows; the claims and the job's outcome commit together.
"""

from __future__ import annotations

from celery import shared_task

from disburse.claims import form_02_job
from disburse.jobs.service import run_job


@shared_task(name="forms.form_02", acks_late=True)
def read_form_02(job_id: int) -> None:
    """Read the Form 02 kept for the queued job ``job_id`` (params {path, program, unit_code})."""
    run_job(job_id, "form02.", form_02_job.run)
