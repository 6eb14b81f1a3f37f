"""Batches to providers, and the chase of every payment a provider has not answered for.

Never twice, never lost:

- A batch is marked ``sent`` (its payments too) and committed **before** the provider is called, so a worker killed
  during the call leaves a record that the batch may be at the bank, never a batch that looks unsent.
- A batch that was handed over before is never blindly handed over again: the provider is asked for each
  reference's status first, what it knows is applied, and only the references it has never seen are sent again,
  under the same references (a bank that already has one refuses it as a duplicate, which we read as "already
  have it").
- One bad order never holds up the others. A bank order whose details cannot be paid (no bank, no account, or an
  account that is not :func:`disburse.claims.outcomes.is_bank_account`) is failed before the provider is called
  (``rjct.payee_fa.malformed``) and the rest go out; its claim takes the failure path like any refused payment
  (``payment_failed`` → ``awaiting_payment_details`` with a request for new details). When the provider refuses a
  message and names the orders at fault, those refused for the payee's details are failed the same way (the
  provider's code), those refused for something of ours are held back (they stay ``sent``, the chase tries them
  again), and the rest are sent again at once.
- An order held back waits before it is handed over again, as a claim failed on the bank's side waits before it is
  paid again: ``DISBURSE_PAYMENT_RETRY_BASE_S`` after the first time, doubled at each further time, never more than
  ``DISBURSE_PAYMENT_RETRY_CAP_S`` (:func:`disburse.claims.service.retry_wait` on ``payments.withheld_count``;
  ``payments.withheld_until``). Nothing hands it over before (not the chase, not the sweeper's hand-over, not a send
  repeated by hand: :func:`deliver` leaves it out), and after the capped wait it is always tried again, under the
  same reference. From ``DISBURSE_PAYMENT_BANK_FAILURES_ALERT`` times on, each further time is logged at ERROR
  ("held back") and the order is flagged where operators look (the admins' health page, ``disburse payments
  batches``): the provider keeps refusing something of ours, and only a person can fix it.
- A whole batch refused without naming any order (a NACK: the message was malformed, or we are misconfigured) fails
  nobody: it is nobody's payment details, and a misconfiguration must not use up people's failures. Every order of
  the message is held back, as one refused for a reason of ours (below), the provider's words as its reason: its
  payments stay ``sent``, and the batch is not handed over again before the wait, which doubles at each refusal
  (the cause is ours: sending it again every few minutes would not fix it). The batch's ``last_error`` says how many
  wait and until when, then what the provider said (the log has it at ERROR); once the cause is fixed the orders go
  at their next try, or at once with ``disburse payments send BATCH --held-now``.
- A batch records when its provider really took it (``acknowledged_at``: the provider's acknowledgement accepted it, a
  bank file was written into the outbox, or the provider knew every reference when asked). ``sent`` alone does not
  say so: a bank file that could not be written (an outbox missing or full, wrong ``DISBURSE_BANKFILE_DEBTOR_*``
  settings, a bank without a BIN), or a worker that died between the commit and the call, leaves a ``sent`` batch the
  provider never saw. The payments sweeper hands over again every batch not acknowledged
  ``DISBURSE_PAYMENT_HANDOVER_AFTER_S`` after its last try (:func:`batches_to_hand_over`), whatever the provider;
  until then its ``last_error`` says it waits to be handed over, and why.
- One hand-over of a batch at a time: :func:`send_batch` and the chase hold a per-batch advisory lock
  (:func:`handover_lock`, a try-lock) from before the batch is marked sent until the provider has answered, so two
  runs of one batch never both find a reference unknown and both hand it over; the second returns at once.
- After the programme's last payable day nothing is handed to a provider: the batch stays as it is, the log (ERROR)
  and its ``last_error`` say why.
- :func:`chase` (the status sweeper) asks the provider about every payment sent and not settled after
  ``PAYMENT_STATUS_AFTER_S``, least recently asked first (``payments.last_asked_at``), so a lost callback or a lost
  task never leaves a payment hanging, and payments that never settle never keep the others from being asked.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text, update

from disburse.background import enqueue_after_commit
from disburse.claims.outcomes import is_bank_account
from disburse.claims.service import retry_backoff, retry_wait
from disburse.extensions import db
from disburse.formatting import moment
from disburse.payments import reasons
from disburse.payments import service as payments
from disburse.payments.adapters import POLLED_PROVIDERS, bank_provider_name, provider_for
from disburse.payments.models import Payment, PaymentBatch
from disburse.payments.providers import (
    Acknowledgement,
    PaymentOrder,
    PermanentError,
    ProviderError,
    ProviderStatus,
    StatusUpdate,
)
from disburse.payments.states import PaymentState
from disburse.payments.status import apply_updates
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program

log = logging.getLogger(__name__)


class BatchNotFound(LookupError):
    pass


@dataclass
class Sent:
    """What handing over a batch (or part of it) did."""

    batch_id: int
    orders: int = 0
    accepted: bool = False
    error: str | None = None
    applied: dict[str, Any] = field(default_factory=dict)
    #: Orders failed before they went out (their bank details cannot be paid).
    refused: list[str] = field(default_factory=list)
    #: Orders the provider refused for a reason of ours (by name, or the whole message with a NACK): held back, still
    #: ``sent``, tried again by the chase after their wait. Each reference with the provider's words when it named the
    #: order; a reference alone when it refused the whole message (its words are the batch's ``last_error``).
    withheld: list[str] = field(default_factory=list)
    #: Of those, the references held back ``DISBURSE_PAYMENT_BANK_FAILURES_ALERT`` times or more (logged at ERROR).
    alerts: list[str] = field(default_factory=list)
    #: Orders held back before whose wait is not over: left out, not handed over this time.
    waiting: int = 0
    #: Another run was handing the batch over: this one did nothing.
    busy: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "orders": self.orders,
            "accepted": self.accepted,
            "error": self.error,
            "busy": self.busy,
            "refused": len(self.refused),
            "withheld": len(self.withheld),
            "withheld_alerts": len(self.alerts),
            "waiting": self.waiting,
            **self.applied,
        }

    def add(self, applied: dict[str, Any]) -> None:
        """Count in what one more application of news did."""
        for key, value in applied.items():
            known = self.applied.get(key)
            both_counts = isinstance(value, int) and isinstance(known, int) and not isinstance(value, bool)
            self.applied[key] = known + value if both_counts else value


# --------------------------------------------------------------------------------------------------- batching


def channels() -> list[tuple[str, str]]:
    """(channel, provider) pairs to batch for: bank accounts through the configured provider, and cash."""
    bank = bank_provider_name()
    return ([("bank", bank)] if bank else []) + [("cash", "cash")]


def make_batch(
    program: Program, channel: str, provider: str, *, size: int, after: int = 0, today: date | None = None
) -> PaymentBatch | None:
    """One batch of up to ``size`` approved claims with ids above ``after``, its send enqueued for after the commit;
    flush, never commit. A loop making batch after batch passes the last batch's highest claim id
    (:func:`~disburse.payments.service.last_claim_id`), so that each batch starts where the last one ended instead of
    passing again over every claim already batched (nationally, a thousand batches over ten million claims)."""
    batch = payments.create_batch(program, channel, provider, limit=size, id_range=(after + 1, 2**62), today=today)
    if batch is not None:
        enqueue_after_commit("payments.send", batch.id)
    return batch


# ---------------------------------------------------------------------------------------------------- sending


def _lock_batch(batch_id: int) -> PaymentBatch:
    batch = payments.get_batch_for_update(batch_id)
    if batch is None:
        raise BatchNotFound(f"no payment batch with id {batch_id}")
    return batch


#: One hand-over of a batch at a time, across processes: a session-level advisory lock (it outlives the commits a
#: hand-over makes, and dies with its connection if the worker does).
_HANDOVER_TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtext('disburse.payments.handover'), CAST(:key AS integer))")
_HANDOVER_UNLOCK = text("SELECT pg_advisory_unlock(hashtext('disburse.payments.handover'), CAST(:key AS integer))")


@contextmanager
def handover_lock(batch_id: int) -> Iterator[bool]:
    """Hold the batch's hand-over lock while the block runs, on a connection of its own; yields False at once, without
    waiting, when another run holds it (the caller then leaves the batch to that run)."""
    key = batch_id % 2_147_483_647
    connection = db.engine.connect()
    held = False
    try:
        held = bool(connection.execute(_HANDOVER_TRY_LOCK, {"key": key}).scalar())
        connection.commit()
        yield held
    finally:
        try:
            if held:
                connection.execute(_HANDOVER_UNLOCK, {"key": key})
                connection.commit()
        except Exception:  # the lock must never go back to the pool with its connection
            log.exception("batch %s: the hand-over lock could not be released; dropping its connection", batch_id)
            connection.invalidate()
        finally:
            connection.close()


def period_ended(batch: PaymentBatch) -> str | None:
    """Why nothing of ``batch`` may be handed over (its programme's last payable day has passed, on the programme
    clock), in Vietnamese and English; None while it may."""
    program = db.session.get(Program, batch.program_id)
    if program is None or payments.payable(program):
        return None
    ended = payments.PaymentPeriodEnded(program)
    return (
        f"{ended.vi} Không bàn giao lệnh nào của lô cho bên chi trả. / {ended.en} Nothing of the batch is handed to "
        "the provider."
    )


def _refuse_after_period(batch: PaymentBatch, why: str, sent: Sent) -> Sent:
    _note_error(batch.id, why)
    db.session.commit()
    log.error("batch %s: %s", batch.id, why)
    sent.error = why
    return sent


def send_batch(batch_id: int) -> Sent:
    """Hand the batch to its provider: the first time, all of it (marked sent and committed first); after that, only
    the references the provider has never seen (a bank file: the batch's file, whole, written again only if it is
    not in the outbox). Commits. Under the batch's hand-over lock: while another run holds it, returns at once with
    ``busy``. After the programme's last payable day, hands over nothing and says why (``error``, ``last_error``).
    Raises :class:`~disburse.payments.providers.RetryableError` when the provider could not be reached (the batch
    stays sent: asking again is safe)."""
    with handover_lock(batch_id) as held:
        if not held:
            log.info("batch %s: another run is handing it over; leaving it to that run", batch_id)
            return Sent(batch_id, busy=True)
        return _send_batch(batch_id)


def _send_batch(batch_id: int) -> Sent:
    batch = _lock_batch(batch_id)
    if batch.state == "closed":  # withdrawn at the programme's end: nothing of it is left to hand over, ever
        log.info("batch %s: closed, nothing to hand over", batch_id)
        db.session.commit()
        return Sent(batch_id)
    why = period_ended(batch)
    if why is not None:
        return _refuse_after_period(batch, why, Sent(batch_id))
    batch.handover_tried_at = datetime.now(UTC)
    first = payments.mark_batch_sent(batch)
    db.session.commit()
    handed = db.session.get(PaymentBatch, batch_id)
    assert handed is not None
    batch = handed
    if first or batch.provider == "bankfile":
        # A bank file is one message for the whole batch: handed over again, it is the whole batch again, never only
        # the payments still waiting (those alone would be another file under the same MsgId); the provider finds
        # it in the outbox and leaves it as it is, or writes it again, the same, if it was lost.
        return deliver(batch, payments.batch_orders(batch_id), sent=Sent(batch_id))
    return resend_unknown(batch, _sent_references(batch_id))


def _sent_references(batch_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(Payment.provider_reference).where(
                Payment.batch_id == batch_id, Payment.state == PaymentState.SENT.value
            )
        )
    )


def resend_unknown(batch: PaymentBatch, references: Sequence[str]) -> Sent:
    """Ask the provider about ``references`` (payments of ``batch`` that are sent), apply what it knows, and hand it
    again only the orders it has never seen. Orders it held back whose wait is not over are neither asked about nor
    handed over (``waiting``). Commits."""
    sent = Sent(batch.id)
    held = held_orders(batch.id)
    waiting = _still_waiting(held)
    due = [reference for reference in references if reference not in waiting]
    sent.waiting = len(references) - len(due)
    if not due:
        if not sent.waiting:
            _acknowledge(batch.id)  # nothing is waiting for the provider
        db.session.commit()
        return sent
    provider = provider_for(batch.provider)
    statuses = provider.status(due)
    unknown = {u.reference for u in statuses if u.status is ProviderStatus.UNKNOWN}
    sent.add(apply_updates(batch.provider, statuses, source="poll").as_dict())
    _taken(batch.id, [u.reference for u in statuses if u.status is not ProviderStatus.UNKNOWN and u.reference in held])
    if not unknown and not sent.waiting:  # the provider has every one of them: it took the batch
        _acknowledge(batch.id)
    db.session.commit()
    if not unknown:
        return sent
    orders = [order for order in payments.batch_orders(batch.id) if order.reference in unknown]
    return deliver(batch, orders, sent=sent)


def payable(order: PaymentOrder) -> bool:
    """Whether a bank order's details can be paid: a bank, and an account of the one shape we take
    (:func:`disburse.claims.outcomes.is_bank_account`)."""
    return bool(order.bank_code) and is_bank_account(order.bank_account)


def _refuse_unpayable(batch: PaymentBatch, orders: Sequence[PaymentOrder], sent: Sent) -> list[PaymentOrder]:
    """Fail the bank orders of ``orders`` whose details cannot be paid (through the payments' transition path, with
    :data:`~disburse.payments.reasons.PAYEE_FA_MALFORMED`; their claims follow the failure path), commit, and return
    the others. A provider would refuse them, and with them, for some providers, the whole message."""
    if batch.channel != "bank":
        return list(orders)
    bad = [order for order in orders if not payable(order)]
    if not bad:
        return list(orders)
    refusals = [
        StatusUpdate(
            reference=order.reference,
            status=ProviderStatus.REJECTED,
            reason_code=reasons.PAYEE_FA_MALFORMED,
            reason_message="the bank or the account number (6 to 19 digits) is missing or malformed",
        )
        for order in bad
    ]
    sent.add(apply_updates(batch.provider, refusals, source="check").as_dict())
    db.session.commit()
    sent.refused += [order.reference for order in bad]
    log.warning(
        "batch %s: %d order(s) with bank details that cannot be paid failed before sending: %s",
        batch.id,
        len(bad),
        ", ".join(order.reference for order in bad[:20]),
    )
    refused = {order.reference for order in bad}
    return [order for order in orders if order.reference not in refused]


def deliver(batch: PaymentBatch, orders: Sequence[PaymentOrder], *, sent: Sent) -> Sent:
    """Call the provider with ``orders`` of ``batch`` and record its answer. Commits.

    Orders held back before whose wait is not over are left out (``waiting``). Orders whose bank details cannot be
    paid are failed first and never handed over. When the provider refuses the message and names orders, those it
    failed are failed here too, those it held back for a reason of ours stay ``sent`` and wait
    (:func:`_hold_back`), and the others are handed over again at once (each round has fewer orders: it ends). When
    it refuses the message naming no order (a NACK), every order of it waits the same way
    (:func:`_hold_back_message`). After the programme's last payable day nothing is handed over and nothing changes
    but ``last_error``."""
    why = period_ended(batch)
    if why is not None:
        return _refuse_after_period(batch, why, sent)
    provider = provider_for(batch.provider)
    held = held_orders(batch.id)
    waiting = _still_waiting(held)
    if waiting:
        due = [order for order in orders if order.reference not in waiting]
        sent.waiting += len(orders) - len(due)
        orders = due
    left = _refuse_unpayable(batch, orders, sent)
    sent.orders = len(left)
    if not left:
        if not waiting:
            sent.accepted = True
            _acknowledge(batch.id)  # nothing of it is for the provider
        db.session.commit()
        return sent
    while left:
        try:
            ack = provider.send(batch.reference or f"B{batch.id}", left)
        except ProviderError as exc:
            _record(batch.id, error=str(exc))
            db.session.commit()
            if isinstance(exc, PermanentError):
                sent.error = str(exc)
                log.error("batch %s: the provider refused it: %s", batch.id, exc)
                return sent
            raise
        sent.accepted, sent.error = ack.accepted, None if ack.accepted else (ack.message or "refused")
        _record(batch.id, ack=ack)
        if ack.updates:
            sent.add(apply_updates(batch.provider, ack.updates, source="acknowledgement").as_dict())
        if ack.accepted and held:
            _taken(batch.id, [order.reference for order in left if order.reference in held])
        db.session.commit()
        if ack.accepted:
            break
        references = {order.reference for order in left}
        named = [update for update in ack.updates if update.reference in references]
        if not named:  # refused whole: every order of the message waits, as one held back
            sent.withheld += _hold_back_message(batch, left, sent)
            db.session.commit()
            break
        held_back = [u for u in named if u.status is ProviderStatus.UNKNOWN]
        if held_back:
            sent.withheld += _hold_back(batch, held_back, sent)
            db.session.commit()  # held back, whatever the next round meets
        log.error(
            "batch %s: the provider refused %d order(s) by name (%d failed, %d held back); sending the rest: %s",
            batch.id,
            len(named),
            len(named) - len(held_back),
            len(held_back),
            sent.error,
        )
        out = {update.reference for update in named}
        left = [order for order in left if order.reference not in out]
    if sent.withheld and (sent.accepted or not left):  # taken but for those held back, or nothing but them
        listed = "; ".join(sent.withheld[:20])
        sent.error = (
            "giữ lại: bên chi trả không nhận vì dữ liệu của quỹ, gửi lại sau thời gian chờ"
            f" / held back, refused by the provider for a reason of ours, sent again after a wait: {listed}"
        )
        taken = _lock_batch(batch.id).acknowledged_at is not None
        _note_error(batch.id, sent.error if taken else f"{WAITING[0]} / {WAITING[1]}: {sent.error}")
        db.session.commit()
    return sent


#: The batch's orders held back (``ix_payments_withheld``: a handful at most).
_HELD_ORDERS = text(
    """SELECT provider_reference, withheld_until FROM payments
       WHERE batch_id = :batch_id AND state = 'sent' AND withheld_until IS NOT NULL"""
)


def held_orders(batch_id: int) -> dict[str, datetime]:
    """The references of ``batch_id``'s sent payments the provider held back and has not taken since, with the time
    before which each is not handed over again (past: it may go again)."""
    return {reference: until for reference, until in db.session.execute(_HELD_ORDERS, {"batch_id": batch_id})}


_END_WAITS = text(
    """UPDATE payments SET withheld_until = now()
       WHERE batch_id = :batch_id AND state = 'sent' AND withheld_until > now() RETURNING id"""
)


def end_waits(batch_id: int) -> int:
    """Cut short the wait of ``batch_id``'s orders its provider held back (an operator fixed the cause: the next
    hand-over takes them); how many. Their count stays: a refusal after this waits as the next one would. Commits."""
    cut = len(db.session.execute(_END_WAITS, {"batch_id": batch_id}).all())
    db.session.commit()
    if cut:
        log.warning("batch %s: the wait of %d held-back order(s) cut short by hand", batch_id, cut)
    return cut


def _still_waiting(held: dict[str, datetime]) -> set[str]:
    """Of ``held`` (:func:`held_orders`), those whose wait is not over."""
    now = datetime.now(UTC)
    return {reference for reference, until in held.items() if until > now}


#: The orders held back, locked in id order (as :func:`disburse.payments.status.apply_updates` locks payments).
_LOCK_HELD = text(
    """SELECT id, provider_reference, withheld_count FROM payments
       WHERE provider = :provider AND provider_reference = ANY(:refs) AND state = 'sent'
       ORDER BY id FOR UPDATE"""
)
_HOLD = text(
    """UPDATE payments p SET withheld_count = h.n, withheld_until = h.until, withheld_reason = h.reason
       FROM unnest(CAST(:ids AS bigint[]), CAST(:counts AS integer[]), CAST(:untils AS timestamptz[]),
                   CAST(:reasons AS text[])) AS h(id, n, until, reason)
       WHERE p.id = h.id"""
)
#: ``withheld_count`` is a SMALLINT: at the capped wait (6 hours) years of refusals.
_MOST_WITHHELD = 32_767


@dataclass(frozen=True)
class _Held:
    """One order just held back: how many times now, until when, and the provider's words."""

    reference: str
    times: int
    until: datetime
    reason: str | None

    def listed(self) -> str:
        """As the batch's ``last_error`` lists it."""
        said = f"{self.reason}; " if self.reason else ""
        return (
            f"{self.reference} ({said}lần {self.times}, gửi lại sau {moment(self.until)} / time {self.times}, sent "
            f"again after {moment(self.until)})"
        )


