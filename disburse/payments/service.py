"""The one path for every payment state change, and the named queries for payments.

:func:`transition` moves one payment (its row locked ``FOR UPDATE``), :func:`transition_many` moves many with one
statement; both take the next state from the pure machine (:mod:`disburse.payments.states`) and write the
``payment_events`` row in the same transaction. Nothing else writes ``payments.state`` (a test reads every module to
make sure). Payments are created ``queued`` by :func:`create_batch`, set-based, with their 'create' events.

What a payment's move means for its claim (paid, failed) is the caller's to apply through
:func:`disburse.claims.service.transition`, in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text

from disburse.extensions import db
from disburse.payments import reasons as payment_reasons
from disburse.payments.models import Payment, PaymentBatch, PaymentEvent
from disburse.payments.providers import PaymentOrder
from disburse.payments.states import (
    LIVE_STATES,
    TRANSITIONS,
    InvalidPaymentTransition,
    PaymentAction,
    PaymentState,
    next_state,
)
from disburse.programs.calendar import programme_today
from disburse.programs.models import Program
from disburse.transitions import Actor, BulkTransition, actor_id, execute_skipping_fk_triggers, run_bulk

#: Actions that need the provider's code (why the payment failed or came back).
NEEDS_CODE = frozenset({PaymentAction.FAIL, PaymentAction.RETURN})


class CodeRequired(ValueError):
    def __init__(self, action: PaymentAction) -> None:
        super().__init__(f"payment action {action.value!r} needs the provider's code")
        self.action = action


class PaymentNotFound(LookupError):
    pass


class PaymentPeriodEnded(ValueError):
    """The programme's last payable day (:attr:`~disburse.programs.models.Program.last_payable_day`) has passed: no
    new payment may be made for it. ``vi`` and ``en`` say so for people."""

    def __init__(self, program: Program) -> None:
        from disburse.formatting import dmy

        last = dmy(program.last_payable_day)
        self.vi = f"Chương trình {program.code} đã hết hạn chi trả ngày {last}: không lập thêm khoản chi trả nào."
        self.en = f"Programme {program.code} stopped paying on {last}: no new payment can be made."
        super().__init__(self.en)


def payable(program: Program, today: date | None = None) -> bool:
    """Whether the programme may still pay on ``today`` (default: the programme clock): not after its last payable
    day."""
    return (today or programme_today()) <= program.last_payable_day


def failed_before(claim_id: int, bank_code: str, bank_account: str) -> tuple[str, str] | None:
    """Why an earlier payment of the claim to this very account failed or came back for the account's sake (closed,
    not found, another name: :func:`~disburse.payments.reasons.needs_new_details`), in Vietnamese and English, the
    latest such; None when none did (a bank's timeout is no reason to give another account)."""
    codes = db.session.scalars(
        select(Payment.failure_code)
        .where(
            Payment.claim_id == claim_id,
            Payment.state.in_(("failed", "returned")),
            Payment.bank_code == bank_code,
            Payment.bank_account == bank_account,
        )
        .order_by(Payment.attempt.desc())
    )
    for code in codes:
        if payment_reasons.needs_new_details(code):
            return payment_reasons.label(code)
    return None


def failed_before_message(reason: tuple[str, str]) -> tuple[str, str]:
    """The refusal of details an earlier payment failed with (:func:`failed_before`), naming why, in both languages:
    Form 03 and the office's correction (an earlier attempt's account was taken again, and failed again)."""
    return (
        f"Một lần chi trả trước vào tài khoản này đã không thành công ({reason[0]}); hãy ghi tài khoản khác.",
        f"An earlier payment to this account failed ({reason[1]}); give another account.",
    )


def period_ended_refusal(program: Program, today: date | None = None) -> tuple[str, str] | None:
    """None while the programme may pay (:func:`payable`); after its last payable day, why a claim may no longer be
    sent to be paid (approved, its details corrected back to approved, switched to cash) and what to do instead, in
    Vietnamese and English: the one wording of every such refusal (code ``payment_period_ended``)."""
    if payable(program, today):
        return None
    from disburse.formatting import dmy

    last = dmy(program.last_payable_day)
    return (
        f"Chương trình {program.code} đã hết hạn chi trả ngày {last}: hồ sơ không thể được duyệt hoặc đưa lại chờ chi "
        "trả nữa. Hãy từ chối hồ sơ với lý do “Đã hết thời hạn chi trả của chương trình” để người lao động nhận "
        "thông báo bằng văn bản.",
        f"Programme {program.code} stopped paying on {last}: the claim can no longer be approved or put back to be "
        "paid. Refuse it with the reason “The programme's payment period has ended”, so that the person receives the "
        "written notice.",
    )


def check_payable(program: Program, today: date | None = None) -> None:
    """Raise :class:`PaymentPeriodEnded` unless the programme may still pay on ``today`` (:func:`payable`)."""
    if not payable(program, today):
        raise PaymentPeriodEnded(program)


def _check_code(action: PaymentAction, code: str | None) -> None:
    if action in NEEDS_CODE and not (code or "").strip():
        raise CodeRequired(action)


# ------------------------------------------------------------------------------------------------ named queries


def get_payment_for_update(payment_id: int) -> Payment | None:
    """The payment, its row locked ``FOR UPDATE`` until the commit: a provider callback and a status poll about the
    same payment take turns, and the second sees what the first did."""
    return db.session.scalar(
        select(Payment).where(Payment.id == payment_id).with_for_update().execution_options(populate_existing=True)
    )


def payment_by_reference(provider_reference: str) -> Payment | None:
    """The payment a provider's message is about (our end-to-end id, unique)."""
    return db.session.scalar(select(Payment).where(Payment.provider_reference == provider_reference))


def live_payment_for_claim(claim_id: int) -> Payment | None:
    """The claim's queued, sent or paid payment; there is at most one (``uq_payments_one_live_per_claim``)."""
    live = [state.value for state in LIVE_STATES]
    return db.session.scalar(select(Payment).where(Payment.claim_id == claim_id, Payment.state.in_(live)))


def payments_of_claim(claim_id: int) -> list[Payment]:
    """Every attempt to pay the claim, first attempt first."""
    return list(db.session.scalars(select(Payment).where(Payment.claim_id == claim_id).order_by(Payment.attempt)))


def payment_events(payment_id: int) -> list[PaymentEvent]:
    return list(
        db.session.scalars(
            select(PaymentEvent).where(PaymentEvent.payment_id == payment_id).order_by(PaymentEvent.id)
        ).all()
    )


def sent_before(cutoff: datetime, *, limit: int = 1000) -> list[int]:
    """Ids of payments sent before ``cutoff`` and still not settled: the status sweeper asks the provider about
    them. ``ix_payments_state_sent_at`` serves it."""
    return list(
        db.session.scalars(
            select(Payment.id)
            .where(Payment.state == PaymentState.SENT.value, Payment.sent_at < cutoff)
            .order_by(Payment.sent_at, Payment.id)
            .limit(limit)
        ).all()
    )


# ------------------------------------------------------------------------------------------------------ batches

#: Approved claims paid through ``channel`` become queued payments of one new batch, in one statement: each claim
#: read and locked ``FOR UPDATE SKIP LOCKED`` (two batchers never take the same claim; a claim a caseworker is
#: changing waits for the next batch), its next attempt number, our reference (the EndToEndId: program, claim,
#: attempt, at most 35 characters), the amount fixed on the claim, and a 'create' event per payment. The partial
#: unique index ``uq_payments_one_live_per_claim`` refuses a second live payment for a claim whatever happens here.
#: One person is paid once (docs/rules.md, section 7): a claim is not batched while another claim of the program under
#: the same national ID is paid or on its way (or approved before it), unless a caseworker recorded that the group
#: may all be paid (an override, :func:`disburse.verification.review.resolve_duplicate`). Approval already asks for
#: the group to be decided first; this is the payment's own guard. A claim held back stays approved, and the
#: payment SLA sweep notes it when its payment is due. Three index probes a claim (the person, the people with the
#: national ID, their claims in the program). A claim paid again after a bank-side failure is not taken before its
#: ``retry_after`` (:mod:`disburse.payments.status`): it stays approved, a later batching takes it, and the SLA sweep
#: and the backlog figures see it meanwhile. The condition is a filter on the claims the approved-claims scan reads
#: anyway (``ix_claims_queue``), not an index of its own: only claims waiting on the bank have a time.
ANOTHER_CLAIM_PAID = """
    SELECT FROM employees e
    JOIN employees twin ON twin.national_id = e.national_id
    JOIN claims t ON t.program_id = c.program_id AND t.employee_id = twin.id AND t.id <> c.id
    WHERE e.id = c.employee_id
      AND (t.state IN ('payment_pending', 'paid', 'payment_failed', 'awaiting_payment_details')
           OR (t.state = 'approved' AND t.id < c.id))
      AND NOT EXISTS (SELECT FROM claim_events ev
                      WHERE ev.claim_id = c.id AND ev.action = 'resolve_duplicate'
                        AND ev.data -> 'override' = 'true'::jsonb)"""

#: A claim ``c`` waiting for a batch of the channel: approved, paid that way, in the id range, its bank-side wait
#: over (what a batch picks, and what a batching run first asks whether there is any of).
_WAITING = """c.program_id = :program_id AND c.state = 'approved' AND c.payout = :channel AND c.id BETWEEN :lo AND :hi
          AND (c.retry_after IS NULL OR c.retry_after <= now())"""

_BATCH_PAYMENTS = text(
    """
    WITH picked AS (
        SELECT c.id, c.amount_vnd, c.bank_code, c.bank_account,
               coalesce((SELECT max(p.attempt) FROM payments p WHERE p.claim_id = c.id), 0) + 1 AS attempt
        FROM claims c
        WHERE {WAITING}
          AND NOT EXISTS ({ANOTHER_CLAIM_PAID})
        ORDER BY c.id
        LIMIT :limit
        FOR UPDATE OF c SKIP LOCKED
    ),
    created AS (
        INSERT INTO payments (claim_id, batch_id, attempt, amount_vnd, provider, provider_reference, state,
                              bank_code, bank_account)
        SELECT id, :batch_id, attempt, amount_vnd, :provider, :prefix || id || '-' || attempt, 'queued',
               bank_code, bank_account
        FROM picked
        RETURNING id, claim_id, amount_vnd
    ),
    events AS (
        INSERT INTO payment_events (payment_id, actor_id, from_state, to_state, data)
        SELECT id, :actor_id, NULL, 'queued', CAST(:data AS jsonb) FROM created
    )
    SELECT claim_id, amount_vnd FROM created ORDER BY claim_id
    """.replace("{ANOTHER_CLAIM_PAID}", ANOTHER_CLAIM_PAID).replace("{WAITING}", _WAITING)
)


#: Whether any claim waits for a batch of the channel, as :data:`_BATCH_PAYMENTS` picks them (but the lock and the
#: check of another claim of the person paid, which a batch found empty still answers).
_ANY_WAITING = text(f"SELECT EXISTS (SELECT 1 FROM claims c WHERE {_WAITING})")


def create_batch(
    program: Program,
    channel: str,
    provider: str,
    *,
    id_range: tuple[int, int] | None = None,
    limit: int = 50_000,
    actor: Actor = None,
    today: date | None = None,
) -> PaymentBatch | None:
    """A batch of queued payments for up to ``limit`` approved claims paid through ``channel`` ('bank' or
    'cash'), with its control totals; the claims move to ``payment_pending`` through the claims' transition path.
    None when no claim is waiting. Flush, never commit: the batch, its payments, their events and the claims'
    moves commit together or not at all. :class:`PaymentPeriodEnded`, nothing written, after the programme's last
    payable day (``today``: the programme clock)."""
    from disburse.claims import service as claims
    from disburse.claims.states import ClaimAction

    if channel not in ("bank", "cash"):
        raise ValueError(f"channel must be 'bank' or 'cash' (got {channel!r})")
    check_payable(program, today)
    lo, hi = id_range or (0, 2**62)
    params = {"program_id": program.id, "channel": channel, "lo": lo, "hi": hi}
    if not db.session.scalar(_ANY_WAITING, params):
        # Nothing to batch (the beat's run every few seconds, mostly): no batch made and dropped, whose number the
        # references sent to the bank would skip (B1, B2, B46).
        return None
    batch = PaymentBatch(program_id=program.id, channel=channel, provider=provider, state="open")
    db.session.add(batch)
    db.session.flush()
    batch.reference = f"{program.code[:12]}-B{batch.id}"
    # Every reference the statement writes is to a row it holds: the claims it locked, the batch flushed above, the
    # payments it inserted, the banks the locked claims name (their own foreign key); so the system skips the per-row
    # checks (:func:`disburse.transitions.execute_skipping_fk_triggers`).
    rows = execute_skipping_fk_triggers(
        _BATCH_PAYMENTS,
        {
            **params,
            "limit": limit,
            "batch_id": batch.id,
            "provider": provider,
            "prefix": f"{program.code[:12]}-",
            "actor_id": actor_id(actor),
            "data": json.dumps({"batch_id": batch.id}),
        },
        ("payments", "payment_events"),
    )
    if not rows:
        db.session.delete(batch)
        db.session.flush()
        return None
    moved = claims.transition_many(
        ClaimAction.QUEUE_PAYMENT,
        ids=[claim_id for claim_id, _ in rows],
        actor=actor,
        data={"batch_id": batch.id},
        skip_fk_triggers=True,
    )
    if moved.not_moved:  # every claim was read approved and locked above: only a bug gets here
        raise RuntimeError(f"claims changed under a batch: {sorted(moved.not_moved)[:10]}")
    batch.item_count, batch.total_vnd = len(rows), sum(int(amount) for _, amount in rows)
    db.session.flush()
    return batch


#: A batch's lowest and highest payment id and its highest claim id, read through the batch's own index. Written
#: as a MATERIALIZED CTE on purpose: a plain ``min(id) … WHERE batch_id = :b`` lets the planner walk the primary key
#: from its end until it meets the batch (its min/max shortcut), which for the thousandth batch of a national run
#: is millions of rows, 2–4 s a batch; the CTE reads the batch's rows (10,000) and nothing else.
_BATCH_BOUNDS = text(
    """WITH batch AS MATERIALIZED (SELECT id, claim_id FROM payments WHERE batch_id = :batch_id)
       SELECT min(id), max(id), coalesce(max(claim_id), 0) FROM batch"""
)


def _batch_bounds(batch_id: int) -> tuple[int | None, int | None, int]:
    lo, hi, last_claim = db.session.execute(_BATCH_BOUNDS, {"batch_id": batch_id}).one()
    return lo, hi, int(last_claim)


def last_claim_id(batch_id: int) -> int:
    """The highest claim id of a batch (0 for none): where the next batch of a batching loop starts."""
    return _batch_bounds(batch_id)[2]


def get_batch_for_update(batch_id: int) -> PaymentBatch | None:
    """The batch, its row locked ``FOR UPDATE`` until the commit (a send and a resend take turns)."""
    return db.session.scalar(
        select(PaymentBatch)
        .where(PaymentBatch.id == batch_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def mark_batch_sent(batch: PaymentBatch, actor: Actor = None) -> bool:
    """An open batch (locked by the caller) and its queued payments become ``sent``; flush. False, and nothing
    changes, when it was handed over before: the caller asks the provider before sending anything again."""
    if batch.state != "open":
        return False
    # The batch's own id range: the statement then reads a few index pages, not the whole primary key (whose
    # bitmap the planner ANDs with the batch's when the estimates are off, as for a young payments table).
    lo, hi, _ = _batch_bounds(batch.id)
    if lo is not None and hi is not None:
        transition_many(PaymentAction.SEND, id_range=(lo, hi), batch_id=batch.id, actor=actor, skip_fk_triggers=True)
    batch.state, batch.sent_at = "sent", datetime.now(UTC)
    db.session.flush()
    return True


#: A batch's orders as plain rows (no ORM objects: 10,000 of them cost more to build than to read).
_BATCH_ORDERS = text(
    """
    SELECT p.provider_reference, p.amount_vnd, p.bank_code, p.bank_account, e.full_name, e.si_code
    FROM payments p
    JOIN claims c ON c.id = p.claim_id
    JOIN employees e ON e.id = c.employee_id
    WHERE p.batch_id = :batch_id
    ORDER BY p.id
    """
)


def batch_orders(batch_id: int) -> list[PaymentOrder]:
    """The batch's payments as orders for its provider, in payment id order."""
    rows = db.session.execute(_BATCH_ORDERS, {"batch_id": batch_id}).all()
    return [
        PaymentOrder(
            reference=reference,
            amount_vnd=int(amount),
            bank_code=bank_code,
            bank_account=bank_account,
            payee_name=name,
            note=f"Ho tro BHTN {si_code}",
        )
        for reference, amount, bank_code, bank_account, name, si_code in rows
    ]


# ------------------------------------------------------------------------------------- batches nobody took

#: The code on the events of a payment withdrawn because no provider ever took its batch and the programme stopped
#: paying (:func:`withdraw_unsent`); the payment ends ``cancelled``: it never reached a bank. Its words, (Vietnamese,
#: English), are the payment reasons' (the claim's ``cancel_payment`` event carries the Vietnamese).
NOT_HANDED_OVER = payment_reasons.NOT_HANDED_OVER
NOT_HANDED_OVER_LABEL = payment_reasons.label(NOT_HANDED_OVER)

#: The payments of a batch still on their way (queued or sent), as plain rows.
_UNFINISHED_OF_BATCH = text(
    """SELECT id, claim_id, state, provider_reference, amount_vnd FROM payments
       WHERE batch_id = :batch_id AND state IN ('queued', 'sent') ORDER BY id"""
)
#: Whether anything of the batch is still on its way (queued or sent): then it is not closed.
_BATCH_ON_ITS_WAY = text(
    "SELECT EXISTS (SELECT 1 FROM payments WHERE batch_id = :batch_id AND state IN ('queued', 'sent'))"
)


#: Whether the provider has said anything of a payment of the batch: one paid or returned, or an event from its news
#: (a callback, a status asked for, a bank's status file). A bank file's orders go to the bank together: one the bank
#: reported on means it has the file.
_HEARD_OF_BATCH = text(
    """SELECT EXISTS (
           SELECT 1 FROM payments p
           WHERE p.batch_id = :batch_id
             AND (p.state IN ('paid', 'returned')
                  OR EXISTS (SELECT 1 FROM payment_events e
                             WHERE e.payment_id = p.id AND e.data ->> 'source' IN ('callback', 'poll', 'file'))))"""
)


def provider_reported_on(batch_id: int) -> bool:
    """Whether the batch's provider has reported on any of its payments (:data:`_HEARD_OF_BATCH`): then it has the
    batch, whatever ``acknowledged_at`` says."""
    return bool(db.session.execute(_HEARD_OF_BATCH, {"batch_id": batch_id}).scalar())


@dataclass
class Withdrawn:
    """What :func:`withdraw_unsent` did to one batch."""

    batch_id: int
    #: Payments cancelled (never handed over), and their claims, back to ``approved``.
    payment_ids: list[int] = field(default_factory=list)
    claim_ids: list[int] = field(default_factory=list)
    amount_vnd: int = 0
    #: Payments still queued or sent left as they are: the provider knows them (``keep``), or they moved meanwhile.
    kept: int = 0
    #: Whether the batch is now ``closed`` (nothing of it on its way any more).
    closed: bool = False


def unsent_references(batch_id: int) -> list[str]:
    """The references of the batch's payments marked ``sent``: what to ask its provider about before any is
    withdrawn."""
    return [
        row.provider_reference
        for row in db.session.execute(_UNFINISHED_OF_BATCH, {"batch_id": batch_id})
        if row.state == PaymentState.SENT.value
    ]


def withdraw_unsent(
    batch: PaymentBatch, *, keep: Collection[str] = (), actor: Actor = None, data: dict[str, Any] | None = None
) -> Withdrawn:
    """End the payments of ``batch`` that no provider ever took: the batch is the caller's, locked ``FOR UPDATE``
    under its hand-over lock, never acknowledged (``acknowledged_at`` empty), and the programme's last payable day
    has passed; only the close-out calls this (:func:`disburse.verification.sweepers.close_unsent_batches`).

    Every payment of the batch still queued (``cancel``) or sent (``withdraw``) becomes ``cancelled``, but those
    whose references are in ``keep`` (the provider knows them: left to the status sweeper and reconciliation), all
    through :func:`transition_many` with the code :data:`NOT_HANDED_OVER` and ``data``; their claims go back from
    ``payment_pending`` to ``approved`` (``cancel_payment``, with the same data and :data:`NOT_HANDED_OVER_LABEL`'s
    words), set-based, in the caller's transaction. The batch becomes ``closed`` when nothing of it is left on its
    way (a payment the provider settled stays ``paid`` in it, for reconciliation and any return). Nothing is counted
    as paid or failed: a cancelled payment is neither. Repeating it finds nothing more to move. Flush, never
    commit."""
    from disburse.claims import service as claims
    from disburse.claims.states import ClaimAction

    if batch.acknowledged_at is not None:
        raise ValueError(f"batch {batch.id} was taken by its provider: nothing of it is withdrawn")
    kept = set(keep)
    rows = list(db.session.execute(_UNFINISHED_OF_BATCH, {"batch_id": batch.id}))
    result = Withdrawn(batch.id)
    event = {**(data or {}), "batch_id": batch.id}
    claim_of = {row.id: (row.claim_id, int(row.amount_vnd)) for row in rows}
    for action, state in ((PaymentAction.CANCEL, PaymentState.QUEUED), (PaymentAction.WITHDRAW, PaymentState.SENT)):
        ids = [row.id for row in rows if row.state == state.value and row.provider_reference not in kept]
        if not ids:
            continue
        # Locked in id order and moved only from the state the action allows: a payment the provider's news moved
        # meanwhile (a callback, under its own lock) is left as it now is.
        moved = transition_many(action, ids=ids, batch_id=batch.id, actor=actor, reason=NOT_HANDED_OVER, data=event)
        result.payment_ids += moved.moved_ids
    result.kept = len(rows) - len(result.payment_ids)
    if result.payment_ids:
        result.claim_ids = sorted(claim_of[payment_id][0] for payment_id in result.payment_ids)
        result.amount_vnd = sum(claim_of[payment_id][1] for payment_id in result.payment_ids)
        back = claims.transition_many(
            ClaimAction.CANCEL_PAYMENT,
            ids=result.claim_ids,
            program_id=batch.program_id,
            actor=actor,
            reason=NOT_HANDED_OVER_LABEL[0],
            data={"code": NOT_HANDED_OVER, **event},
        )
        if back.not_moved:  # a queued or sent payment's claim is payment_pending: only a bug gets here
            raise RuntimeError(
                f"claims of batch {batch.id} not waiting for their payment: {sorted(back.not_moved)[:10]}"
            )
    if not db.session.execute(_BATCH_ON_ITS_WAY, {"batch_id": batch.id}).scalar():
        batch.state = "closed"
        result.closed = True
    db.session.flush()
    return result


# -------------------------------------------------------------------------------------------------- one payment


def transition(
    payment: Payment | int,
    action: PaymentAction | str,
    actor: Actor = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> PaymentEvent:
    """Apply ``action`` to one payment: lock its row, take the next state from the machine, write the event; flush.

    ``reason`` is the provider's code for a failure or a return (stored on the payment and its event). Raises
    :class:`~disburse.payments.states.InvalidPaymentTransition` (nothing changes), :class:`CodeRequired`,
    :class:`PaymentNotFound`.
    """
    action = PaymentAction(action)
    _check_code(action, reason)
    payment_id = payment if isinstance(payment, int) else payment.id
    locked = get_payment_for_update(payment_id)
    if locked is None:
        raise PaymentNotFound(f"no payment with id {payment_id}")
    from_state = PaymentState(locked.state)
    to_state = next_state(from_state, action)
    now = datetime.now(UTC)
    locked.state = to_state.value
    if to_state is PaymentState.SENT:
        locked.sent_at = now
    if to_state is PaymentState.PAID:
        locked.settled_at = now
    if action in NEEDS_CODE:
        locked.failure_code = reason
    event = PaymentEvent(
        payment_id=locked.id,
        actor_id=actor_id(actor),
        from_state=from_state.value,
        to_state=to_state.value,
        code=reason,
        data=data,
    )
    db.session.add(event)
    db.session.flush()
    return event


# ------------------------------------------------------------------------------------------------- many payments

#: As for claims (disburse.claims.service._BULK): lock in id order, move those whose state allows the action, one
#: event per moved payment, an answer for every payment asked for. The answer joins the locked rows to the machine's
#: pairs, not to ``moved``: every locked row whose state has a pair is moved (it is held, so nothing changes it in
#: between), and a join of two CTEs, which have no statistics, became a nested loop (10,000 × 10,000 rows, 16 s) when
#: the estimate for the locked rows was stale (a new payments table, ``mark_batch_sent``'s batch).
#:
#: ``{targets}`` carries each row's provider time (``at``, NULL for none): :data:`_TARGETS` reads none, and
#: :data:`_TARGETS_TIMED` reads the ids and their times side by side from two aligned arrays, so the time travels
#: with the locked row and is never looked up by a join of its own. A settlement takes the provider's time when it
#: is believable (:data:`_WHEN`), and the event keeps it in its data (``at``; the provider's own word as
#: ``provider_at`` when it was not believed): reconciliation reads a return's time there.
_BULK = """
WITH targets AS ({targets}),
moves (from_state, to_state) AS (VALUES {pairs}),
moved AS (
    UPDATE payments p
    SET state = m.to_state, updated_at = now(),
        sent_at = CASE WHEN m.to_state = 'sent' THEN now() ELSE p.sent_at END,
        settled_at = CASE WHEN m.to_state = 'paid' THEN {when} ELSE p.settled_at END,
        failure_code = CASE WHEN :sets_code THEN :code ELSE p.failure_code END
    FROM targets t JOIN moves m ON m.from_state = t.state
    WHERE p.id = t.id
    RETURNING p.id, m.from_state, m.to_state, t.at AS provider_at, {when} AS at
),
events AS (
    INSERT INTO payment_events (payment_id, actor_id, from_state, to_state, code, data)
    SELECT id, :actor_id, from_state, to_state, :code,
           CASE WHEN provider_at IS NULL THEN :data
                ELSE CASE WHEN jsonb_typeof(:data) = 'object' THEN :data ELSE jsonb_build_object() END
                     || jsonb_build_object('at', at)
                     || CASE WHEN at = provider_at THEN jsonb_build_object()
                             ELSE jsonb_build_object('provider_at', provider_at) END
           END
    FROM moved
)
SELECT t.id, t.state, m.to_state FROM targets t LEFT JOIN moves m ON m.from_state = t.state ORDER BY t.id
"""

_TARGETS = """
    SELECT id, state, CAST(NULL AS timestamptz) AS at FROM payments
    WHERE {selection} AND (CAST(:batch_id AS bigint) IS NULL OR batch_id = :batch_id)
    ORDER BY id FOR UPDATE {skip_locked}
"""

_TARGETS_TIMED = """
    SELECT p.id, p.state, w.at
    FROM unnest(CAST(:ids AS bigint[]), CAST(:times AS timestamptz[])) AS w (id, at)
    JOIN payments p ON p.id = w.id
    WHERE p.{selection} AND (CAST(:batch_id AS bigint) IS NULL OR p.batch_id = :batch_id)
    ORDER BY p.id FOR UPDATE OF p {skip_locked}
"""

#: How far a provider's clock may run ahead of ours and still be believed (as Standard Webhooks tolerates for a
#: callback's timestamp), and how long before the payment was created a booking may be dated: a bank file may give
#: the booking day only (midnight in Vietnam), earlier on the day than the payment was made.
CLOCK_SKEW = "5 minutes"
BEFORE_CREATED = "1 day"

#: The time a payment settled: the provider's (``t.at``) when it gave one we can believe, else now (when we heard).
#: Believable is no later than a few minutes from now and no earlier than the day before the payment existed; a time
#: from the future or from before the payment (a provider's clock or time zone gone wrong, a year typed wrong) is
#: treated as no time at all, and the event keeps what the provider said as ``provider_at``.
_WHEN = (
    f"CASE WHEN t.at <= statement_timestamp() + interval '{CLOCK_SKEW}' "
    f"AND t.at >= p.created_at - interval '{BEFORE_CREATED}' THEN t.at ELSE now() END"
)


def transition_many(
    action: PaymentAction | str,
    *,
    ids: Sequence[int] | None = None,
    id_range: tuple[int, int] | None = None,
    batch_id: int | None = None,
    times: Sequence[datetime | None] | None = None,
    actor: Actor = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    skip_locked: bool = False,
    skip_fk_triggers: bool = False,
) -> BulkTransition:
    """Apply ``action`` to the payments with ``ids``, or with ids in ``id_range`` (inclusive, optionally only those of
    ``batch_id``), in one statement; flush. States are guarded in the statement; see
    :func:`disburse.claims.service.transition_many` (and :func:`disburse.transitions.run_bulk` for
    ``skip_fk_triggers``).

    ``times``, aligned with ``ids`` (timezone-aware, or None where the provider gave none), is when the provider says
    each move happened: a settlement's ``settled_at`` is that time rather than now, and every moved payment's event
    records it as ``at`` in its data (a return's time, for reconciliation). A time more than :data:`CLOCK_SKEW` in
    the future, or more than :data:`BEFORE_CREATED` before the payment was created, is not believed: now is used,
    and the event keeps the provider's time as ``provider_at`` for whoever looks into it. An id given twice must have
    the same time both times. Raises :class:`ValueError` for times without ``ids``, of another length, or naive."""
    action = PaymentAction(action)
    _check_code(action, reason)
    params: dict[str, Any] = {
        "batch_id": batch_id,
        "actor_id": actor_id(actor),
        "code": reason,
        "sets_code": action in NEEDS_CODE,
        "data": data,
    }
    targets = _TARGETS
    if times is not None:
        ids, params["times"] = _timed(ids, times)
        targets = _TARGETS_TIMED
    return run_bulk(
        _BULK.replace("{targets}", targets).replace("{when}", _WHEN),
        TRANSITIONS,
        action,
        params,
        ids=ids,
        id_range=id_range,
        skip_locked=skip_locked,
        skip_fk_triggers=("payments", "payment_events") if skip_fk_triggers else (),
    )


def _timed(ids: Sequence[int] | None, times: Sequence[datetime | None]) -> tuple[list[int], list[datetime | None]]:
    """``ids`` and ``times`` checked, each id once."""
    if ids is None:
        raise ValueError("times go with ids, one for each")
    if len(times) != len(ids):
        raise ValueError(f"one time for each id ({len(ids)} ids, {len(times)} times)")
    once: dict[int, datetime | None] = {}
    for payment_id, moment in zip(ids, times, strict=True):
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"a provider's time must be timezone-aware (payment {payment_id}: {moment!r})")
        if once.setdefault(payment_id, moment) != moment:
            raise ValueError(f"payment {payment_id} given twice with different times")
    return list(once), list(once.values())


__all__ = [
    "NOT_HANDED_OVER",
    "NOT_HANDED_OVER_LABEL",
    "BulkTransition",
    "CodeRequired",
    "InvalidPaymentTransition",
    "PaymentNotFound",
    "Withdrawn",
    "batch_orders",
    "create_batch",
    "get_batch_for_update",
    "get_payment_for_update",
    "last_claim_id",
    "live_payment_for_claim",
    "mark_batch_sent",
    "payment_by_reference",
    "payment_events",
    "payments_of_claim",
    "provider_reported_on",
    "sent_before",
    "transition",
    "transition_many",
    "unsent_references",
    "withdraw_unsent",
]
