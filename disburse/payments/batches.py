"""Batches as operators read them: control totals, how their payments stand, and why some failed. Read only; what the
admins' batches pages and ``disburse payments batches`` show.

A batch's count and sum are fixed when it closes; its payments then move one by one (paid, failed, returned), so how a
batch stands is counted from its payments, a page of batches at a time (one ``GROUP BY`` over the ``batch_id``
index: 50 batches of 10,000 orders are 500,000 index entries, a fraction of a second).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from disburse.extensions import db
from disburse.payments.models import Payment, PaymentBatch
from disburse.payments.states import PaymentState

#: Batch states as people read them: (Vietnamese, English).
STATE_LABELS: dict[str, tuple[str, str]] = {
    "open": ("Đang lập", "Being made"),
    "sent": ("Đã bàn giao", "Handed over"),
    "closed": ("Đã đóng", "Closed"),
}
#: Channels as people read them: (Vietnamese, English).
CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    "bank": ("Chuyển khoản", "Bank transfer"),
    "cash": ("Tiền mặt", "Cash"),
}


@dataclass(frozen=True)
class Amount:
    """How many payments, and their sum in VND."""

    count: int = 0
    vnd: int = 0


@dataclass(frozen=True)
class BatchStanding:
    """One batch and its payments by state."""

    batch: PaymentBatch
    by_state: dict[str, Amount] = field(default_factory=dict)

    def of(self, state: str) -> Amount:
        return self.by_state.get(state, Amount())

    @property
    def paid(self) -> Amount:
        return self.of(PaymentState.PAID)

    @property
    def unsettled(self) -> Amount:
        """Still at the provider (or not handed over yet): neither paid nor failed."""
        queued, sent = self.of(PaymentState.QUEUED), self.of(PaymentState.SENT)
        return Amount(queued.count + sent.count, queued.vnd + sent.vnd)

    @property
    def unpaid(self) -> Amount:
        """Failed, returned after settlement, or withdrawn: the claims were or will be paid again, elsewhere."""
        states = (PaymentState.FAILED, PaymentState.RETURNED, PaymentState.CANCELLED)
        return Amount(sum(self.of(s).count for s in states), sum(self.of(s).vnd for s in states))

    @property
    def waiting_handover(self) -> bool:
        """Marked sent, but no provider has taken it yet (the payments sweeper hands it over again)."""
        return self.batch.state == "sent" and self.batch.acknowledged_at is None

    @property
    def percent_paid(self) -> float | None:
        """Paid orders of the batch's fixed count, in percent (None for an empty batch)."""
        return 100 * self.paid.count / self.batch.item_count if self.batch.item_count else None


@dataclass(frozen=True)
class BatchPage:
    rows: list[BatchStanding]
    #: The id to ask for the next (older) page with, None on the last.
    next_before: int | None


def standing(batch_ids: Sequence[int]) -> dict[int, dict[str, Amount]]:
    """Payments of each of ``batch_ids`` by state: count and VND."""
    found: dict[int, dict[str, Amount]] = {batch_id: {} for batch_id in batch_ids}
    if not batch_ids:
        return found
    rows = db.session.execute(
        select(Payment.batch_id, Payment.state, func.count(), func.coalesce(func.sum(Payment.amount_vnd), 0))
        .where(Payment.batch_id.in_(list(batch_ids)))
        .group_by(Payment.batch_id, Payment.state)
    )
    for batch_id, state, count, vnd in rows:
        if batch_id is not None:  # always: the ids asked for
            found[batch_id][state] = Amount(int(count), int(vnd))
    return found


def latest(
    *,
    state: str | None = None,
    channel: str | None = None,
    provider: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> BatchPage:
    """The newest batches first (keyset on the id), filtered, each with its payments by state."""
    query = select(PaymentBatch).order_by(PaymentBatch.id.desc()).limit(limit + 1)
    if state:
        query = query.where(PaymentBatch.state == state)
    if channel:
        query = query.where(PaymentBatch.channel == channel)
    if provider:
        query = query.where(PaymentBatch.provider == provider)
    if before:
        query = query.where(PaymentBatch.id < before)
    batches = list(db.session.scalars(query))
    more = len(batches) > limit
    batches = batches[:limit]
    states = standing([b.id for b in batches])
    rows = [BatchStanding(b, states[b.id]) for b in batches]
    return BatchPage(rows, batches[-1].id if more and batches else None)


@dataclass(frozen=True)
class ChannelTotals:
    """Every batch of one channel and provider: how many, and their control totals added up."""

    channel: str
    provider: str
    batches: int
    orders: int
    vnd: int


def totals() -> list[ChannelTotals]:
    """The control totals of every batch, added up by channel and provider (the batches table is small: a national
    programme makes some 1,300 batches of 10,000)."""
    rows = db.session.execute(
        select(
            PaymentBatch.channel,
            PaymentBatch.provider,
            func.count(),
            func.coalesce(func.sum(PaymentBatch.item_count), 0),
            func.coalesce(func.sum(PaymentBatch.total_vnd), 0),
        )
        .group_by(PaymentBatch.channel, PaymentBatch.provider)
        .order_by(PaymentBatch.channel, PaymentBatch.provider)
    )
    return [ChannelTotals(c, p, int(n), int(orders), int(vnd)) for c, p, n, orders, vnd in rows]


@dataclass(frozen=True)
class Failures:
    """A batch's failed and returned payments with one provider code: how many, and their sum."""

    state: str
    code: str | None
    count: int
    vnd: int


def failures(batch_id: int) -> list[Failures]:
    """The batch's failed and returned payments by state and the provider's code, the most frequent first."""
    rows = db.session.execute(
        select(Payment.state, Payment.failure_code, func.count(), func.coalesce(func.sum(Payment.amount_vnd), 0))
        .where(
            Payment.batch_id == batch_id,
            Payment.state.in_((PaymentState.FAILED, PaymentState.RETURNED)),
        )
        .group_by(Payment.state, Payment.failure_code)
        .order_by(func.count().desc(), Payment.state, Payment.failure_code)
    )
    return [Failures(state, code, int(n), int(vnd)) for state, code, n, vnd in rows]