def _hold_back(batch: PaymentBatch, refused: Sequence[StatusUpdate], sent: Sent) -> list[str]:
    """The orders the provider refused for a reason of ours, held back (:func:`_hold`), the provider's words for
    each kept. Flush. Returns each reference as the batch's ``last_error`` lists it (the provider's words, the time,
    when it is tried again)."""
    words = {u.reference: (u.reason_message or u.reason_code or "")[:300] or None for u in refused}
    held = _hold(batch, words, sent)
    # A reference we hold nothing sent for (not ours, or no longer sent) is only listed.
    known = {h.reference for h in held}
    return [h.listed() for h in held] + [reference for reference in words if reference not in known]


def _hold(batch: PaymentBatch, words: dict[str, str | None], sent: Sent) -> list[_Held]:
    """Hold back the sent orders of ``words`` (reference → the provider's words): each counted once more
    (``withheld_count``) and not handed over again before its wait is over (``withheld_until``:
    :func:`~disburse.claims.service.retry_wait` of the count, the claims' bank-side backoff and its settings), the
    provider's words kept (``withheld_reason``). Those held back ``DISBURSE_PAYMENT_BANK_FAILURES_ALERT`` times or more
    are logged at ERROR (one line) and listed in ``sent.alerts``. Flush. Returns the orders held back, in id order."""
    rows = db.session.execute(_LOCK_HELD, {"provider": batch.provider, "refs": list(words)}).all()
    base_s, cap_s = retry_backoff()
    alert_at = int(current_app.config.get("DISBURSE_PAYMENT_BANK_FAILURES_ALERT", 5))
    now = datetime.now(UTC)
    counts = [min(row.withheld_count + 1, _MOST_WITHHELD) for row in rows]
    untils = [now + retry_wait(count, base_s, cap_s) for count in counts]
    if rows:
        db.session.execute(
            _HOLD,
            {
                "ids": [row.id for row in rows],
                "counts": counts,
                "untils": untils,
                "reasons": [words[row.provider_reference] for row in rows],
            },
        )
    held = [
        _Held(row.provider_reference, count, until, words[row.provider_reference])
        for row, count, until in zip(rows, counts, untils, strict=True)
    ]
    db.session.flush()
    alerts = [h for h in held if h.times >= alert_at]
    if alerts:
        sent.alerts += [h.reference for h in alerts]
        first = alerts[0]
        log.error(
            "held back (batch %s): %s refused %d order(s) for a reason of ours %d times or more (%s: %d times, %s; "
            "sent again after %s); fix the cause on our side",
            batch.id,
            batch.provider,
            len(alerts),
            alert_at,
            first.reference,
            first.times,
            first.reason or "no reason given",
            first.until.isoformat(),
        )
    return held


