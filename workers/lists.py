"""``lists.build``: the Form 01 list build as a background job, with progress stored on its Job row.

Thin: :func:`disburse.jobs.service.run_job` starts the job (guarded, so a redelivery does nothing), then
:func:`disburse.claims.lists.build_lists` runs, and the claims commit together with the job's success, so the job
says "succeeded" exactly when the claims are there.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from disburse.claims.lists import build_lists
from disburse.jobs.models import Job
from disburse.jobs.service import JobFailed, Progress, run_job
from disburse.programs.service import ProgramNotFound, get_program


@shared_task(name="lists.build", acks_late=True)
def build_lists_task(program_code: str, job_id: int) -> None:
    """Build the lists of ``program_code`` for the queued Job ``job_id``. A redelivered or finished job is left alone:
    the build is idempotent, but the job row tells the story only once."""

    def build(_job: Job, progress: Progress) -> dict[str, Any]:
        try:
            program = get_program(program_code)
        except ProgramNotFound as exc:
            raise JobFailed(*exc.words) from exc
        result = build_lists(program, progress=progress)
        return {
            "program": result.program_code,
            "listed_on": result.listed_on.isoformat(),
            "review_due_on": result.review_due_on.isoformat(),
            "claims_created": result.claims_created,
            "amount_created_vnd": result.amount_created_vnd,
            "employers_listed": result.employers_listed,
            "reductions_created": result.reductions_created,
            "reductions_updated": result.reductions_updated,
            "reductions_removed": result.reductions_removed,
            "claims_total": result.claims_total,
            "reduction_total_vnd": result.reduction_total_vnd,
        }

    run_job(job_id, "lists.", build)
