"""``payments.reconcile``: the nightly reconciliation beat sends (disburse.background.BEAT_SCHEDULE, 01:30 in
Vietnam): yesterday, by the programme clock, for the configured provider when disburse can fetch its statement
(the sandbox); bank files are reconciled by hand with their ``camt.053`` (``disburse payments reconcile --file``).

Thin: :func:`disburse.payments.reconcile.reconcile` records the result row (the supervisors' pages read it) and
marks the recoveries whose money came back; this commits, one day at a time. A bank that does not answer is asked
again later. A night whose run was lost (the bank down past every retry, beat or the worker stopped) is made up the
next night: every day of the last :data:`CATCH_UP_DAYS` without a run of the provider is reconciled too, from the
day its first batch was sent, so that no day's returns go unseen.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from celery import shared_task
from flask import current_app
from sqlalchemy import func, select

from disburse.extensions import db
from disburse.payments.models import PaymentBatch, Reconciliation
from disburse.payments.providers import RetryableError
from disburse.payments.reconcile import FETCHABLE, reconcile
from disburse.programs.calendar import VIETNAM_TZ, programme_today

log = logging.getLogger(__name__)


#: How many days back the nightly task looks for a day without a run of the provider.
CATCH_UP_DAYS = 7


def days_to_reconcile(provider: str, yesterday: date) -> list[date]:
    """Yesterday, and before it every day of the last :data:`CATCH_UP_DAYS` that has no run of ``provider`` and
    comes after its first batch was sent, oldest first."""
    first_sent = db.session.scalar(
        select(func.min(PaymentBatch.sent_at)).where(
            PaymentBatch.provider == provider, PaymentBatch.sent_at.is_not(None)
        )
    )
    if first_sent is None:
        return [yesterday]
    since = max(yesterday - timedelta(days=CATCH_UP_DAYS - 1), first_sent.astimezone(VIETNAM_TZ).date())
    done = set(
        db.session.scalars(
            select(Reconciliation.day).where(
                Reconciliation.provider == provider, Reconciliation.day >= since, Reconciliation.day < yesterday
            )
        )
    )
    missed = [since + timedelta(days=n) for n in range((yesterday - since).days)]
    return [day for day in missed if day not in done] + [yesterday]


@shared_task(
    name="payments.reconcile",
    autoretry_for=(RetryableError,),
    retry_backoff=60,
    retry_backoff_max=30 * 60,
    max_retries=6,
)
def reconcile_yesterday() -> dict[str, Any] | None:
    """Reconcile yesterday, after any day of the last week that was missed; yesterday's summary, with the days made
    up in ``caught_up``; None when the configured provider has no statement to fetch."""
    provider = current_app.config["DISBURSE_PAYMENT_PROVIDER"]
    if provider not in FETCHABLE:
        log.info("reconciliation: the %s provider has no statement to fetch; reconcile its files by hand", provider)
        return None
    days = days_to_reconcile(provider, programme_today() - timedelta(days=1))
    for day in days:
        try:
            result = reconcile(provider, day)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        summary = result.as_dict()
        if result.differences:
            log.warning(
                "reconciliation of %s for %s: %d differences", provider, day, len(result.differences), extra=summary
            )
        else:
            log.info("reconciliation of %s for %s: everything matched", provider, day, extra=summary)
    return summary | {"caught_up": [day.isoformat() for day in days[:-1]]}
