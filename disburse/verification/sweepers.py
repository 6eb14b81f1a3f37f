"""Deadline and SLA sweepers (run by beat, ``workers/sweepers.py``), and the sweep that makes sure no claim waits
for verification for ever.

Each sweep is a chunk function: it selects one chunk of due claims with an index made for it (migration 0008),
acts on them through the claims service (``FOR UPDATE`` / ``FOR SHARE`` ``SKIP LOCKED``: a claim someone is
changing right now is left for the next sweep), flushes, and returns how many it acted on and the keyset cursor of
the next chunk (None when the sweep is done). The task commits after each chunk, so a sweep of a million claims is a
series of short transactions, and a sweep stopped half-way simply continues at the next beat.

* :func:`mark_overdue_employers`: listed claims whose employer let ``review_due_on`` pass (the day after it) →
  ``mark_overdue`` (that transition's event is the record, written once because the state changes once), and the
  claims are sent to verification, where they go to review (``not_confirmed_by_employer``).
* :func:`note_application_sla`: Form 04 claims not paid or closed ``application_payment_wd`` working days after
  the application was received → an ``sla_breach`` note with ``deadline = application_payment``.
* :func:`note_payment_sla`: claims not paid or closed after their ``payment_due_on`` → an ``sla_breach`` note
  with ``deadline = payment_due``.
* :func:`close_out`: after the programme's last payable day, claims that nobody will pay any more (approved, after a
  failed payment, or waiting at the office for cash) → ``needs_review`` with the reason ``payment_period_ended``,
  for a caseworker to send the written refusal (a cash payment still on its office's list is taken off it first).

An SLA breach is noted once per claim and deadline: the chunk leaves out claims already noted, and a unique index
(``uq_claim_events_sla_breach``) refuses a second note even from two sweeps at once. The notes carry the due date,
so the ageing figures can be read from them. Two sweeps of one kind do not overlap anyway: the task holds a Redis
lock (:func:`sweep_lock`).

:func:`sweep_waiting` sends every claim that still waits for verification after a grace period (its
``verification.verify`` task lost, its worker killed mid-batch) to the verification queue as id ranges, unless that
queue still holds work (which will get there first).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import redis
from flask import current_app
from sqlalchemy import select, text

from disburse.background import QueueNames
from disburse.claims import service as claims
from disburse.claims.states import ClaimAction, ClaimNote
from disburse.extensions import db, redis_client
from disburse.programs.calendar import add_working_days
from disburse.programs.models import Program
from disburse.verification import checks
from disburse.verification import service as verification

#: Claims per chunk (per transaction).
CHUNK = 10_000
#: A claim changed less than this long ago may still have its verification task in flight.
WAITING_GRACE = timedelta(minutes=5)
#: While the verification queue still holds messages, a claim changed less than this long ago may be behind them; one
#: waiting longer lost its message (a Redis restart, a task dropped after its retries) and is sent again even during a
#: peak of Forms 02, which keeps the queue from ever being empty at the sweep's turn. A second message for a claim
#: already verified costs one index probe: verification takes only claims still waiting.
BUSY_GRACE = timedelta(hours=1)
#: A sweep's Redis lock expires after this long even if its worker died holding it.
LOCK_TIMEOUT_S = 15 * 60

DEADLINE_EMPLOYER_REVIEW = "employer_review"
DEADLINE_APPLICATION_PAYMENT = "application_payment"
DEADLINE_PAYMENT = "payment_due"

#: The cursor of a keyset walk: (due date, claim id) of the last claim of the previous chunk.
Cursor = tuple[date, int]
_START: Cursor = (date.min, 0)
#: Must read exactly as the partial indexes' predicate (migration 0008), so that the planner uses them.
_OPEN = "state NOT IN ('paid', 'rejected', 'declined', 'removed')"


def programs() -> list[Program]:
    return list(db.session.scalars(select(Program).order_by(Program.id)).all())


# --------------------------------------------------------------------------------------------- employer review

_LISTED_DUE = text(
    """SELECT id, review_due_on FROM claims
       WHERE program_id = :program_id AND state = 'listed' AND review_due_on < :today
         AND (review_due_on, id) > (:after_date, :after_id)
       ORDER BY review_due_on, id LIMIT :chunk"""
)


def mark_overdue_employers(
    program: Program, today: date, *, after: Cursor | None = None, chunk: int = CHUNK
) -> tuple[int, Cursor | None]:
    """One chunk: listed claims of ``program`` whose ``review_due_on`` is before ``today`` → ``employer_overdue``,
    then verification (after the commit). Returns (claims moved, cursor of the next chunk or None)."""
    after_date, after_id = after or _START
    rows = db.session.execute(
        _LISTED_DUE,
        {"program_id": program.id, "today": today, "after_date": after_date, "after_id": after_id, "chunk": chunk},
    ).all()
    if not rows:
        return 0, None
    moved = claims.transition_many(
        ClaimAction.MARK_OVERDUE,
        ids=[row.id for row in rows],
        program_id=program.id,
        data={"deadline": DEADLINE_EMPLOYER_REVIEW, "noted_on": today.isoformat()},
        skip_locked=True,
    )
    verification.request_verification(moved.moved_ids)
    return len(moved.moved), _next(rows, chunk)


def _next(rows: Sequence[Any], chunk: int) -> Cursor | None:
    return (rows[-1][1], rows[-1][0]) if len(rows) == chunk else None


# ------------------------------------------------------------------------------------------------ the two SLAs


def last_base_breached(today: date, working_days: int) -> date:
    """The last base date whose ``working_days``-working-day SLA has passed by ``today``: a claim is late exactly
    when its base date is on or before it (``add_working_days`` never decreases as the base date grows)."""
    day = today - timedelta(days=1)
    while add_working_days(day, working_days) >= today:
        day -= timedelta(days=1)
    return day


_APPLICATIONS_DUE = text(
    f"""SELECT c.id, c.applied_on FROM claims c
        WHERE c.program_id = :program_id AND c.applied_on IS NOT NULL AND {_OPEN.replace("state", "c.state")}
          AND c.applied_on <= :last_base AND (c.applied_on, c.id) > (:after_date, :after_id)
          AND NOT EXISTS (SELECT 1 FROM claim_events e
                          WHERE e.claim_id = c.id AND e.action = 'sla_breach' AND e.data ->> 'deadline' = :deadline)
        ORDER BY c.applied_on, c.id LIMIT :chunk"""
)

_PAYMENTS_DUE = text(
    f"""SELECT c.id, c.payment_due_on FROM claims c
        WHERE c.program_id = :program_id AND c.payment_due_on IS NOT NULL AND {_OPEN.replace("state", "c.state")}
          AND c.payment_due_on < :today AND (c.payment_due_on, c.id) > (:after_date, :after_id)
          AND NOT EXISTS (SELECT 1 FROM claim_events e
                          WHERE e.claim_id = c.id AND e.action = 'sla_breach' AND e.data ->> 'deadline' = :deadline)
        ORDER BY c.payment_due_on, c.id LIMIT :chunk"""
)


@lru_cache(maxsize=4096)
def _application_due(applied_on: date, working_days: int) -> date:
    return add_working_days(applied_on, working_days)


def note_application_sla(
    program: Program, today: date, *, after: Cursor | None = None, chunk: int = CHUNK
) -> tuple[int, Cursor | None]:
    """One chunk: Form 04 claims of ``program`` still unpaid and open the day after their
    ``application_payment_wd`` working days ran out → one ``sla_breach`` note each (deadline
    ``application_payment``, with the due date). Returns (claims noted, cursor of the next chunk or None)."""
    after_date, after_id = after or _START
    working_days = program.application_payment_wd
    rows = db.session.execute(
        _APPLICATIONS_DUE,
        {
            "program_id": program.id,
            "last_base": last_base_breached(today, working_days),
            "after_date": after_date,
            "after_id": after_id,
            "deadline": DEADLINE_APPLICATION_PAYMENT,
            "chunk": chunk,
        },
    ).all()
    items = [
        (
            row.id,
            _breach(
                DEADLINE_APPLICATION_PAYMENT,
                _application_due(row.applied_on, working_days),
                today,
            ),
        )
        for row in rows
    ]
    noted = claims.note_many(ClaimNote.SLA_BREACH, items)
    return len(noted), _next(rows, chunk)


def note_payment_sla(
    program: Program, today: date, *, after: Cursor | None = None, chunk: int = CHUNK
) -> tuple[int, Cursor | None]:
    """One chunk: claims of ``program`` still unpaid and open after their ``payment_due_on`` → one ``sla_breach``
    note each (deadline ``payment_due``). Returns (claims noted, cursor of the next chunk or None)."""
    after_date, after_id = after or _START
    rows = db.session.execute(
        _PAYMENTS_DUE,
        {
            "program_id": program.id,
            "today": today,
            "after_date": after_date,
            "after_id": after_id,
            "deadline": DEADLINE_PAYMENT,
            "chunk": chunk,
        },
    ).all()
    items = [(row.id, _breach(DEADLINE_PAYMENT, row.payment_due_on, today)) for row in rows]
    noted = claims.note_many(ClaimNote.SLA_BREACH, items)
    return len(noted), _next(rows, chunk)


def _breach(deadline: str, due_on: date, today: date) -> dict[str, Any]:
    return {"deadline": deadline, "due_on": due_on.isoformat(), "noted_on": today.isoformat()}


# ------------------------------------------------------------------------------------------------ close-out

#: The claims the close-out acts on, a chunk in id order: waiting to be paid (approved), after a failed payment, or
#: with a cash payment still on its office's list (its id); a bank payment handed over before the day is left to
#: settle or fail (what the bank does stands).
_UNPAID_AT_END = text(
    """SELECT c.id, cash.id AS payment_id FROM claims c
       LEFT JOIN LATERAL (
           SELECT p.id FROM payments p JOIN payment_batches b ON b.id = p.batch_id
           WHERE p.claim_id = c.id AND p.state IN ('queued', 'sent') AND b.channel = 'cash'
       ) cash ON c.state = 'payment_pending'
       WHERE c.program_id = :program_id AND c.id > :after_id
         AND (c.state IN ('approved', 'payment_failed', 'awaiting_payment_details')
              OR (c.state = 'payment_pending' AND cash.id IS NOT NULL))
       ORDER BY c.id LIMIT :chunk"""
)


def close_out(
    program: Program, today: date, *, after: Cursor | None = None, chunk: int = CHUNK
) -> tuple[int, Cursor | None]:
    """One chunk, once ``today`` is past the programme's last payable day (before it, nothing): the claims nobody will
    pay any more are sent to a caseworker, who owes the person a written answer (docs/rules.md, section 4). A cash
    payment still on its office's list fails (:data:`~disburse.payments.reasons.CASH_PERIOD_ENDED`) and its claim
    with it (``payment_failed``); then every such claim, approved or after a failed payment, → ``needs_review`` with
    the reason ``payment_period_ended`` alone (the one thing to decide now), all through the transition paths,
    set-based. Returns (claims sent to review, cursor of the next chunk or None)."""
    from disburse.payments import reasons as payment_reasons
    from disburse.payments import service as payments
    from disburse.payments.states import PaymentAction
    from disburse.verification import reasons

    if payments.payable(program, today):
        return 0, None
    _, after_id = after or _START
    rows = db.session.execute(_UNPAID_AT_END, {"program_id": program.id, "after_id": after_id, "chunk": chunk}).all()
    if not rows:
        return 0, None
    last = program.last_payable_day.isoformat()
    cash = [(row.id, row.payment_id) for row in rows if row.payment_id is not None]
    if cash:
        code = payment_reasons.CASH_PERIOD_ENDED
        data = {"source": "close_out", "last_payable_day": last}
        failed = payments.transition_many(
            PaymentAction.FAIL, ids=[payment_id for _, payment_id in cash], reason=code, data=data, skip_locked=True
        )
        claim_of = {payment_id: claim_id for claim_id, payment_id in cash}
        claims.transition_many(
            ClaimAction.PAYMENT_FAILED,
            ids=sorted(claim_of[payment_id] for payment_id in failed.moved_ids),
            program_id=program.id,
            reason=payment_reasons.label(code)[0],
            data={"code": code, **data},
        )
    flagged = claims.flag_for_review_many(
        [row.id for row in rows],
        [reasons.PAYMENT_PERIOD_ENDED],
        program_id=program.id,
        reason=reasons.written_reason([reasons.PAYMENT_PERIOD_ENDED]),
        data={"reasons": [reasons.PAYMENT_PERIOD_ENDED], "last_payable_day": last, "noted_on": today.isoformat()},
        skip_locked=True,
    )
    return len(flagged.moved), (program.last_payable_day, rows[-1].id) if len(rows) == chunk else None


# ------------------------------------------------------------------------------------------ no claim waits

_WAITING_RANGES = text(
    f"""SELECT min(id), max(id), count(*) FROM (
            SELECT id, (row_number() OVER (ORDER BY id) - 1) / :batch AS part FROM claims
            WHERE program_id = :program_id AND state IN ({checks.WAITING_SQL})
              AND updated_at < now() - CAST(:grace AS interval)
        ) waiting
        GROUP BY part ORDER BY 1"""
)


def waiting_ranges(
    program: Program, *, grace: timedelta = WAITING_GRACE, batch: int | None = None
) -> list[tuple[int, int, int]]:
    """(first id, last id, claims) of consecutive runs of at most ``batch`` claims of ``program`` that have waited
    for verification longer than ``grace``."""
    rows = db.session.execute(
        _WAITING_RANGES,
        {"program_id": program.id, "grace": f"{grace.total_seconds()} seconds", "batch": batch or verification.BATCH},
    ).all()
    return [(int(first), int(last), int(count)) for first, last, count in rows]


def sweep_waiting(*, grace: timedelta = WAITING_GRACE, batch: int | None = None) -> int:
    """Send every claim that has waited for verification longer than ``grace`` to the verification queue, as
    ``verification.verify`` tasks over id ranges (after the caller's commit). Returns the claims sent."""
    sent = 0
    for program in programs():
        for first, last, count in waiting_ranges(program, grace=grace, batch=batch):
            verification.request_verification_range(first, last)
            sent += count
    return sent


# ---------------------------------------------------------------------------------------------------- Redis


def _redis() -> redis.Redis:
    return redis_client(current_app.config, socket_timeout=5, socket_connect_timeout=5)


def queued_verifications() -> int:
    """Messages waiting in the verification queue (Celery's Redis transport keeps a queue as a list of its name)."""
    client = _redis()
    try:
        return int(client.llen(QueueNames.VERIFICATION))
    finally:
        client.close()


@contextmanager
def sweep_lock(name: str, *, timeout_s: int = LOCK_TIMEOUT_S) -> Iterator[bool]:
    """A Redis lock so that two sweeps of one kind never overlap; yields whether this sweep holds it (if not,
    another is running and this one should return). The lock expires after ``timeout_s`` should its holder die."""
    client = _redis()
    lock = client.lock(f"disburse:sweep:{name}", timeout=timeout_s, blocking=False)
    acquired = bool(lock.acquire(blocking=False))
    try:
        yield acquired
    finally:
        if acquired:
            # Expired and perhaps taken by another sweep since: not ours to release.
            with suppress(redis.exceptions.LockError):
                lock.release()
        client.close()