def _hold_back_message(batch: PaymentBatch, orders: Sequence[PaymentOrder], sent: Sent) -> list[str]:
    """A message refused whole, naming no order (a NACK: malformed, or we are misconfigured): nobody's details are at
    fault, so nobody fails, and every order of the message is held back as one refused for a reason of ours
    (:func:`_hold`, the provider's words as each one's reason): the batch is not handed over again before the wait
    (the claims' bank-side backoff, doubled at each refusal), and the operators see it where they see the other
    orders held back. The batch's ``last_error`` says how many wait, until when, then what the provider said. Flush.
    Returns the references held back (the provider's words are the same for all: in ``last_error``)."""
    said = sent.error or "refused"
    held = _hold(batch, dict.fromkeys((order.reference for order in orders), said[:300]), sent)
    taken = _lock_batch(batch.id).acknowledged_at is not None
    if held:
        most = max(held, key=lambda h: (h.times, h.until))
        note = (
            f"giữ lại cả {len(held)} lệnh của thông điệp bị từ chối, lần {most.times}, gửi lại sau {moment(most.until)}"
            f" / all {len(held)} orders of the refused message held back, time {most.times}, sent again after "
            f"{moment(most.until)}: {said}"
        )
        _note_error(batch.id, note if taken else f"{WAITING[0]} / {WAITING[1]}: {note}")
        log.error(
            "batch %s: the provider refused it whole (%d order(s) held back, %d times; sent again after %s): %s",
            batch.id,
            len(held),
            most.times,
            most.until.isoformat(),
            said,
        )
    else:
        log.error("batch %s: the provider refused it whole: %s", batch.id, said)
    return [h.reference for h in held]


