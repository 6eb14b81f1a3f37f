"""What providers say about payments, applied: settled, failed, returned, from callbacks, polls and bank files.

:func:`apply_updates` is the one place a provider's word moves payments and their claims. It is set-based (a chunk
of references at a time: one read, one statement per kind of move) and safe in any order and any number of times:

- **Once.** A payment moves only from a state the machine allows (the guard is in the statement), so the same
  news a second time finds nothing to move.
- **Out of order.** News that is not further along than what we know is ignored: a late "pending" never undoes a
  "paid" (:data:`~disburse.payments.providers.PROGRESS`); a return about a payment we only knew as sent settles it
  first, then returns it, so both are on record as the bank booked them.
- **At the provider's time.** A settlement's ``settled_at`` and a return's time (its event's ``at``) are when the
  provider says they happened (:attr:`~disburse.payments.providers.StatusUpdate.at`: the bank's booking), not when
  we heard: a camt.054 imported the next morning, or a callback applied just after midnight, is on the day the bank
  booked it, as on the bank's statement, so reconciliation compares like with like. News without a time is dated
  now; a time without a time zone is Vietnam's (as bank files are read); a time we cannot believe (in the future,
  or from before the payment existed) is dated now, the provider's word kept on the event
  (:func:`disburse.payments.service.transition_many`). A return about a payment we only knew as sent settles it at
  the return's time too: the bank said nothing earlier, and it cannot have settled later.
- **Locked.** The payments are locked ``FOR UPDATE`` in id order before anything moves, so a callback and a poll
  about the same payments take turns, and two chunks never deadlock.

What follows for the claim: settled → ``paid``; failed → ``payment_failed``, then:

- the bank's fault (:func:`disburse.payments.reasons.bank_side`: a timeout, the fund's account short
  of money, a cut-off): back to ``approved`` with a not-before time (``claims.retry_after``: an exponential backoff,
  ``DISBURSE_PAYMENT_RETRY_BASE_S`` doubled at each bank-side failure of the claim up to
  ``DISBURSE_PAYMENT_RETRY_CAP_S``), paid again as it is by the first batching after it. Counted in
  ``bank_failures``, not in ``payment_failures``: the person's details are not at fault, so this never leads to the
  offer of cash or a request for new details. From ``DISBURSE_PAYMENT_BANK_FAILURES_ALERT`` bank-side failures of
  a claim on, each further one is logged at ERROR (the fund's account or the bank needs a person) and the case page
  says so; the claim is still tried again at the capped wait, and the payment SLA sweep and the backlog figures count
  it as any approved claim;
- the details' fault: ``awaiting_payment_details`` with a request to the employer (track A) or the person (track B),
  and the offer of cash after the program's ``max_payment_failures`` such failures.

Returned after settlement → a :class:`~disburse.payments.models.Recovery` and the claim unpaid again
(``payment_failed``, then as a failure).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import text

from disburse.claims import service as claims
from disburse.claims.states import ClaimAction
from disburse.extensions import db
from disburse.payments import reasons
from disburse.payments import service as payments
from disburse.payments.providers import PROGRESS, ProviderStatus, StatusUpdate
from disburse.payments.states import PaymentAction, PaymentState
from disburse.transitions import Actor, actor_id

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

#: References per chunk: one read and a handful of statements each. Larger chunks pay the claims' rollup trigger
#: (one upsert per district, employer and state a statement touches) less often: at a million settlements spread
#: over 25,000 employers, 50,000 a chunk took the claims' move from 3.3 s to 1.7 s per 50,000 against 20,000.
CHUNK = 50_000

logger = logging.getLogger(__name__)

_LOCK_PAYMENTS = text(
    """SELECT id, claim_id, state, amount_vnd, provider_reference FROM payments
       WHERE provider = :provider AND provider_reference = ANY(:refs)
       ORDER BY id FOR UPDATE"""
)

_OPEN_RECOVERIES = text(
    """WITH opened AS (
           INSERT INTO recoveries (claim_id, payment_id, amount_vnd, reason_code)
           SELECT claim_id, id, amount_vnd, failure_code FROM payments WHERE id = ANY(:ids)
           ON CONFLICT (payment_id) DO NOTHING
           RETURNING id
       )
       INSERT INTO recovery_events (recovery_id, actor_id, from_state, to_state)
       SELECT id, :actor_id, NULL, 'owed' FROM opened"""
)

_CLAIMS_AFTER_FAILURE = text(
    """SELECT c.id, c.track, c.payment_failures, p.max_payment_failures
       FROM claims c JOIN programs p ON p.id = c.program_id WHERE c.id = ANY(:ids)"""
)

#: Claims paid again after a bank-side failure: how many bank-side failures each has had and when it is tried again.
_RETRIED = text("SELECT id, bank_failures, retry_after FROM claims WHERE id = ANY(:ids) ORDER BY id")


@dataclass
class Applied:
    """What one application of provider news did."""

    settled: int = 0
    failed: int = 0
    returned: int = 0
    recoveries: int = 0
    #: Claims sent back to be paid again as they are, after a wait (the failure was the bank's).
    retried: int = 0
    #: Of those, claims with ``DISBURSE_PAYMENT_BANK_FAILURES_ALERT`` bank-side failures or more (logged at ERROR).
    bank_alerts: int = 0
    #: Claims now waiting for corrected details (of which offered cash: ``offered_cash``).
    awaiting_details: int = 0
    offered_cash: int = 0
    #: News that changed nothing (pending, or older than what we know).
    ignored: int = 0
    #: References we have no payment for, and news whose amount is not the payment's (not applied: reconcile).
    unknown: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    #: News that money moved (paid, returned) for a payment we hold failed or cancelled: the bank paid what we took
    #: for lost, so the claim may be paid twice. Not applied (no state machine path undoes a failure); logged as an
    #: error and reported, for a person to look at with reconciliation, and the claim held (``held``).
    conflicts: list[str] = field(default_factory=list)
    #: Claims of those ``conflicts`` held for a person to check the statement (:func:`hold_for_statement`).
    held: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "settled": self.settled,
            "failed": self.failed,
            "returned": self.returned,
            "recoveries": self.recoveries,
            "retried": self.retried,
            "bank_alerts": self.bank_alerts,
            "awaiting_details": self.awaiting_details,
            "offered_cash": self.offered_cash,
            "ignored": self.ignored,
            "unknown": len(self.unknown),
            "mismatched": len(self.mismatched),
            "conflicts": len(self.conflicts),
            "held": self.held,
        }


def latest(updates: Iterable[StatusUpdate]) -> dict[str, StatusUpdate]:
    """Per reference, the news furthest along (the later one of two equally far)."""
    best: dict[str, StatusUpdate] = {}
    for update in updates:
        known = best.get(update.reference)
        if known is None or PROGRESS[update.status] >= PROGRESS[known.status]:
            best[update.reference] = update
    return best


def _moves(state: str, status: ProviderStatus) -> tuple[PaymentAction, ...]:
    """The payment's moves for ``status`` from ``state``, in order; none when the news is not new."""
    if status is ProviderStatus.PAID and state == PaymentState.SENT:
        return (PaymentAction.SETTLE,)
    if status is ProviderStatus.REJECTED and state in (PaymentState.QUEUED, PaymentState.SENT):
        return (PaymentAction.FAIL,)
    if status is ProviderStatus.RETURNED and state == PaymentState.SENT:
        return (PaymentAction.SETTLE, PaymentAction.RETURN)
    if status is ProviderStatus.RETURNED and state == PaymentState.PAID:
        return (PaymentAction.RETURN,)
    return ()


