"""``sweepers.*``: the periodic sweeps beat sends (disburse.background.BEAT_SCHEDULE).

Thin: each takes its Redis lock (a sweep still running makes the next one return at once), walks every program
chunk by chunk through :mod:`disburse.verification.sweepers`, and commits after each chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

from celery import shared_task

from disburse.extensions import db
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program
from disburse.verification import sweepers

log = logging.getLogger(__name__)

Chunk = Callable[..., tuple[int, sweepers.Cursor | None]]


def _sweep(name: str, chunk: Chunk) -> int:
    """Run ``chunk`` over every program until each is done, committing after every chunk; -1 when another sweep of
    the same kind holds the lock."""
    with sweepers.sweep_lock(name) as held:
        if not held:
            log.info("sweep %s is already running", name)
            return -1
        today: date = programme_today()
        total = 0
        programs: list[Program] = sweepers.programs()
        for program in programs:
            cursor: sweepers.Cursor | None = None
            while True:
                try:
                    done, cursor = chunk(program, today, after=cursor)
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    raise
                total += done
                if cursor is None:
                    break
        log.info("sweep %s: %d claims", name, total)
        return total


@shared_task(name="sweepers.employer_overdue")
def employer_overdue() -> int:
    return _sweep("employer_overdue", sweepers.mark_overdue_employers)


@shared_task(name="sweepers.application_sla")
def application_sla() -> int:
    return _sweep("application_sla", sweepers.note_application_sla)


@shared_task(name="sweepers.payment_sla")
def payment_sla() -> int:
    return _sweep("payment_sla", sweepers.note_payment_sla)


@shared_task(name="sweepers.close_out")
def close_out() -> int:
    """After a programme's last payable day, its claims nobody will pay any more → a caseworker
    (:func:`disburse.verification.sweepers.close_out`)."""
    return _sweep("close_out", sweepers.close_out)


@shared_task(name="sweepers.verification")
def verification(grace_s: float | None = None) -> int:
    """Send the claims that still wait for verification to the verification queue. While that queue still holds
    messages, only the claims that have waited longer than :data:`~disburse.verification.sweepers.BUSY_GRACE` (theirs
    were lost; the others' get there first). -1 when another sweep is running."""
    with sweepers.sweep_lock("verification") as held:
        if not held:
            return -1
        grace = sweepers.WAITING_GRACE if grace_s is None else timedelta(seconds=grace_s)
        if sweepers.queued_verifications():
            grace = max(grace, sweepers.BUSY_GRACE)
        try:
            sent = sweepers.sweep_waiting(grace=grace)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return sent


@shared_task(name="sweepers.idempotency_keys")
def idempotency_keys() -> int:
    """Forget the API's Idempotency-Keys older than a day."""
    from disburse.api.idempotency import purge

    return purge()


@shared_task(name="sweepers.rollups")
def rollups() -> int:
    """Recompute every rollup level of every program from ``claims``, record and repair any drift
    (:func:`disburse.reports.rollups.repair`); one transaction per program. Returns the rows that were wrong, -1
    when another repair holds the lock (two at once would add a correction twice)."""
    from disburse.reports.rollups import refresh_reduction_totals, repair

    with sweepers.sweep_lock("rollups") as held:
        if not held:
            log.info("sweep rollups is already running")
            return -1
        wrong = 0
        for program in sweepers.programs():
            try:
                wrong += repair(program.id)
                refresh_reduction_totals(program.id)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
        if wrong:
            log.warning("sweep rollups: %d rollup rows drifted and were repaired", wrong)
        return wrong


@shared_task(name="sweepers.snapshots")
def snapshots() -> int:
    """Take today's completion snapshots (the programme clock's today) of every program, from the rollups;
    idempotent per day."""
    from disburse.reports.rollups import take_snapshots

    today: date = programme_today()
    written = 0
    for program in sweepers.programs():
        try:
            written += take_snapshots(program.id, today)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return written


@shared_task(name="sweepers.backlog")
def backlog() -> int:
    """Count the dashboards' backlog figures of every program for every area, as of the programme clock's today, and
    replace the stored ones (:func:`disburse.reports.backlog.refresh`); one transaction per program. Returns the rows
    written, -1 when another run holds the lock."""
    from disburse.reports.backlog import refresh

    with sweepers.sweep_lock("backlog") as held:
        if not held:
            log.info("sweep backlog is already running")
            return -1
        today: date = programme_today()
        written = 0
        for program in sweepers.programs():
            try:
                written += refresh(program.id, today)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
        return written


@shared_task(name="sweepers.jobs")
def jobs() -> int:
    """Fail the background jobs nobody runs any more (:func:`disburse.jobs.service.fail_abandoned`), then send again
    the task of the queued jobs whose task never left (:func:`disburse.jobs.service.resend_lost`); how many failed."""
    from disburse.jobs.service import fail_abandoned, resend_lost

    try:
        failed = fail_abandoned()
        resend_lost()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return len(failed)


@shared_task(name="sweepers.files")
def files() -> int:
    """Delete uploaded and exported files past their retention (:func:`disburse.jobs.service.delete_old_files`)."""
    from disburse.jobs.service import delete_old_files

    try:
        return delete_old_files()
    finally:
        db.session.rollback()  # it only read
