"""Background jobs: create, start, report progress, finish.

The task that runs a job owns its transaction (style rule 4): ``start`` and ``finish`` change the row and flush,
the caller commits. ``progress`` is the exception: it writes in its own short transaction on its own
connection, so that the web page and the CLI see the progress while the job's long transaction is still open.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text

from disburse.extensions import db
from disburse.jobs.models import Job


def _now() -> datetime:
    return datetime.now(UTC)


def create_job(kind: str, params: dict[str, Any], *, created_by: int | None = None) -> Job:
    """A queued job; enqueue its task only after the caller has committed (style rule 12)."""
    job = Job(kind=kind, state="queued", params=params, done=0, created_by=created_by)
    db.session.add(job)
    db.session.flush()
    return job


def start(job_id: int, *, kind_prefix: str = "") -> Job | None:
    """Move a queued job to running and return it; None when it is not queued (already taken, finished, or
    unknown): a redelivered task then returns quietly.

    The row is locked ``FOR UPDATE`` so that two workers given the same job cannot both start it.
    """
    job = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
    if job is None or job.state != "queued" or not job.kind.startswith(kind_prefix):
        return None
    now = _now()
    job.state = "running"
    job.started_at = now
    job.heartbeat_at = now
    db.session.flush()
    return job


def progress(job_id: int, done: int, total: int | None) -> bool:
    """Record progress in a separate, immediately committed transaction; never waits for a lock.

    Returns False when the row was locked by another transaction (the update is then skipped: progress is a
    hint, and the next call will try again).
    """
    with db.engine.begin() as conn:
        updated = conn.execute(
            text(
                """UPDATE jobs SET done = :done, total = :total, heartbeat_at = now()
                   WHERE id = (SELECT id FROM jobs WHERE id = :id AND state = 'running' FOR UPDATE SKIP LOCKED)"""
            ),
            {"id": job_id, "done": max(done, 0), "total": total if total is None else max(total, 0)},
        )
        return bool(updated.rowcount)


def finish(job: Job, *, result: dict[str, Any] | None = None, error: str | None = None) -> Job:
    """Mark the job succeeded (no error) or failed (with a message for people)."""
    now = _now()
    job.state = "failed" if error else "succeeded"
    job.result = result
    job.error = error[:2000] if error else None
    job.finished_at = now
    job.heartbeat_at = now
    if result is not None and isinstance(result.get("total_rows"), int):
        job.total = result["total_rows"]
        job.done = result["total_rows"]
    db.session.flush()
    return job


def fail(job_id: int, error: str, result: dict[str, Any] | None = None) -> None:
    """Mark job ``job_id`` failed after its own work was rolled back; the caller commits."""
    job = db.session.get(Job, job_id)
    if job is not None:
        finish(job, result=result, error=error)