_MONEY_MOVED = frozenset({ProviderStatus.PAID, ProviderStatus.RETURNED})
_GIVEN_UP = frozenset({PaymentState.FAILED, PaymentState.CANCELLED})

#: Settlements first: a payment returned before we knew it settled is settled, then returned.
_ORDER = {PaymentAction.SETTLE: 0, PaymentAction.FAIL: 1, PaymentAction.RETURN: 2}


def apply_updates(
    provider: str, updates: Iterable[StatusUpdate], *, source: str, actor: Actor = None, chunk: int = CHUNK
) -> Applied:
    """Apply ``provider``'s news about our payments (``source``: callback, poll, file, acknowledgement); flush,
    never commit. See the module's docstring for what it does and why it is safe to repeat."""
    result = Applied()
    news = list(latest(updates).values())
    for start in range(0, len(news), chunk):
        _apply_chunk(provider, news[start : start + chunk], source, actor, result)
    return result


def _apply_chunk(provider: str, news: Sequence[StatusUpdate], source: str, actor: Actor, result: Applied) -> None:
    rows = {
        row.provider_reference: row
        for row in db.session.execute(_LOCK_PAYMENTS, {"provider": provider, "refs": [u.reference for u in news]})
    }
    plans: dict[tuple[PaymentAction, str | None], list[tuple[Any, datetime | None]]] = defaultdict(list)
    held: list[int] = []
    for update in news:
        row = rows.get(update.reference)
        if row is None:
            result.unknown.append(update.reference)
            continue
        if update.amount_vnd is not None and update.amount_vnd != row.amount_vnd:
            result.mismatched.append(update.reference)
            continue
        moves = _moves(row.state, update.status)
        if not moves and update.status in _MONEY_MOVED and row.state in _GIVEN_UP:
            result.conflicts.append(update.reference)
            held.append(row.claim_id)
            logger.error(
                "%s says payment %s (claim %s) was %s, but it is %s here: not applied; check it against the "
                "provider's statement before the claim is paid again",
                provider,
                update.reference,
                row.claim_id,
                update.status.value,
                row.state,
            )
            continue
        if not moves:
            result.ignored += 1
        for action in moves:
            code = (update.reason_code or reasons.UNKNOWN)[:40] if action in payments.NEEDS_CODE else None
            plans[(action, code)].append((row, _aware(update.at)))
    for (action, code), planned in sorted(plans.items(), key=lambda item: (_ORDER[item[0][0]], item[0][1] or "")):
        times = [at for _, at in planned]
        moved = payments.transition_many(
            action,
            ids=[row.id for row, _ in planned],
            times=times if any(at is not None for at in times) else None,
            reason=code,
            actor=actor,
            data={"source": source},
            skip_fk_triggers=True,
        )
        done = {payment_id: from_state for payment_id, from_state, _ in moved.moved}
        hit = [row for row, _ in planned if row.id in done]
        if not hit:
            continue
        if action is PaymentAction.SETTLE:
            claims.transition_many(
                ClaimAction.PAYMENT_SUCCEEDED, ids=[r.claim_id for r in hit], actor=actor, skip_fk_triggers=True
            )
            result.settled += len(hit)
        elif action is PaymentAction.FAIL:
            claims_failed(ClaimAction.PAYMENT_FAILED, [r.claim_id for r in hit], code, source, actor, result)
            result.failed += len(hit)
        else:
            _returned(hit, done, code, source, actor, result)
    if held:
        result.held += len(hold_for_statement(held, actor, source))