#: Orders the provider took (its acknowledgement accepted them, or it knows them when asked): no longer held back.
_TAKEN = text(
    """UPDATE payments SET withheld_until = NULL
       WHERE batch_id = :batch_id AND withheld_until IS NOT NULL AND provider_reference = ANY(:refs)"""
)


def _taken(batch_id: int, references: Sequence[str]) -> None:
    """``references`` of ``batch_id`` were taken by the provider: none of them is held back any more; flush."""
    if references:
        db.session.execute(_TAKEN, {"batch_id": batch_id, "refs": list(references)})


@dataclass(frozen=True)
class HeldBack:
    """One order its provider holds back, as operators see it."""

    reference: str
    batch_id: int
    batch_reference: str | None
    provider: str
    #: How many times the provider held it back, and when it is handed over again (past: at the next chase).
    times: int
    until: datetime
    reason: str | None
    #: Held back ``DISBURSE_PAYMENT_BANK_FAILURES_ALERT`` times or more.
    alert: bool
    #: How many orders of its batch are held back now.
    of_batch: int


@dataclass(frozen=True)
class HeldBackOrders:
    """The orders held back now: how many, how many past the alert threshold (``alert_at``), and those listed."""

    count: int
    alerts: int
    alert_at: int
    shown: list[HeldBack]


