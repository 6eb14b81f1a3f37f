"""``payments.*`` and ``sweepers.payments``: batches, sending, callbacks applied, and the chase of unpaid cases.

Thin, like every task module: the work is :mod:`disburse.payments.sending` and :mod:`disburse.payments.events`.

- ``payments.batch`` (beat, every minute): approved claims into batches, one commit per batch, each batch's send
  enqueued after its commit, a batch whose transaction a deadlock aborted made again
  (:func:`~disburse.bulk.after_deadlocks`); each batch starts after the last one's highest claim id (a claim approved
  meanwhile below it waits for the next minute's run).
- ``payments.send`` (``acks_late``): hand one batch over. A worker killed mid-call gets the message again, finds the
  batch sent and asks the provider before sending anything again; a provider that cannot be reached, or a bank file
  that cannot be written (an ``OSError``: the outbox missing, full or not writable), is retried with backoff. Two
  runs of one batch never hand it over together (the second returns at once: ``busy``).
- ``payments.apply_events``: stored callbacks applied, 500 at a time, until none is left.
- ``sweepers.payments`` (beat, every 5 minutes): every payment sent and not settled after
  ``DISBURSE_PAYMENT_STATUS_AFTER_S`` asked about, least recently asked first; every batch its provider has not
  acknowledged ``DISBURSE_PAYMENT_HANDOVER_AFTER_S`` after its last try handed over again, whatever the provider (its
  send task lost, given up, or its bank file never written; once per that age, not at every sweep); callbacks whose
  task was lost applied; refused callbacks older than ``DISBURSE_REFUSED_CALLBACK_DAYS`` (default 30) deleted.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

import sqlalchemy.exc
from celery import shared_task
from flask import current_app

from disburse.background import enqueue_after_commit
from disburse.bulk import after_deadlocks
from disburse.extensions import db
from disburse.payments import events, sending
from disburse.payments import service as payments
from disburse.payments.adapters import providers_heard
from disburse.payments.providers import RetryableError
from disburse.programs.calendar import programme_today
from disburse.verification import sweepers

log = logging.getLogger(__name__)

#: Stored callbacks older than this are the sweeper's (their task was lost).
LOST_AFTER = timedelta(minutes=2)
#: How long a dead worker's lock can hold up batching and the payments sweep (the shared default, 15 minutes, is
#: for the deadline sweeps). Short is safe here: two batchers never take the same claim (SKIP LOCKED), two chases
#: at most ask the bank twice (it never moves a reference twice), and appliers take turns.
BATCH_LOCK_S = 2 * 60
SWEEP_LOCK_S = 5 * 60


@shared_task(name="payments.batch")
def batch() -> int:
    """Every approved claim into a batch of its channel; -1 when another batching holds the lock. A programme whose
    last payable day has passed is left alone (its approved claims are not paid)."""
    size = int(current_app.config["DISBURSE_PAYMENT_BATCH_SIZE"])
    today = programme_today()
    made = 0
    with sweepers.sweep_lock("payment_batches", timeout_s=BATCH_LOCK_S) as held:
        if not held:
            return -1
        for program in sweepers.programs():
            if not payments.payable(program, today):
                continue
            for channel, provider in sending.channels():
                after = 0
                while True:
                    try:
                        made_one = after_deadlocks(
                            partial(_make_batch, program, channel, provider, size=size, after=after, today=today),
                            on_retry=_deadlocked,
                        )
                    except Exception:
                        db.session.rollback()
                        raise
                    if made_one is None:
                        break
                    after = payments.last_claim_id(made_one.id)
                    made += 1
    if made:
        log.info("made %d payment batches", made)
    return made


def _make_batch(program: Any, channel: str, provider: str, **kwargs: Any) -> Any:
    """One batch made and committed (:func:`disburse.payments.sending.make_batch`)."""
    batch = sending.make_batch(program, channel, provider, **kwargs)
    db.session.commit()
    return batch


def _deadlocked() -> None:
    log.warning("a payment batch was a deadlock's victim; making it again")


@shared_task(
    name="payments.send",
    acks_late=True,
    autoretry_for=(RetryableError,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=12,
)
def send(batch_id: int) -> dict[str, Any]:
    try:
        result = sending.send_batch(int(batch_id))
    except Exception:
        db.session.rollback()
        raise
    log.info("sent batch %s", batch_id, extra=result.as_dict())
    return result.as_dict()


@shared_task(
    name="payments.apply_events",
    acks_late=True,
    # A deadlock with another writer of claims (verification, a caseworker) or a lost connection: try again soon.
    autoretry_for=(sqlalchemy.exc.OperationalError,),
    retry_backoff=1,
    retry_backoff_max=60,
    max_retries=8,
)
def apply_events(max_rounds: int = 100) -> dict[str, int]:
    total: dict[str, int] = {}
    for _ in range(max_rounds):
        try:
            processed = events.apply_stored()
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        for key, value in processed.as_dict().items():
            total[key] = total.get(key, 0) + value
        if processed.events == 0 or processed.events == processed.postponed:
            break
    return total


@shared_task(name="sweepers.payments")
def sweep() -> dict[str, Any]:
    """Chase what the provider has not answered; hand over again the batches no provider took; apply lost callbacks;
    forget old refused ones."""
    with sweepers.sweep_lock("payments", timeout_s=SWEEP_LOCK_S) as held:
        if not held:
            return {"skipped": True}
        try:
            handover_after = timedelta(seconds=int(current_app.config["DISBURSE_PAYMENT_HANDOVER_AFTER_S"]))
            lost = sending.batches_to_hand_over(handover_after)
            for batch_id in lost:
                enqueue_after_commit("payments.send", batch_id)
            db.session.commit()
            stale = events.apply_stored(older_than=LOST_AFTER)
            db.session.commit()
            refused = events.delete_refused(events.refused_kept_for())
            db.session.commit()
            after = timedelta(seconds=int(current_app.config["DISBURSE_PAYMENT_STATUS_AFTER_S"]))
            chased = {name: sending.chase(name, older_than=after).as_dict() for name in _providers()}
        except Exception:
            db.session.rollback()
            raise
    result = {
        "handed_over_again": len(lost),
        "stale_events": stale.as_dict(),
        "refused_events_deleted": refused,
        "chased": chased,
    }
    log.info("payments sweep", extra=result)
    return result


def _providers() -> list[str]:
    """The providers to chase: those batched for now, and any other payments were sent through (a changed
    ``DISBURSE_PAYMENT_PROVIDER`` must not leave them unasked for ever)."""
    return sorted({provider for _channel, provider in sending.channels()} | providers_heard())
