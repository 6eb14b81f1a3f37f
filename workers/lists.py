"""``lists.build``: the Form 01 list build as a background job, with progress stored on its Job row.

The task is thin: start the job (guarded, so a redelivery does nothing), call
:func:`disburse.claims.lists.build_lists`, commit. The build commits once, together with the job's success, so the
job says "succeeded" exactly when the claims are there. Progress goes through :func:`disburse.jobs.service.progress`
(its own short transaction), so that the UI sees it while the build's transaction is open.
"""

from __future__ import annotations

import logging

from celery import shared_task

from disburse.claims.lists import build_lists
from disburse.extensions import db
from disburse.jobs import service as jobs
from disburse.jobs.models import Job
from disburse.programs.service import ProgramNotFound, get_program
from workers.queues import QueueNames

log = logging.getLogger(__name__)


@shared_task(name="lists.build", queue=QueueNames.REPORTS, acks_late=True)
def build_lists_task(program_code: str, job_id: int) -> None:
    """Build the lists of ``program_code`` for the queued Job ``job_id``. A redelivered or finished job is left alone:
    the build is idempotent, but the job row tells the story only once."""
    job = jobs.start(job_id, kind_prefix="lists.")
    if job is None:
        db.session.rollback()
        log.info("lists.build: job %s is not queued, nothing to do", job_id, extra={"job_id": job_id})
        return
    db.session.commit()

    try:
        program = get_program(program_code)
    except ProgramNotFound as exc:
        jobs.fail(job_id, str(exc))
        db.session.commit()
        return

    last = {"done": 0, "total": 0}

    def progress(done: int, total: int | None) -> None:
        last.update(done=done, total=total or done)
        jobs.progress(job_id, done, total)

    try:
        result = build_lists(program, progress=progress)
    except Exception as exc:
        db.session.rollback()
        log.exception("lists.build failed for job %s", job_id, extra={"job_id": job_id})
        jobs.fail(job_id, str(exc))
        db.session.commit()
        return
    summary = {
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
    finished = db.session.get(Job, job_id)
    assert finished is not None
    jobs.finish(finished, result=summary)
    finished.done, finished.total = last["done"], last["total"]
    db.session.commit()  # the claims and the job's outcome land together
