"""``lists.build``: the Form 01 list build as a background job, with progress stored on its Job row.

The task is thin: load the job, guard on its state, call :func:`disburse.claims.lists.build_lists`, commit. The build
commits once, together with the job's success, so the job says "succeeded" exactly when the claims are there.
Progress goes through a separate short connection, so that the UI sees it while the build's transaction is open.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from sqlalchemy import func, text, update

from disburse.claims.lists import build_lists
from disburse.extensions import db
from disburse.jobs.models import Job
from disburse.programs.service import ProgramNotFound, get_program
from workers.queues import QueueNames

log = logging.getLogger(__name__)

_PROGRESS = text("UPDATE jobs SET done = :done, total = :total, heartbeat_at = now() WHERE id = :id")


def _mark(job_id: int, **values: Any) -> None:
    db.session.execute(update(Job).where(Job.id == job_id).values(**values))


@shared_task(name="lists.build", queue=QueueNames.REPORTS, acks_late=True)
def build_lists_task(program_code: str, job_id: int) -> None:
    """Build the lists of ``program_code`` for the queued Job ``job_id``. A redelivered or finished job is left alone:
    the build is idempotent, but the job row tells the story only once."""
    job = db.session.get(Job, job_id)
    if job is None or job.state != "queued":
        log.info("lists.build: job %s is not queued, nothing to do", job_id, extra={"job_id": job_id})
        return
    _mark(job_id, state="running", started_at=func.now(), heartbeat_at=func.now())
    db.session.commit()

    try:
        program = get_program(program_code)
    except ProgramNotFound as exc:
        _mark(job_id, state="failed", finished_at=func.now(), error=str(exc))
        db.session.commit()
        return

    last = {"done": 0, "total": 0}

    def progress(done: int, total: int | None) -> None:
        last.update(done=done, total=total or done)
        # Its own short transaction: visible at once, and never holding a lock the build needs.
        with db.engine.begin() as connection:
            connection.execute(_PROGRESS, {"done": done, "total": total, "id": job_id})

    try:
        result = build_lists(program, progress=progress)
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
        _mark(
            job_id,
            state="succeeded",
            finished_at=func.now(),
            heartbeat_at=func.now(),
            result=summary,
            done=last["done"],
            total=last["total"],
        )
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.exception("lists.build failed for job %s", job_id, extra={"job_id": job_id})
        _mark(job_id, state="failed", finished_at=func.now(), error=str(exc)[:2000])
        db.session.commit()