_HELD_BACK_COUNTS = text(
    """SELECT count(*) AS n, count(*) FILTER (WHERE withheld_count >= :alert_at) AS alerts FROM payments
       WHERE withheld_until IS NOT NULL AND state = 'sent'
         AND (CAST(:batch_ids AS integer[]) IS NULL OR batch_id = ANY(CAST(:batch_ids AS integer[])))"""
)
#: The orders held back, the most often held back first, at most ``per_batch`` of each batch (NULL: all), each with how
#: many of its batch are held back: a batch refused whole holds back every one of its orders (thousands), and a list
#: of batches shows a few of each.
_HELD_BACK = text(
    """SELECT * FROM (
           SELECT p.id, p.provider_reference, p.batch_id, b.reference AS batch_reference, p.provider, p.withheld_count,
                  p.withheld_until, p.withheld_reason,
                  row_number() OVER (PARTITION BY p.batch_id ORDER BY p.withheld_count DESC, p.id) AS rank_in_batch,
                  count(*) OVER (PARTITION BY p.batch_id) AS of_batch
           FROM payments p JOIN payment_batches b ON b.id = p.batch_id
           WHERE p.withheld_until IS NOT NULL AND p.state = 'sent'
             AND (CAST(:batch_ids AS integer[]) IS NULL OR p.batch_id = ANY(CAST(:batch_ids AS integer[])))
       ) held
       WHERE CAST(:per_batch AS integer) IS NULL OR rank_in_batch <= :per_batch
       ORDER BY withheld_count DESC, id
       LIMIT :limit"""
)


