"""``notices.district_day``: every refusal notice of a district on one day as one printable document, a background
job.

Thin: :func:`disburse.jobs.service.run_job` starts the job (guarded, so a redelivery does nothing), then
:func:`disburse.verification.notices.run_district_day` writes the file under ``notices/`` in the export folder; the
job's result names it for the download (``file``, ``filename``) with the number of notices.
"""

from __future__ import annotations

from celery import shared_task

from disburse.jobs.service import run_job
from disburse.verification.notices import run_district_day


@shared_task(name="notices.district_day", acks_late=True)
def district_day_notices(job_id: int) -> None:
    """Write the notices of the queued Job ``job_id`` (params: program_id, district, date)."""
    run_job(job_id, "notices.", run_district_day)
