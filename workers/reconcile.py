"""``payments.reconcile``: the nightly reconciliation beat sends (disburse.background.BEAT_SCHEDULE, 01:30 in
Vietnam): yesterday, by the programme clock, for the configured provider when disburse can fetch its statement
(the sandbox); bank files are reconciled by hand with their ``camt.053`` (``disburse payments reconcile --file``).

Thin: :func:`disburse.payments.reconcile.reconcile` records the result row (the supervisors' pages read it) and
marks the recoveries whose money came back; this commits. A bank that does not answer is asked again later.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from flask import current_app

from disburse.extensions import db
from disburse.payments.providers import RetryableError
from disburse.payments.reconcile import FETCHABLE, reconcile
from disburse.programs.calendar import programme_today

log = logging.getLogger(__name__)


@shared_task(
    name="payments.reconcile",
    autoretry_for=(RetryableError,),
    retry_backoff=60,
    retry_backoff_max=30 * 60,
    max_retries=6,
)
def reconcile_yesterday() -> dict[str, Any] | None:
    """Reconcile yesterday; None when the configured provider has no statement to fetch."""
    provider = current_app.config["DISBURSE_PAYMENT_PROVIDER"]
    if provider not in FETCHABLE:
        log.info("reconciliation: the %s provider has no statement to fetch; reconcile its files by hand", provider)
        return None
    day = programme_today() - timedelta(days=1)
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
    return summary