def orders_held_back(
    limit: int | None = 20, *, batch_ids: Sequence[int] | None = None, per_batch: int | None = None
) -> HeldBackOrders:
    """The orders their provider held back for a reason of ours and has not taken since (of ``batch_ids``, or of
    every batch), the most often held back first, at most ``limit`` of them listed (None: all), and with
    ``per_batch``, at most that many of each batch; each with how many of its batch are held back (``of_batch``):
    what the admins' health page and ``disburse payments batches`` show."""
    alert_at = int(current_app.config.get("DISBURSE_PAYMENT_BANK_FAILURES_ALERT", 5))
    ids = None if batch_ids is None else list(batch_ids)
    counts = db.session.execute(_HELD_BACK_COUNTS, {"alert_at": alert_at, "batch_ids": ids}).one()
    params = {"batch_ids": ids, "limit": limit, "per_batch": per_batch}
    rows: Sequence[Any] = db.session.execute(_HELD_BACK, params).all() if counts.n else []
    shown = [
        HeldBack(
            reference=row.provider_reference,
            batch_id=row.batch_id,
            batch_reference=row.batch_reference,
            provider=row.provider,
            times=row.withheld_count,
            until=row.withheld_until,
            reason=row.withheld_reason,
            alert=row.withheld_count >= alert_at,
            of_batch=row.of_batch,
        )
        for row in rows
    ]
    return HeldBackOrders(int(counts.n), int(counts.alerts), alert_at, shown)


