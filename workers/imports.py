"""``imports.run``: a registry import as a background job (the web upload's path; the CLI runs the same code).

Thin, as every task: load the job by id, guard on its state, call the registry importer, commit, record the
outcome. Progress goes to the job row in short separate transactions while the import's own transaction runs.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from celery import shared_task

from disburse import runtime
from disburse.extensions import db
from disburse.jobs import service as jobs
from disburse.jobs.models import Job
from disburse.registry.importer import UnusableFile, import_file, normalise_kind
from workers.queues import QueueNames

log = logging.getLogger(__name__)

#: Seconds between two progress writes: often enough for a progress bar, rare enough to cost nothing.
PROGRESS_EVERY_S = 1.0


def errors_path_for(job_id: int) -> Path:
    return runtime.default_instance_path() / "imports" / f"job-{job_id}-errors.csv"


class _Reporter:
    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_S or (total is not None and done >= total):
            self.last = now
            jobs.progress(self.job_id, done, total)


@shared_task(name="imports.run", queue=QueueNames.IMPORTS)
def run_import(job_id: int) -> None:
    """Run the import job ``job_id`` (kind ``import.<employers|employees|salary_funds>``, params {path, strict})."""
    job = jobs.start(job_id, kind_prefix="import.")
    if job is None:
        db.session.rollback()
        log.info("import job %s is not queued; nothing to do", job_id, extra={"job_id": job_id})
        return
    kind = job.kind.removeprefix("import.")
    path = Path(job.params["path"])
    strict = bool(job.params.get("strict", False))
    errors_out = Path(job.params["errors_path"]) if job.params.get("errors_path") else errors_path_for(job_id)
    db.session.commit()

    try:
        result = import_file(
            normalise_kind(kind), path, errors_out=errors_out, strict=strict, progress=_Reporter(job_id)
        )
    except UnusableFile as exc:
        db.session.rollback()
        jobs.fail(job_id, str(exc), {"exit_code": 2, "message_vi": exc.message_vi, "message_en": exc.message_en})
        db.session.commit()
        return
    except Exception as exc:
        db.session.rollback()
        log.exception("import job %s failed", job_id, extra={"job_id": job_id})
        jobs.fail(job_id, f"{type(exc).__name__}: {exc}")
        db.session.commit()
        return

    summary = result.as_dict()
    if not result.applied:
        db.session.rollback()
        jobs.fail(
            job_id,
            f"{result.rejected} dòng bị từ chối; chế độ strict: không nhập dòng nào. / "
            f"{result.rejected} rows rejected; strict: nothing imported.",
            summary,
        )
        db.session.commit()
        return
    finished = db.session.get(Job, job_id)
    assert finished is not None
    jobs.finish(finished, result=summary)
    db.session.commit()  # the imported rows and the job's outcome land together