#: A payment held failed or cancelled here that the provider says moved money: the claim's new attempt waits for a
#: person to compare the bank's statement (:func:`hold_for_statement`). The ids are cast to claim_id's bigint: sent
#: as they come (smallint[] or integer[] for ids under 2³¹), the comparison is across types, which PostgreSQL cannot
#: hash, and with statistics older than the queue the planner read every queued payment and tested each against the
#: whole array (queued × claims: 16 s for 10,000 claims among 95,421 queued payments; 0.2 s cast).
_NEW_ATTEMPT_QUEUED = text(
    """SELECT id, claim_id FROM payments WHERE claim_id = ANY(CAST(:ids AS bigint[])) AND state = 'queued'
       ORDER BY id FOR UPDATE"""
)


def hold_for_statement(claim_ids: Sequence[int], actor: Actor, source: str) -> list[int]:
    """The claims of payments the provider says moved money while we hold them failed or cancelled: none is paid
    again before a caseworker has compared the bank's statement. A new attempt not yet handed over is cancelled; the
    claim (approved, failed or waiting for details, or back in ``approved`` after the cancellation) goes to review
    with ``bank_reports_money_moved``, which its approval asks to be checked. One whose new attempt is at the bank
    already cannot be held: reconciliation and the log say so. Returns the claims sent to review."""
    from disburse.verification import reasons as review_reasons

    ids = sorted(set(claim_ids))
    queued = db.session.execute(_NEW_ATTEMPT_QUEUED, {"ids": ids}).all()
    if queued:
        data = {"source": source, "why": review_reasons.BANK_REPORTS_MONEY_MOVED}
        cancelled = payments.transition_many(
            PaymentAction.CANCEL, ids=[row.id for row in queued], actor=actor, data=data
        )
        claim_of = {row.id: row.claim_id for row in queued}
        claims.transition_many(
            ClaimAction.CANCEL_PAYMENT, ids=sorted(claim_of[i] for i in cancelled.moved_ids), actor=actor, data=data
        )
    flagged = claims.flag_for_review_many(
        ids,
        [review_reasons.BANK_REPORTS_MONEY_MOVED],
        actor=actor,
        reason=review_reasons.written_reason([review_reasons.BANK_REPORTS_MONEY_MOVED]),
        data={"reasons": [review_reasons.BANK_REPORTS_MONEY_MOVED], "source": source},
    )
    at_the_bank = sorted(i for i, state in flagged.not_moved.items() if state in ("payment_pending", "paid"))
    if at_the_bank:
        logger.error(
            "claims %s: the provider says an earlier payment moved money, and a new attempt is at the bank or paid "
            "already: check the statement (reconciliation) and recover what was paid twice",
            ", ".join(str(i) for i in at_the_bank),
        )
    return [claim_id for claim_id, _, _ in flagged.moved]


