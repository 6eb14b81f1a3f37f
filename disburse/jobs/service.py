"""Background jobs: create (and enqueue after commit), start, report progress, finish; :func:`run_job` does a task's
whole start / fail / finish in one place.

The task that runs a job owns its transaction: ``start`` and ``finish`` change the row and flush,
the caller commits. ``progress`` is the exception: it writes in its own short transaction on its own
connection, so that the web page and the CLI see the progress while the job's long transaction is still open.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select, text

from disburse.auth.models import User
from disburse.auth.scopes import Scope, can_see
from disburse.background import TASK_QUEUES, enqueue_after_commit, queued_messages
from disburse.bulk import after_deadlocks
from disburse.extensions import db
from disburse.jobs.models import Job
from disburse.reference.models import District
from disburse.registry.codes import UNIT_CODE
from disburse.registry.models import Employer, unit_by_code

log = logging.getLogger(__name__)

#: Seconds between two progress writes: often enough for a progress bar, rare enough to cost nothing.
PROGRESS_EVERY_S = 1.0

Progress = Callable[[int, int | None], None]


def _now() -> datetime:
    return datetime.now(UTC)


def create_job(kind: str, params: dict[str, Any], *, created_by: int | None = None) -> Job:
    """A queued job; enqueue its task only after the caller has committed. Its params get ``scope``, what the job is
    about (:func:`subject_scope`), unless the caller gave one."""
    if not isinstance(params.get(SCOPE), dict):
        params = {**params, SCOPE: subject_scope(params)}
    job = Job(kind=kind, state="queued", params=params, done=0, created_by=created_by)
    db.session.add(job)
    db.session.flush()
    return job


# ------------------------------------------------------------------------------------------ who may see a job

#: The key of a job's params that records what the job is about: ``{"units": [employer ids], "districts": [codes],
#: "provinces": [codes]}``, the place and the places above it; all three empty for a job about the whole country.
SCOPE = "scope"


def subject_scope(params: dict[str, Any]) -> dict[str, list[Any]]:
    """What a job whose params are ``params`` is about, in every kind's same words: the unit its params name
    (``employer_id`` or ``unit_code``), else the district (``district``), else the province (``province``), with the
    places above it (a unit's district and province, a district's province, as the registry has them); nothing named
    (an import of the country's registry, a lists build) is the whole country, which only admins and national
    supervisors see."""
    units: list[int] = []
    district, province = params.get("district"), params.get("province")
    employer: Employer | None = None
    employer_id, unit_code = params.get("employer_id"), params.get("unit_code")
    if isinstance(employer_id, int) and not isinstance(employer_id, bool):
        employer = db.session.get(Employer, employer_id)
        units = [employer_id]
    elif isinstance(unit_code, str) and UNIT_CODE.fullmatch(unit_code):
        employer = unit_by_code(unit_code)
        units = [employer.id] if employer is not None else []  # an unknown unit: nothing named, the country
    if employer is not None:
        district = employer.district_code
    if isinstance(district, str) and district:
        province = db.session.scalar(select(District.province_code).where(District.code == district))
    return {
        "units": units,
        "districts": [district] if isinstance(district, str) and district else [],
        "provinces": [province] if isinstance(province, str) and province else [],
    }


def job_scope(job: Job) -> Scope:
    """What ``job`` is about, as recorded at its creation (a job made before it was recorded: from its params)."""
    recorded = (job.params or {}).get(SCOPE)
    if not isinstance(recorded, dict):
        recorded = subject_scope(job.params or {})

    def listed(key: str, kind: type) -> list[Any]:
        values = recorded.get(key)
        if not isinstance(values, list):
            return []
        return [value for value in values if isinstance(value, kind) and not isinstance(value, bool)]

    return Scope(listed("units", int), listed("districts", str), listed("provinces", str))


def may_see(user: User, job: Job) -> bool:
    """Admins see every job; anyone else a job they started whose subject is within their scope as it is now, so
    that a user moved to another district, province or unit (or given another role) no longer sees the jobs they
    started about the old one (:func:`disburse.auth.scopes.can_see`, the rule of every record)."""
    if user.role == "admin":
        return True
    return job.created_by is not None and job.created_by == user.id and can_see(user, job_scope(job))


def submit(kind: str, params: dict[str, Any], task: str, *task_args: Any, created_by: int | None = None) -> Job:
    """A queued job whose task ``task`` (a stable task name) is sent with ``(*task_args, job.id)`` once the caller
    commits: a job row that was rolled back is never run, and a task never looks for a row not yet committed.

    The send is best effort: a broker that refuses it after the commit is logged, and the caller answers with the
    job as it is (queued, committed), never "nothing was done" (a client would submit it again, and make a second
    job); :func:`resend_lost` (beat's ``sweepers.jobs``) sends it later."""
    job = create_job(kind, params, created_by=created_by)
    enqueue_after_commit(task, *task_args, job.id, best_effort=True)
    return job


#: The kinds of which one job per subject may be queued or running at a time, and the param that names the subject:
#: a lists build of a programme (a second one would run the whole registry again for nothing).
ONE_OPEN: dict[str, str] = {"lists.build": "program"}

#: Held from the look for an open job of a kind and subject to the end of the transaction that may insert one.
_OPEN_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('disburse.job.open'), hashtext(:key))")


def open_job(kind: str, subject: str) -> Job | None:
    """The queued or running job of ``kind`` (one of :data:`ONE_OPEN`) about ``subject``, or None; the caller's
    transaction then holds the lock of that kind and subject until it ends, so that a job it submits when there is
    none is the only one: a second start at the same moment waits for the first's commit, then finds its job (a look
    and an insert without the lock let both look before either inserted, and made two jobs)."""
    db.session.execute(_OPEN_LOCK, {"key": f"{kind}:{subject}"})
    return db.session.scalar(
        select(Job)
        .where(
            Job.kind == kind,
            Job.params[ONE_OPEN[kind]].astext == subject,
            Job.state.in_(("queued", "running")),
        )
        .order_by(Job.id.desc())
        .limit(1)
    )


#: How long a queued job waits before its task is taken for lost (:func:`resend_lost`): far more than the moment
#: between a job's commit and its task's send.
RESEND_GRACE_S = 60.0


def resend_lost(*, grace_s: float = RESEND_GRACE_S) -> list[int]:
    """Send again, after the caller commits, the task of every job queued for longer than ``grace_s`` whose queue
    holds no message: its task never left (the broker refused it after the job's commit, :func:`submit`) or was
    lost with Redis's data. A queue that still holds messages is left alone (the job's may be among them; the next
    sweep looks again). A job whose message a busy worker holds may be sent twice: the second delivery finds it
    started and does nothing (:func:`start`). A kind without a task to run it (:data:`RETRY_TASKS`) is left to
    :func:`fail_abandoned`. The ids sent."""
    queued = db.session.scalars(
        select(Job)
        .where(Job.state == "queued", Job.created_at < text("now() - make_interval(secs => :grace)"))
        .params(grace=grace_s)
        .order_by(Job.id)
    )
    empty: dict[str, bool] = {}
    sent = []
    for job in queued:
        found = retry_task(job)
        if found is None:
            continue
        task, args = found
        queue = TASK_QUEUES[task]
        if queue not in empty:
            empty[queue] = queued_messages(queue) == 0
        if empty[queue]:
            enqueue_after_commit(task, *args, job.id, best_effort=True)
            sent.append(job.id)
    if sent:
        log.warning("jobs whose task was lost, sent again: %s", sent, extra={"job_ids": sent})
    return sent


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


class JobFailed(Exception):
    """Raised by a job's work for an expected failure: the work is rolled back, the job failed with the message for
    people, in Vietnamese and English. The job's ``error`` keeps both ("vi / en", for logs and API clients); its
    result keeps each (``message_vi``, ``message_en``), for its page to show the one of the reader's language."""

    def __init__(self, message_vi: str, message_en: str, result: dict[str, Any] | None = None) -> None:
        self.message = f"{message_vi} / {message_en}"
        super().__init__(self.message)
        self.result = {**(result or {}), "message_vi": message_vi, "message_en": message_en}


#: What a job's page tells anyone but an admin when the job failed unexpectedly (a bug, a statement the database
#: refused): the exception's text names the software behind and, for SQLAlchemy's errors, carries the statement and
#: its parameters (people's data). The text is logged when the job fails and kept on the job for admins.
UNEXPECTED = (
    "Công việc số {id} bị lỗi. Hãy thử lại; nếu vẫn lỗi, hãy liên hệ bộ phận hỗ trợ và cho biết số công việc.",
    "Job {id} failed. Try again; if it fails again, contact support giving the job number.",
)


def error_words(job: Job, *, technical: bool = False) -> tuple[str, str] | None:
    """A failed job's message as (Vietnamese, English): the two the failure gave (:class:`JobFailed`, the sweeper's);
    for an unexpected error, its technical text twice (its type and message) when ``technical`` (an admin reads),
    else :data:`UNEXPECTED`; None when the job has no error."""
    if not job.error:
        return None
    result = job.result or {}
    vi, en = result.get("message_vi"), result.get("message_en")
    if isinstance(vi, str) and isinstance(en, str) and vi and en:
        return vi, en
    if technical:
        return job.error, job.error
    return UNEXPECTED[0].format(id=job.id), UNEXPECTED[1].format(id=job.id)


class _Throttled:
    """Progress written at most every :data:`PROGRESS_EVERY_S`, and always at the end; remembers the last figures."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.last_write = 0.0
        self.done = 0
        self.total: int | None = None

    def __call__(self, done: int, total: int | None) -> None:
        self.done, self.total = done, total
        now = time.monotonic()
        if now - self.last_write >= PROGRESS_EVERY_S or (total is not None and done >= total):
            self.last_write = now
            progress(self.job_id, done, total)


#: The advisory lock ``(hashtext('disburse.job'), job id)`` is held by the process running the job, on a connection
#: of its own, for as long as the work runs: when that process dies, PostgreSQL ends its connection and the lock is
#: gone, which is how :func:`fail_abandoned` tells an abandoned job from a slow one.
_TAKE = text("SELECT pg_advisory_lock(hashtext('disburse.job'), CAST(:id AS integer))")
_RELEASE = text("SELECT pg_advisory_unlock(hashtext('disburse.job'), CAST(:id AS integer))")

#: What a job's page says when the process running it died (beat's ``sweepers.jobs`` wrote it).
ABANDONED = (
    "Tiến trình chạy việc này đã dừng giữa chừng (máy chủ hoặc worker bị tắt); chưa có gì được ghi. Hãy chạy lại.",
    "The process running this job stopped part-way (a server or worker was shut down); nothing was saved. "
    "Run it again.",
)
#: And when a job waited far longer than any queue does (its task was lost, e.g. with a Redis that lost its data).
NEVER_STARTED = (
    "Việc này chờ quá lâu mà chưa được chạy (yêu cầu chạy đã bị mất); chưa có gì được ghi. Hãy chạy lại.",
    "This job waited too long without starting (its request to run was lost); nothing was saved. Run it again.",
)


@contextmanager
def _running(job_id: int) -> Iterator[None]:
    """Hold the job's running lock while the block runs (see :data:`_TAKE`)."""
    conn = db.engine.connect()
    try:
        conn.execute(_TAKE, {"id": job_id})
        conn.commit()  # a session-level lock: it outlives this transaction and every one of the work's
        yield
        conn.execute(_RELEASE, {"id": job_id})
        conn.commit()
    except BaseException:
        conn.invalidate()  # never back to the pool holding the lock: closing the connection drops it
        raise
    finally:
        conn.close()


def fail_abandoned(*, running_grace_s: float = 120.0, queued_max_s: float = 6 * 3600.0) -> list[int]:
    """Fail the jobs nobody is running any more, so that none stays "running" or "queued" for ever; the ids failed.

    A running job is abandoned when its running lock is free (its process died: killed, machine restarted) and its
    heartbeat is older than ``running_grace_s`` (the lock is taken just after the job starts). A queued job is
    abandoned after ``queued_max_s`` without starting. Their pages then say so and an admin can run them again; a
    late delivery of the lost task finds the job failed and does nothing. The caller commits."""
    rows = db.session.execute(
        text(
            """UPDATE jobs SET state = 'failed',
                       error = CASE WHEN state = 'running' THEN :abandoned ELSE :never_started END,
                       result = coalesce(result, '{}'::jsonb) || CASE WHEN state = 'running'
                           THEN jsonb_build_object('message_vi', CAST(:abandoned_vi AS text),
                                                   'message_en', CAST(:abandoned_en AS text))
                           ELSE jsonb_build_object('message_vi', CAST(:never_started_vi AS text),
                                                   'message_en', CAST(:never_started_en AS text)) END,
                       finished_at = now(), heartbeat_at = now()
                WHERE id IN (
                    SELECT id FROM jobs
                    WHERE (state = 'running' AND heartbeat_at < now() - make_interval(secs => :grace)
                           AND pg_try_advisory_xact_lock(hashtext('disburse.job'), id::integer))
                       OR (state = 'queued' AND created_at < now() - make_interval(secs => :queued_max))
                    FOR UPDATE SKIP LOCKED)
                RETURNING id"""
        ),
        {
            "abandoned": " / ".join(ABANDONED),
            "never_started": " / ".join(NEVER_STARTED),
            "abandoned_vi": ABANDONED[0],
            "abandoned_en": ABANDONED[1],
            "never_started_vi": NEVER_STARTED[0],
            "never_started_en": NEVER_STARTED[1],
            "grace": running_grace_s,
            "queued_max": queued_max_s,
        },
    ).scalars()
    failed = sorted(rows)
    if failed:
        log.warning("jobs failed as abandoned: %s", failed, extra={"job_ids": failed})
    return failed


def run_job(job_id: int, kind_prefix: str, work: Callable[[Job, Progress], dict[str, Any]]) -> None:
    """Run ``work(job, progress)`` for the queued job ``job_id`` and record how it ended; the task's whole body.

    A job that is not queued (redelivered, already run, unknown, of another kind) is left alone. ``work`` does
    the job inside one transaction and returns the result to store; its changes and the job's success commit
    together. :class:`JobFailed` or any other exception rolls the work back and fails the job with the message; work
    that PostgreSQL aborted to break a deadlock is rolled back and run again (:func:`~disburse.bulk.after_deadlocks`).
    """
    job = start(job_id, kind_prefix=kind_prefix)
    if job is None:
        db.session.rollback()
        log.info("job %s is not a queued %s job; nothing to do", job_id, kind_prefix, extra={"job_id": job_id})
        return
    db.session.commit()
    with _running(job_id):
        _run(job, work)


def _run(job: Job, work: Callable[[Job, Progress], dict[str, Any]]) -> None:
    job_id = job.id

    def attempt() -> None:
        reporter = _Throttled(job_id)
        result = work(job, reporter)
        finished = db.session.get(Job, job_id)
        assert finished is not None, "the job row was locked by start() and cannot have gone"
        if reporter.done:
            finished.done = reporter.done
            finished.total = reporter.total if reporter.total is not None else reporter.done
        finish(finished, result=result)
        db.session.commit()  # the work and the job's success land together

    try:
        # A deadlock's victim (another writer of the claims' rollups) is run again, not failed for a user to retry.
        after_deadlocks(attempt, on_retry=lambda: log.warning("job %s was a deadlock's victim; run again", job_id))
    except JobFailed as exc:
        db.session.rollback()
        fail(job_id, exc.message, exc.result)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.exception("job %s failed", job_id, extra={"job_id": job_id})
        fail(job_id, f"{type(exc).__name__}: {exc}")
        db.session.commit()


# ------------------------------------------------------------------------------------------ pages and retries

#: How a failed job of each kind is run again: kind prefix → (the task's stable name, the task's arguments before
#: the job id, from the job's params). A kind not listed here cannot be retried from the admin's page.
RETRY_TASKS: dict[str, tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]]]] = {
    "import.": ("imports.run", lambda _params: ()),
    "form02.": ("forms.form_02", lambda _params: ()),
    "lists.": ("lists.build", lambda params: (params["program"],)),
    "notices.": ("notices.district_day", lambda _params: ()),
    "export.": ("exports.dashboard", lambda _params: ()),
}