def _note_error(batch_id: int, error: str) -> None:
    batch = _lock_batch(batch_id)
    batch.last_error = error[:2000]
    db.session.flush()


def _acknowledge(batch_id: int) -> None:
    """The provider took the batch: it is never handed over again by the sweeper; flush."""
    batch = _lock_batch(batch_id)
    if batch.acknowledged_at is None:
        batch.acknowledged_at = datetime.now(UTC)
    db.session.flush()


#: What ``last_error`` says of a batch its provider has not taken yet, before the cause.
WAITING = (
    "Lô chờ bàn giao cho bên chi trả (tự gửi lại khi hết lỗi)",
    "Batch waiting to be handed over to the provider (sent again once the cause is fixed)",
)


def _record(batch_id: int, *, ack: Acknowledgement | None = None, error: str | None = None) -> None:
    batch = _lock_batch(batch_id)
    batch.send_attempts += 1
    if ack is not None:
        batch.correlation_id = ack.correlation_id or batch.correlation_id
        error = None if ack.accepted else (ack.message or "refused")
        if ack.accepted and batch.acknowledged_at is None:
            batch.acknowledged_at = datetime.now(UTC)
    if error and batch.acknowledged_at is None:
        error = f"{WAITING[0]} / {WAITING[1]}: {error}"
    batch.last_error = error[:2000] if error else None
    db.session.flush()


# ------------------------------------------------------------------------------------------------------ chase

_WAITING = text(
    """SELECT p.id, p.batch_id, p.provider_reference FROM payments p
       WHERE p.state = 'sent' AND p.provider = :provider AND p.sent_at < :cutoff
         AND (p.last_asked_at IS NULL OR p.last_asked_at < :started)  -- not twice in one run
         AND (p.withheld_until IS NULL OR p.withheld_until <= :started)  -- held back: not before its wait
         AND p.batch_id IS NOT NULL  -- every payment is made in a batch (create_batch); its batch is what is resent
       ORDER BY p.last_asked_at NULLS FIRST, p.id LIMIT :limit"""
)
_ASKED = text("UPDATE payments SET last_asked_at = :at WHERE id = ANY(:ids)")