def _aware(at: datetime | None) -> datetime | None:
    """A provider's time with its time zone; one given without is Vietnam's (as bank files are read)."""
    if at is None or at.utcoffset() is not None:
        return at
    return at.replace(tzinfo=VIETNAM)


def _returned(
    hit: list[Any], from_states: dict[int, str], code: str | None, source: str, actor: Actor, result: Applied
) -> None:
    """Returned payments: after settlement, a recovery and the claim unpaid again; before, a failure."""
    after_paid = [row for row in hit if from_states[row.id] == PaymentState.PAID]
    before_paid = [row for row in hit if from_states[row.id] != PaymentState.PAID]
    if after_paid:
        db.session.execute(_OPEN_RECOVERIES, {"ids": [row.id for row in after_paid], "actor_id": actor_id(actor)})
        result.recoveries += len(after_paid)
        claim_ids = [row.claim_id for row in after_paid]
        claims_failed(ClaimAction.PAYMENT_RETURNED, claim_ids, code, source, actor, result)
    if before_paid:
        claims_failed(ClaimAction.PAYMENT_FAILED, [row.claim_id for row in before_paid], code, source, actor, result)
    result.returned += len(hit)


def claims_failed(
    action: ClaimAction,
    claim_ids: list[int],
    code: str | None,
    source: str,
    actor: Actor,
    result: Applied,
    *,
    note: str | None = None,
) -> None:
    """The claims' failure, then their way on: paid again as they are after a wait (the bank's fault), or waiting
    for corrected details (see the module's docstring). ``note``: a person's written words on the failure (a
    caseworker's), kept in the events' data."""
    vi, _en = reasons.label(code)
    data = {"code": code, "source": source, **({"note": note} if note else {})}
    bank_side = reasons.bank_side(code)
    failed = claims.transition_many(
        action,
        ids=sorted(claim_ids),
        actor=actor,
        reason=vi,
        data=data,
        skip_fk_triggers=True,
        bank_side=bank_side,
    )
    if not failed.moved_ids:
        return
    if bank_side:
        _retry_later(failed.moved_ids, code, data, actor, result)
        return
    groups: dict[tuple[str, bool], list[int]] = defaultdict(list)
    for claim_id, track, failures, max_failures in db.session.execute(_CLAIMS_AFTER_FAILURE, {"ids": failed.moved_ids}):
        offer_cash = failures >= max_failures
        groups[("employer" if track == "A" else "person", offer_cash)].append(claim_id)
    for (ask, offer_cash), ids in sorted(groups.items()):
        request = {**data, "ask": ask, "offer_cash": offer_cash}
        moved = claims.transition_many(
            ClaimAction.REQUEST_DETAILS, ids=ids, actor=actor, data=request, skip_fk_triggers=True
        ).moved
        result.awaiting_details += len(moved)
        result.offered_cash += len(moved) if offer_cash else 0


def _retry_later(claim_ids: list[int], code: str | None, data: dict[str, Any], actor: Actor, result: Applied) -> None:
    """Claims failed on the bank's side back to ``approved``, each with its not-before time (the transition sets it
    from the claim's ``bank_failures``); those past the alert threshold logged at ERROR."""
    moved = claims.transition_many(
        ClaimAction.RETRY_PAYMENT, ids=claim_ids, actor=actor, data=data, skip_fk_triggers=True
    ).moved_ids
    result.retried += len(moved)
    if not moved:
        return
    alert_at = int(current_app.config.get("DISBURSE_PAYMENT_BANK_FAILURES_ALERT", 5))
    alerts = [row for row in db.session.execute(_RETRIED, {"ids": moved}) if row.bank_failures >= alert_at]
    result.bank_alerts += len(alerts)
    if alerts:
        logger.error(
            "bank-side failures (%s): %d claims have failed on the bank's side %d times or more (claim %s: %d times, "
            "tried again after %s); check the fund's account and the bank",
            code,
            len(alerts),
            alert_at,
            alerts[0].id,
            alerts[0].bank_failures,
            alerts[0].retry_after.isoformat(),
        )


__all__ = ["CHUNK", "Applied", "apply_updates", "claims_failed", "latest"]
