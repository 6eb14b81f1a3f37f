"""Payment batches, payments (attempts per claim), their history, and raw provider events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from disburse.extensions import TimestampMixin, db
from disburse.payments.states import LIVE_STATES, PaymentState

_STATES = ", ".join(f"'{s.value}'" for s in PaymentState)
_LIVE = ", ".join(f"'{s.value}'" for s in sorted(LIVE_STATES))
PROVIDERS = ("sandbox", "bankfile", "cash")
_PROVIDERS = ", ".join(f"'{p}'" for p in PROVIDERS)


class PaymentBatch(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "payment_batches"
    __table_args__ = (
        CheckConstraint("channel IN ('bank', 'cash')", name="channel_known"),
        CheckConstraint(f"provider IN ({_PROVIDERS})", name="provider_known"),
        CheckConstraint("state IN ('open', 'sent', 'closed')", name="state_known"),
        CheckConstraint("item_count >= 0 AND total_vnd >= 0", name="totals_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    channel: Mapped[str] = mapped_column(String(4))
    provider: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), server_default=text("'open'"))
    item_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    total_vnd: Mapped[int] = mapped_column(server_default=text("0"))

    def __repr__(self) -> str:
        return f"<PaymentBatch {self.id} {self.provider} {self.state}>"


class Payment(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("claim_id", "attempt"),
        CheckConstraint("amount_vnd > 0", name="amount_positive"),
        CheckConstraint("attempt >= 1", name="attempt_positive"),
        CheckConstraint(f"state IN ({_STATES})", name="state_known"),
        CheckConstraint(f"provider IN ({_PROVIDERS})", name="provider_known"),
        CheckConstraint("state <> 'paid' OR settled_at IS NOT NULL", name="paid_has_settled_at"),
        # The guard against paying anyone twice: one live (queued, sent or paid) payment per claim.
        Index(
            "uq_payments_one_live_per_claim",
            "claim_id",
            unique=True,
            postgresql_where=text(f"state IN ({_LIVE})"),
        ),
        Index("ix_payments_state_sent_at", "state", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    #: 1 for the first try; each re-payment after a failure is a new row with the next attempt number.
    attempt: Mapped[int] = mapped_column(SmallInteger)
    amount_vnd: Mapped[int]
    provider: Mapped[str] = mapped_column(String(20))
    #: Our idempotency key towards the provider; unique so the bank can never be asked twice for one order.
    provider_reference: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(10), server_default=text("'queued'"))
    #: The provider's code for a failure or return (e.g. "ACCOUNT_CLOSED").
    failure_code: Mapped[str | None] = mapped_column(String(40))
    bank_code: Mapped[str | None] = mapped_column(ForeignKey("banks.code"))
    bank_account: Mapped[str | None] = mapped_column(String(30))
    #: For cash at the office: the receipt number handed to the person.
    receipt_number: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Payment {self.id} claim={self.claim_id} {self.state}>"


class PaymentEvent(db.Model):  # type: ignore[name-defined]
    """Append-only history of payment state changes (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "payment_events"
    __table_args__ = (CheckConstraint(f"to_state IN ({_STATES})", name="to_state_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_state: Mapped[str | None] = mapped_column(String(10))
    to_state: Mapped[str] = mapped_column(String(10))
    code: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ProviderEvent(db.Model):  # type: ignore[name-defined]
    """A provider callback exactly as received; the unique event id makes redelivery harmless."""

    __tablename__ = "provider_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    processed_at: Mapped[datetime | None]
    #: Why processing failed, if it did (the raw event stays for a retry).
    error: Mapped[str | None] = mapped_column(String(1000))
