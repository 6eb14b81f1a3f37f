"""``notifications.*``: the e-mails to units (disburse.notifications).

Thin: ``notifications.send`` delivers what is due in the outbox (beat every minute, and after a commit that queued
something); ``notifications.reminders`` queues the Form 02 reminders of every programme (beat hourly);
``notifications.digests`` the daily "new bank details needed" digests (beat hourly in office hours, once a day each).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from celery import shared_task

from disburse.extensions import db
from disburse.notifications import service
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program
from disburse.verification import sweepers

log = logging.getLogger(__name__)


@shared_task(name="notifications.send")
def send() -> int:
    """Deliver the due messages, batch after batch, for up to about 50 s; the messages sent."""
    try:
        done = service.deliver_all()
    except Exception:
        db.session.rollback()
        raise
    if done.taken:
        log.info(
            "notifications: %d sent, %d to retry, %d failed, %d handed back",
            done.sent,
            done.retrying,
            done.failed,
            done.handed_back,
        )
    return done.sent


def _each_programme(queue: Callable[[Program, date], int]) -> int:
    """``queue`` for every programme on the programme clock's today, one transaction each; the rows queued."""
    today = programme_today()
    queued = 0
    for program in sweepers.programs():
        try:
            queued += queue(program, today)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return queued


@shared_task(name="notifications.reminders")
def reminders() -> int:
    """Queue the Form 02 reminders due today for every programme."""
    return _each_programme(service.queue_reminders)


@shared_task(name="notifications.digests")
def digests() -> int:
    """Queue today's "new bank details needed" digest of every unit that has people waiting for them, for every
    programme still taking Form 03."""
    return _each_programme(service.queue_details_needed)