@dataclass
class Chased:
    asked: int = 0
    resent: int = 0
    #: Payments of batches another run was handing over: left to it this time.
    busy: int = 0
    #: Orders the provider held back again (each waits longer), and of those the ones past the alert threshold.
    withheld: int = 0
    withheld_alerts: int = 0
    applied: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def as_dict(self) -> dict[str, Any]:
        return {
            "asked": self.asked,
            "resent": self.resent,
            "busy": self.busy,
            "withheld": self.withheld,
            "withheld_alerts": self.withheld_alerts,
            **self.applied,
        }


def chase(provider_name: str, *, older_than: timedelta, chunk: int = 1000, budget_s: float = 120.0) -> Chased:
    """Ask ``provider_name`` about every payment sent before ``older_than`` ago and not settled, least recently asked
    first (never asked: first of all), apply its answers, and send again, under the same reference, what it has never
    seen (under each batch's hand-over lock; a batch another run is handing over is left to it). An order the
    provider held back is not taken up before its wait is over (``withheld_until``). Each payment taken up is stamped
    ``last_asked_at``, so payments that never settle go behind the others. Commits per chunk; stops after
    ``budget_s`` (the next sweep goes on with those asked least recently)."""
    chased = Chased()
    if provider_name not in POLLED_PROVIDERS:
        return chased
    cutoff = datetime.now(UTC) - older_than
    started = datetime.now(UTC)
    while (datetime.now(UTC) - started).total_seconds() < budget_s:
        rows = db.session.execute(
            _WAITING, {"provider": provider_name, "cutoff": cutoff, "started": started, "limit": chunk}
        ).all()
        db.session.commit()
        if not rows:
            break
        by_batch: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for row in rows:
            by_batch[row.batch_id].append((row.id, row.provider_reference))
        for batch_id, payments_of_batch in by_batch.items():
            references = [reference for _id, reference in payments_of_batch]
            with handover_lock(batch_id) as held:
                if held:
                    batch = db.session.get(PaymentBatch, batch_id)
                    assert batch is not None
                    sent = resend_unknown(batch, references)
                    chased.asked += len(references)
                    chased.resent += sent.orders
                    chased.withheld += len(sent.withheld)
                    chased.withheld_alerts += len(sent.alerts)
                    for key, value in sent.applied.items():
                        if isinstance(value, int):
                            chased.applied[key] += value
                else:
                    chased.busy += len(references)
                db.session.execute(_ASKED, {"at": datetime.now(UTC), "ids": [id_ for id_, _ in payments_of_batch]})
                db.session.commit()
    return chased


def batches_to_hand_over(older_than: timedelta) -> list[int]:
    """Batches their provider has not acknowledged (still open, or sent and never taken: a bank file that could not be
    written, a refusal, a send task lost or dead) whose last hand-over was tried, or which were made, more than
    ``older_than`` ago, of programmes still paying: the payments sweeper hands them over again (asking first: never
    twice). Each is stamped as tried now (flush), so a batch merely waiting in a long queue is asked for once per
    ``older_than``, not at every sweep."""
    now = datetime.now(UTC)
    ids = list(
        db.session.scalars(
            select(PaymentBatch.id)
            .join(Program, Program.id == PaymentBatch.program_id)
            .where(
                PaymentBatch.acknowledged_at.is_(None),
                PaymentBatch.state.in_(("open", "sent")),
                func.coalesce(PaymentBatch.handover_tried_at, PaymentBatch.created_at) < now - older_than,
                # The programme still pays (Program.last_payable_day, in SQL).
                func.coalesce(Program.extension_until, Program.payment_deadline) >= programme_today(),
            )
            .order_by(PaymentBatch.id)
            .with_for_update(of=PaymentBatch, skip_locked=True)
        )
    )
    if ids:
        db.session.execute(update(PaymentBatch).where(PaymentBatch.id.in_(ids)).values(handover_tried_at=now))
    return ids


__all__ = [
    "WAITING",
    "BatchNotFound",
    "Chased",
    "HeldBack",
    "HeldBackOrders",
    "Sent",
    "batches_to_hand_over",
    "channels",
    "chase",
    "deliver",
    "handover_lock",
    "held_orders",
    "make_batch",
    "orders_held_back",
    "payable",
    "period_ended",
    "resend_unknown",
    "send_batch",
]
