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
- A whole batch refused without naming any order (a NACK: the message was malformed, or we are misconfigured) fails
  nobody: it is nobody's payment details, and a misconfiguration must not use up people's failures. The batch keeps
  the refusal in ``last_error`` (``disburse payments batches`` shows it, the log has it at ERROR) and its payments
  stay ``sent``; the chase asks again, and sends again what the provider never took, until the cause is fixed.
- :func:`chase` (the status sweeper) asks the provider about every payment sent and not settled after
  ``PAYMENT_STATUS_AFTER_S``, so a lost callback or a lost task never leaves a payment hanging.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from disburse.background import enqueue_after_commit
from disburse.claims.outcomes import is_bank_account
from disburse.extensions import db
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
    #: Orders the provider refused for a reason of ours: held back, still ``sent``, tried again by the chase. Each
    #: reference with the provider's words, when it gave them.
    withheld: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "orders": self.orders,
            "accepted": self.accepted,
            "error": self.error,
            "refused": len(self.refused),
            "withheld": len(self.withheld),
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


def send_batch(batch_id: int) -> Sent:
    """Hand the batch to its provider: the first time, all of it (marked sent and committed first); after that, only
    the references the provider has never seen. Commits. Raises
    :class:`~disburse.payments.providers.RetryableError` when the provider could not be reached (the batch stays
    sent: asking again is safe)."""
    first = payments.mark_batch_sent(_lock_batch(batch_id))
    db.session.commit()
    batch = db.session.get(PaymentBatch, batch_id)
    assert batch is not None
    if first:
        orders = payments.batch_orders(batch_id)
        return deliver(batch, orders, sent=Sent(batch_id))
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
    again only the orders it has never seen. Commits."""
    sent = Sent(batch.id)
    if not references:
        return sent
    provider = provider_for(batch.provider)
    statuses = provider.status(list(references))
    unknown = {u.reference for u in statuses if u.status is ProviderStatus.UNKNOWN}
    sent.add(apply_updates(batch.provider, statuses, source="poll").as_dict())
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

    Orders whose bank details cannot be paid are failed first and never handed over. When the provider refuses the
    message and names orders, those it failed are failed here too, those it held back for a reason of ours stay
    ``sent``, and the others are handed over again at once (each round has fewer orders: it ends)."""
    provider = provider_for(batch.provider)
    left = _refuse_unpayable(batch, orders, sent)
    sent.orders = len(left)
    if not left:
        sent.accepted = True
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
        db.session.commit()
        if ack.accepted:
            break
        references = {order.reference for order in left}
        named = [update for update in ack.updates if update.reference in references]
        if not named:
            log.error("batch %s: the provider refused it whole: %s", batch.id, sent.error)
            break
        held = [u for u in named if u.status is ProviderStatus.UNKNOWN]
        sent.withheld += [f"{u.reference} ({u.reason_message})" if u.reason_message else u.reference for u in held]
        log.error(
            "batch %s: the provider refused %d order(s) by name (%d failed, %d held back); sending the rest: %s",
            batch.id,
            len(named),
            len(named) - len(held),
            len(held),
            sent.error,
        )
        out = {update.reference for update in named}
        left = [order for order in left if order.reference not in out]
    if sent.withheld and sent.accepted:
        held_back = "; ".join(sent.withheld[:20])
        sent.error = (
            "giữ lại: bên chi trả không nhận vì dữ liệu của quỹ"
            f" / held back, refused by the provider for a reason of ours: {held_back}"
        )
        _note_error(batch.id, sent.error)
        db.session.commit()
    return sent


def _note_error(batch_id: int, error: str) -> None:
    batch = _lock_batch(batch_id)
    batch.last_error = error[:2000]
    db.session.flush()


def _record(batch_id: int, *, ack: Acknowledgement | None = None, error: str | None = None) -> None:
    batch = _lock_batch(batch_id)
    batch.send_attempts += 1
    if ack is not None:
        batch.correlation_id = ack.correlation_id or batch.correlation_id
        error = None if ack.accepted else (ack.message or "refused")
    batch.last_error = error[:2000] if error else None
    db.session.flush()


# ------------------------------------------------------------------------------------------------------ chase

_WAITING = text(
    """SELECT p.id, p.batch_id, p.provider_reference FROM payments p
       WHERE p.state = 'sent' AND p.provider = :provider AND p.sent_at < :cutoff AND p.id > :after
         AND p.batch_id IS NOT NULL  -- every payment is made in a batch (create_batch); its batch is what is resent
       ORDER BY p.id LIMIT :limit"""
)


@dataclass
class Chased:
    asked: int = 0
    resent: int = 0
    applied: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def as_dict(self) -> dict[str, Any]:
        return {"asked": self.asked, "resent": self.resent, **self.applied}


def chase(provider_name: str, *, older_than: timedelta, chunk: int = 1000, budget_s: float = 120.0) -> Chased:
    """Ask ``provider_name`` about every payment sent before ``older_than`` ago and not settled, apply its answers,
    and send again, under the same reference, what it has never seen. Commits per chunk; stops after ``budget_s``
    (the next sweep goes on)."""
    chased = Chased()
    if provider_name not in POLLED_PROVIDERS:
        return chased
    cutoff = datetime.now(UTC) - older_than
    started, after = datetime.now(UTC), 0
    while (datetime.now(UTC) - started).total_seconds() < budget_s:
        rows = db.session.execute(
            _WAITING, {"provider": provider_name, "cutoff": cutoff, "after": after, "limit": chunk}
        ).all()
        db.session.commit()
        if not rows:
            break
        after = rows[-1].id
        by_batch: dict[int, list[str]] = defaultdict(list)
        for row in rows:
            by_batch[row.batch_id].append(row.provider_reference)
        for batch_id, references in by_batch.items():
            batch = db.session.get(PaymentBatch, batch_id)
            assert batch is not None
            sent = resend_unknown(batch, references)
            chased.asked += len(references)
            chased.resent += sent.orders
            for key, value in sent.applied.items():
                if isinstance(value, int):
                    chased.applied[key] += value
    return chased


def open_batches(older_than: timedelta) -> list[int]:
    """Batches still open after ``older_than``: their send task was lost (Redis restarted, say)."""
    cutoff = datetime.now(UTC) - older_than
    return list(
        db.session.scalars(
            select(PaymentBatch.id)
            .where(PaymentBatch.state == "open", PaymentBatch.created_at < cutoff)
            .order_by(PaymentBatch.id)
        )
    )


__all__ = [
    "BatchNotFound",
    "Chased",
    "Sent",
    "channels",
    "chase",
    "deliver",
    "make_batch",
    "open_batches",
    "payable",
    "resend_unknown",
    "send_batch",
]