class RetryRefused(Exception):
    """A job that cannot be run again; ``message_vi`` / ``message_en`` say why."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en


def retry_task(job: Job) -> tuple[str, tuple[Any, ...]] | None:
    """The task that runs ``job`` and its arguments before the job id; None for a kind that cannot be retried."""
    for prefix, (task, args) in RETRY_TASKS.items():
        if job.kind.startswith(prefix):
            try:
                return task, args(job.params)
            except (KeyError, TypeError):
                return None
    return None


def can_retry(job: Job) -> bool:
    """Whether ``job`` may be run again (:func:`retry` would not refuse it): failed, of a kind with a task, not run
    again already, and for an import, its uploaded file still on the server and not the cause of the failure."""
    if job.state != "failed" or retry_task(job) is None or (job.result or {}).get("retried_by"):
        return False
    return not (job.kind.startswith("import.") and (upload_gone(job) or failed_on_its_file(job)))


def failed_on_its_file(job: Job) -> bool:
    """Whether ``job``, an import, failed on the file it was given, as the importer records it: a file it cannot use
    at all (not UTF-8, no data rows, a damaged workbook: ``exit_code`` 2, as the command's), or rows refused when
    nothing was to be imported if any row is (``applied`` false). Run again, it fails the same way: a corrected file
    is what helps. Its worker lost (the sweeper's failure) or an error of ours (a database's) are run again."""
    result = job.result or {}
    return (
        job.state == "failed"
        and job.kind.startswith("import.")
        and (result.get("exit_code") == 2 or result.get("applied") is False)
    )


def upload_gone(job: Job) -> bool:
    """Whether the file uploaded for ``job`` (an import) is no longer on the server (swept after its retention)."""
    path = job.params.get("path")
    return not path or not Path(str(path)).is_file()


def retry(job_id: int, *, actor_id: int | None) -> Job:
    """A new queued job with the failed job ``job_id``'s kind and params, run by the same task once the caller
    commits; its params name the job it retries (``retry_of``). The failed job's row is locked so that two admins
    retrying at once make one new job; a job already retried, not failed or of a kind without a task is refused, and
    so is a job of which one per subject runs at a time (:data:`ONE_OPEN`) while another is queued or running."""
    old = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
    if old is None:
        raise LookupError(job_id)
    if old.state != "failed":
        raise RetryRefused("Chỉ chạy lại được công việc bị lỗi.", "Only a failed job can be run again.")
    found = retry_task(old)
    if found is None:
        raise RetryRefused("Loại công việc này không chạy lại được.", "A job of this kind cannot be run again.")
    if (old.result or {}).get("retried_by"):
        raise RetryRefused(
            f"Công việc này đã được chạy lại (công việc số {old.result['retried_by']}).",
            f"This job was already run again (job {old.result['retried_by']}).",
        )
    if failed_on_its_file(old):
        raise RetryRefused(
            "Lỗi nằm ở chính tệp nên chạy lại cũng lỗi như vậy: hãy sửa tệp rồi tải lên lại.",
            "The failure is in the file itself, so running it again fails the same way: correct the file and upload "
            "it again.",
        )
    if old.kind.startswith("import.") and upload_gone(old):
        raise RetryRefused(
            "Tệp đã tải lên không còn trên máy chủ: hãy tải tệp lên lại.",
            "The uploaded file is no longer on the server: upload it again.",
        )
    subject = ONE_OPEN.get(old.kind)
    running = open_job(old.kind, str(old.params.get(subject))) if subject else None
    if running is not None:
        raise RetryRefused(
            f"Công việc số {running.id} cùng loại đang chờ hoặc đang chạy: không cần chạy lại công việc này.",
            f"Job {running.id} of the same kind is queued or running: this one need not run again.",
        )
    task, args = found
    params = {key: value for key, value in old.params.items() if key != "retry_of"} | {"retry_of": old.id}
    new = submit(old.kind, params, task, *args, created_by=actor_id)
    old.result = {**(old.result or {}), "retried_by": new.id}
    db.session.flush()
    return new


def export_dir() -> Path:
    """Where jobs write the files people download (``DISBURSE_EXPORT_DIR``)."""
    return Path(current_app.config["DISBURSE_EXPORT_DIR"])


def upload_dir() -> Path:
    """Where uploaded files wait for the jobs that read them (``DISBURSE_UPLOAD_DIR``)."""
    return Path(current_app.config["DISBURSE_UPLOAD_DIR"])


def download_file(job: Job) -> tuple[Path, str] | None:
    """The file a finished job offers for download and the name to give it, per the result contract
    ``{"file": <a name inside the export directory>, "filename": <download name>}``; None when there is none, the
    name leaves the export directory (``..``, an absolute path, a link out), or the file is gone."""
    result = job.result or {}
    name, filename = result.get("file"), result.get("filename")
    if not isinstance(name, str) or not name or not isinstance(filename, str) or not filename:
        return None
    root = export_dir().resolve()
    try:
        path = (root / name).resolve()
    except (OSError, ValueError):
        return None
    if not path.is_relative_to(root) or path == root or not path.is_file():
        return None
    return path, filename


def file_deleted(job: Job) -> bool:
    """The job wrote a file to download, and the file is gone (past its retention: :func:`delete_old_files`)."""
    return job.state == "succeeded" and bool((job.result or {}).get("file")) and download_file(job) is None


def delete_old_files(*, now: datetime | None = None) -> int:
    """Delete the files in the upload and export folders older than ``DISBURSE_FILE_RETENTION_DAYS`` (registry files,
    exports, refused rows: people's data, kept no longer than the work needs), except a file a queued or running job
    still reads or writes; how many. A finished job's page then has no download and its retry asks for the file again
    (:func:`retry`). Only plain files in the two folders and their subfolders are deleted, never a link or what it
    points to; the folders stay."""
    cutoff = (now or _now()).timestamp() - current_app.config["DISBURSE_FILE_RETENTION_DAYS"] * 86400
    exports = export_dir()
    in_use: set[str] = set()
    for params, result in db.session.execute(
        select(Job.params, Job.result).where(Job.state.in_(("queued", "running")))
    ):
        if isinstance((params or {}).get("path"), str):
            in_use.add(os.path.realpath(params["path"]))
        if isinstance((result or {}).get("file"), str):
            in_use.add(os.path.realpath(exports / result["file"]))
    deleted = 0
    for folder in (current_app.config["DISBURSE_UPLOAD_DIR"], exports):
        for where, _folders, names in os.walk(folder):  # links to folders are not followed
            for name in names:
                path = os.path.join(where, name)
                try:
                    info = os.lstat(path)
                    if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff and os.path.realpath(path) not in in_use:
                        os.unlink(path)
                        deleted += 1
                except FileNotFoundError:  # deleted meanwhile (another sweep, an admin)
                    continue
    log.info("deleted %d file(s) older than %d days", deleted, current_app.config["DISBURSE_FILE_RETENTION_DAYS"])
    return deleted


def job_kinds() -> list[str]:
    """Every kind of job there is, for the list's filter."""
    return list(db.session.scalars(select(Job.kind).distinct().order_by(Job.kind)))


def list_jobs(*, state: str | None, kind: str | None, before: int | None, limit: int) -> tuple[list[Job], int | None]:
    """Jobs newest first (by id), filtered; a page of ``limit`` and the id the next page starts before (or None)."""
    query = select(Job).order_by(Job.id.desc()).limit(limit + 1)
    if state:
        query = query.where(Job.state == state)
    if kind:
        query = query.where(Job.kind == kind)
    if before:
        query = query.where(Job.id < before)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else None


def jobs_started_by(user_id: int, *, limit: int) -> list[Job]:
    """The jobs ``user_id`` started, newest first, ``limit`` at most."""
    query = select(Job).where(Job.created_by == user_id).order_by(Job.id.desc()).limit(limit)
    return list(db.session.scalars(query))


def user_emails(ids: set[int]) -> dict[int, str]:
    from disburse.auth.models import User

    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.email).where(User.id.in_(ids)))
    return {user_id: email for user_id, email in rows}
