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
  Its first chunk closes the bank batches no provider ever took (:func:`close_unsent_batches`): their payments are
  withdrawn (``cancelled``) and their claims go the same way.

An SLA breach is noted once per claim and deadline: the chunk leaves out claims already noted, and a unique index
(``uq_claim_events_sla_breach``) refuses a second note even from two sweeps at once. The notes carry the due date,
so the ageing figures can be read from them. Two sweeps of one kind do not overlap anyway: the task holds a Redis
lock (:func:`sweep_lock`).

:func:`sweep_waiting` sends every claim that still waits for verification after a grace period (its
``verification.verify`` task lost, its worker killed mid-batch) to the verification queue as id ranges, unless that
queue still holds work (which will get there first); before that, it sends back to the queue the claims held by
someone who can no longer work them (a deactivated account, a scope that no longer covers them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from disburse.payments.models import PaymentBatch
    from disburse.payments.service import Withdrawn

log = logging.getLogger(__name__)

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
    set-based. The first chunk (``after`` None) closes the bank batches no provider ever took first
    (:func:`close_unsent_batches`, which commits batch by batch), their claims counted in. Returns (claims sent to
    review, cursor of the next chunk or None)."""
    from disburse.payments import reasons as payment_reasons
    from disburse.payments import service as payments
    from disburse.payments.states import PaymentAction
    from disburse.verification import reasons

    if payments.payable(program, today):
        return 0, None
    closed = close_unsent_batches(program, today) if after is None else 0
    _, after_id = after or _START
    rows = db.session.execute(_UNPAID_AT_END, {"program_id": program.id, "after_id": after_id, "chunk": chunk}).all()
    if not rows:
        return closed, None
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
            counted=False,  # not the details' failure, nor the bank's: the programme stopped paying
        )
    flagged = claims.flag_for_review_many(
        [row.id for row in rows],
        [reasons.PAYMENT_PERIOD_ENDED],
        program_id=program.id,
        reason=reasons.written_reason([reasons.PAYMENT_PERIOD_ENDED]),
        data={"reasons": [reasons.PAYMENT_PERIOD_ENDED], "last_payable_day": last, "noted_on": today.isoformat()},
        skip_locked=True,
    )
    return closed + len(flagged.moved), (program.last_payable_day, rows[-1].id) if len(rows) == chunk else None


#: The programme's bank batches no provider has taken (``acknowledged_at`` empty), still open or sent: after its last
#: payable day nobody hands them over any more (:func:`disburse.payments.sending.period_ended`). A handful at most
#: (``ix_payment_batches_unacknowledged``); a cash batch is the office's list, which the claims' close-out empties.
_UNSENT_BATCHES = text(
    """SELECT id FROM payment_batches
       WHERE program_id = :program_id AND channel = 'bank' AND acknowledged_at IS NULL AND state IN ('open', 'sent')
       ORDER BY id"""
)


def close_unsent_batches(program: Program, today: date) -> int:
    """After the programme's last payable day (before it, nothing), close every bank batch of ``program`` that no
    provider ever took, so that its people are not left ``payment_pending`` for ever: each in its own transaction
    (commits), under the batch's hand-over lock (:func:`disburse.payments.sending.handover_lock`; a batch a send or the
    chase is handing over right now is left for the next close-out) and its row lock. Returns the claims sent to
    review. See :func:`_close_unsent_batch` for what one batch gets."""
    from disburse.payments import sending
    from disburse.payments import service as payments

    if payments.payable(program, today):
        return 0
    moved = 0
    for (batch_id,) in db.session.execute(_UNSENT_BATCHES, {"program_id": program.id}).all():
        with sending.handover_lock(batch_id) as held:
            if not held:
                log.info("batch %s: being handed over or chased right now; the next close-out closes it", batch_id)
                continue
            try:
                moved += _close_unsent_batch(program, batch_id, today)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
    return moved


def _close_unsent_batch(program: Program, batch_id: int, today: date) -> int:
    """One batch, its hand-over lock held. Nothing that may have reached a bank is touched:

    - the provider is asked first when it can be (a polled provider: the sandbox bank), for every payment marked
      sent; what it knows is applied (a settlement settles) and left to the status sweeper and reconciliation, and a
      provider that knows every one took the batch (``acknowledged_at``, as the chase records it); one that knows
      some holds what is left of the batch once the rest is withdrawn (``acknowledged_at`` too); a provider that
      cannot be asked now leaves the batch as it is for the next close-out;
    - a bank file already in the outbox may be at the bank, and one the bank has reported on (a payment of it paid,
      returned, or moved by a status file) is there: the batch is taken as handed over (``acknowledged_at``, as a
      written file is), left to the bank's status files and reconciliation;
    - the rest were never handed to anyone: each payment ends ``cancelled`` (the code
      :data:`~disburse.payments.service.NOT_HANDED_OVER`), its claim goes back to ``approved`` and from there, as every
      claim nobody will pay, to a caseworker (``needs_review``, ``payment_period_ended``), all set-based through the
      transition paths with their events, in this transaction (:func:`~disburse.payments.service.withdraw_unsent`).

    The batch says what was done in ``last_error`` and is ``closed`` when nothing of it is left on its way; either
    way it is no longer a batch no provider took, so the next close-out leaves it (and its words) alone. Flush; the
    caller commits. Returns the claims sent to review."""
    from disburse.payments import service as payments
    from disburse.payments.adapters import POLLED_PROVIDERS, provider_for
    from disburse.payments.models import PaymentBatch
    from disburse.payments.providers import ProviderError, ProviderStatus
    from disburse.payments.status import apply_updates
    from disburse.verification import reasons

    batch = db.session.get(PaymentBatch, batch_id, populate_existing=True)
    if batch is None or not _unsent(batch):
        return 0  # taken, or closed, since the list was read
    references = payments.unsent_references(batch_id)
    known: set[str] = set()
    if batch.provider in POLLED_PROVIDERS and references:
        try:
            statuses = provider_for(batch.provider).status(references)
        except Exception as exc:  # nothing is withdrawn from a batch we cannot ask about; the next close-out asks again
            if not isinstance(exc, ProviderError):
                log.exception("batch %s: asking %s about its payments failed", batch_id, batch.provider)
            _note(batch_id, _could_not_ask(program, exc))
            return 0
        found = [update for update in statuses if update.status is not ProviderStatus.UNKNOWN]
        known = {update.reference for update in found}
        if found:
            apply_updates(batch.provider, found, source="poll")
    batch = payments.get_batch_for_update(batch_id)
    if batch is None or not _unsent(batch):
        return 0
    last = program.last_payable_day
    polled = batch.provider in POLLED_PROVIDERS
    file = _outbox_file(batch) if batch.provider == "bankfile" else None
    reported = not polled and payments.provider_reported_on(batch_id)
    if (polled and references and known >= set(references)) or file is not None or reported:
        batch.acknowledged_at = datetime.now(UTC)
        batch.last_error = _taken(program, file, reported)
        db.session.flush()
        log.warning("batch %s: found with its provider at the programme's end; left to its status", batch_id)
        return 0
    data = {"source": "close_out", "last_payable_day": last.isoformat(), "noted_on": today.isoformat()}
    withdrawn = payments.withdraw_unsent(batch, keep=known, data=data)
    flagged = claims.flag_for_review_many(
        withdrawn.claim_ids,
        [reasons.PAYMENT_PERIOD_ENDED],
        program_id=program.id,
        reason=reasons.written_reason([reasons.PAYMENT_PERIOD_ENDED]),
        data={"reasons": [reasons.PAYMENT_PERIOD_ENDED], **data, "batch_id": batch_id},
    )
    if known:  # the provider holds every payment of the batch still on its way: the chase follows them
        batch.acknowledged_at = datetime.now(UTC)
    batch.last_error = _closed(program, withdrawn, len(known))
    db.session.flush()
    log.warning(
        "batch %s: never handed over by the programme's last payable day (%s): %d payments withdrawn (%d VND), %d left "
        "to the provider's news; %d claims to review",
        batch_id,
        last.isoformat(),
        len(withdrawn.payment_ids),
        withdrawn.amount_vnd,
        len(known),
        len(flagged.moved),
    )
    return len(flagged.moved)


def _unsent(batch: PaymentBatch) -> bool:
    return bool(batch.channel == "bank" and batch.acknowledged_at is None and batch.state in ("open", "sent"))


def _outbox_file(batch: PaymentBatch) -> Path | None:
    """The batch's ``pain.001`` file, if it is in the outbox (it may then be at the bank); a folder that cannot be
    read counts as holding it (nothing is withdrawn on a guess)."""
    from disburse.payments.bankfile import batch_file_name

    outbox = current_app.config.get("DISBURSE_BANKFILE_DIR")
    if not outbox:
        return None
    path = Path(outbox) / batch_file_name(batch.reference or f"B{batch.id}")
    try:
        return path if path.exists() else None
    except OSError:
        return path


def _note(batch_id: int, words: str) -> None:
    from disburse.payments import service as payments

    batch = payments.get_batch_for_update(batch_id)
    if batch is not None and batch.last_error != words:
        batch.last_error = words[:2000]
        db.session.flush()


def _ended(program: Program) -> tuple[str, str]:
    from disburse.formatting import dmy

    day = dmy(program.last_payable_day)
    return (
        f"Chương trình {program.code} đã hết hạn chi trả ngày {day}",
        f"Programme {program.code} stopped paying on {day}",
    )


def _closed(program: Program, withdrawn: Withdrawn, known: int) -> str:
    """What a batch closed at the programme's end says (``last_error``), in Vietnamese and English: how many payments
    were withdrawn and for how much, and how many the provider knows (left to it)."""
    from disburse.formatting import number, vnd

    vi, en = _ended(program)
    n = len(withdrawn.payment_ids)
    kept_vi = f"; {number(known, locale='vi')} lệnh bên chi trả đã biết được để lại chờ kết quả" if known else ""
    kept_en = f"; {_payments_en(known)} the provider knows left to its news" if known else ""
    return (
        f"Đã đóng khi hết hạn chi trả: {vi} mà lô chưa được bàn giao cho bên chi trả; {number(n, locale='vi')} lệnh "
        f"chi ({vnd(withdrawn.amount_vnd, locale='vi')}) chưa chuyển cho ngân hàng được hủy, hồ sơ chuyển cán bộ xem "
        f"xét{kept_vi}. / Closed at the programme's end: {en} before the batch was handed to the provider; "
        f"{_payments_en(n)} ({vnd(withdrawn.amount_vnd, locale='en')}) never sent to the bank withdrawn, their claims "
        f"sent to a caseworker{kept_en}."
    )[:2000]


def _payments_en(n: int) -> str:
    from disburse.formatting import number

    return f"{number(n, locale='en')} payment{'' if n == 1 else 's'}"


def _taken(program: Program, file: Path | None, reported: bool) -> str:
    vi, en = _ended(program)
    if file is not None:
        return (
            f"{vi}: tệp của lô đã có trong thư mục gửi ({file}), có thể ngân hàng đã nhận; lô được coi là đã bàn giao, "
            f"chờ tệp trạng thái của ngân hàng và đối chiếu. / {en}: the batch's file is in the outbox ({file}) and "
            "may be at the bank; the batch is taken as handed over, left to the bank's status files and "
            "reconciliation."
        )[:2000]
    if reported:
        return (
            f"{vi}: ngân hàng đã báo kết quả một số lệnh của lô nên đã có lô; lô được coi là đã bàn giao, chờ kết quả "
            f"và đối chiếu. / {en}: the bank has reported on payments of the batch, so it has the batch; the batch is "
            "taken as handed over, left to the bank's news and reconciliation."
        )
    return (
        f"{vi}: bên chi trả đã có mọi lệnh của lô; lô được coi là đã bàn giao, chờ kết quả. / {en}: the provider "
        "knows every payment of the batch; the batch is taken as handed over, left to the provider's news."
    )


def _could_not_ask(program: Program, exc: Exception) -> str:
    vi, en = _ended(program)
    return (
        f"{vi}; chưa hỏi được bên chi trả về các lệnh của lô nên chưa đóng lô (thử lại ở lần quét sau): {exc} / {en}; "
        f"the provider could not be asked about the batch's payments, so it is not closed yet (the next close-out "
        f"asks again): {exc}"
    )[:2000]


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
    ``verification.verify`` tasks over id ranges (after the caller's commit). Returns the claims sent.

    First, no claim waits for a caseworker who cannot work it: the claims held by a deactivated account, or by one
    whose role or scope no longer covers them, go back to the queue
    (:func:`disburse.verification.review.release_unworkable_everywhere`, committed chunk by chunk). Deactivating a user
    or changing their scope on the admins' pages or by ``disburse users deactivate`` releases them at once; this
    catches every other way a holder or a claim's district changes."""
    from disburse.verification import review

    released = review.release_unworkable_everywhere()
    if released:
        log.warning("%d claims held by someone who can no longer work them went back to the queue", released)
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
