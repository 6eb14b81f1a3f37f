"""Payment batches, payments (attempts per claim), their history, and raw provider events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from disburse.extensions import TimestampMixin, db
from disburse.payments.states import LIVE_STATES, PaymentState

_STATES = ", ".join(f"'{s.value}'" for s in PaymentState)
_LIVE = ", ".join(f"'{s.value}'" for s in sorted(LIVE_STATES))
PROVIDERS = ("sandbox", "bankfile", "cash")
#: What each provider is, in words.
PROVIDER_LABELS = {
    "sandbox": ("Ngân hàng thử nghiệm (sandbox)", "Sandbox bank"),
    "bankfile": ("Tệp ngân hàng (ISO 20022)", "Bank files (ISO 20022)"),
    "cash": ("Tiền mặt tại cơ quan BHXH", "Cash at the social security office"),
}
_PROVIDERS = ", ".join(f"'{p}'" for p in PROVIDERS)


class PaymentBatch(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "payment_batches"
    __table_args__ = (
        CheckConstraint("channel IN ('bank', 'cash')", name="channel_known"),
        CheckConstraint(f"provider IN ({_PROVIDERS})", name="provider_known"),
        CheckConstraint("state IN ('open', 'sent', 'closed')", name="state_known"),
        CheckConstraint("item_count >= 0 AND total_vnd >= 0", name="totals_non_negative"),
        # The payments sweeper's batches to hand over (again): those the provider has not acknowledged.
        Index("ix_payment_batches_unacknowledged", "created_at", postgresql_where=text("acknowledged_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    channel: Mapped[str] = mapped_column(String(4))
    provider: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), server_default=text("'open'"))
    item_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    total_vnd: Mapped[int] = mapped_column(server_default=text("0"))
    #: Our id for the batch towards the provider (G2P Connect ``transaction_id``, the pain.001 ``MsgId``).
    reference: Mapped[str | None] = mapped_column(String(35), unique=True)
    #: The provider's id for it, from its acknowledgement.
    correlation_id: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None]
    #: When the provider really took it: its acknowledgement accepted the message (for bank files: the pain.001 file
    #: was written into the outbox), or it knew every reference when asked. ``sent`` alone does not say so (a batch
    #: is marked sent and committed before the provider is called); the payments sweeper hands over again a batch
    #: not acknowledged ``DISBURSE_PAYMENT_HANDOVER_AFTER_S`` after ``handover_tried_at`` (or its creation).
    acknowledged_at: Mapped[datetime | None]
    #: When a hand-over was last tried, or asked for by the sweeper.
    handover_tried_at: Mapped[datetime | None]
    #: How many times it was handed over (a resend after a timeout counts), and the last thing that went wrong.
    send_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(String(2000))

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
        # The status chase asks the least recently asked first (never asked: first of all).
        Index(
            "ix_payments_sent_last_asked",
            "provider",
            literal_column("last_asked_at").asc().nulls_first(),
            "id",
            postgresql_where=text("state = 'sent'"),
        ),
        CheckConstraint("withheld_count >= 0", name="withheld_count_non_negative"),
        # Orders held back by their provider (the status chase's wait, the health page's list): few at any time.
        Index("ix_payments_withheld", "withheld_until", postgresql_where=text("withheld_until IS NOT NULL")),
        # Reconciliation reads a provider's settlements of one day.
        Index(
            "ix_payments_provider_settled_at", "provider", "settled_at", postgresql_where=text("settled_at IS NOT NULL")
        ),
        # A cash receipt number pays one payment, whoever records it.
        Index(
            "uq_payments_receipt_number",
            "receipt_number",
            unique=True,
            postgresql_where=text("receipt_number IS NOT NULL"),
        ),
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
    #: When the status chase last asked the provider about it (:func:`disburse.payments.sending.chase`).
    last_asked_at: Mapped[datetime | None]
    #: How many times the provider refused this order for a reason of ours (it named it in a refused message, for
    #: something that is not the payee's details): held back, still ``sent``, never anyone's failure
    #: (:func:`disburse.payments.sending.deliver`). Never reset: it is what the wait and the alert count.
    withheld_count: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    #: While the order is held back: not handed over again before this (``DISBURSE_PAYMENT_RETRY_BASE_S`` doubled at
    #: each time it was held back, up to ``DISBURSE_PAYMENT_RETRY_CAP_S``, as a claim failed on the bank's side).
    #: NULL once the provider took it (or never held it back).
    withheld_until: Mapped[datetime | None]
    #: The provider's words the last time it held the order back.
    withheld_reason: Mapped[str | None] = mapped_column(String(300))

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
    """A provider callback exactly as received. The unique event id of a signed event makes redelivery harmless; a
    callback whose signature did not check out is kept too (``signature_ok`` false, never applied), for audit."""

    __tablename__ = "provider_events"
    __table_args__ = (
        Index(
            "uq_provider_events_signed",
            "provider",
            "event_id",
            unique=True,
            postgresql_where=text("signature_ok"),
        ),
        Index("ix_provider_events_unprocessed", "id", postgresql_where=text("signature_ok AND processed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(100))
    #: The body as JSON, for a signed event (what the worker applies).
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    #: The body exactly as received (capped for an unsigned one) and its headers.
    body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    signature_ok: Mapped[bool] = mapped_column(server_default=text("true"))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    processed_at: Mapped[datetime | None]
    #: Why it was refused or why processing failed (a signed event stays for a retry).
    error: Mapped[str | None] = mapped_column(String(1000))


RECOVERY_STATES = ("owed", "recovered", "written_off", "closed")


class Recovery(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """Money that came back after a payment had settled (a return by the payee's bank): what the fund is owed back
    and what became of it. One per returned payment; the claim goes back to unpaid and is paid again."""

    __tablename__ = "recoveries"
    __table_args__ = (
        CheckConstraint("amount_vnd > 0", name="amount_positive"),
        CheckConstraint("recovered_vnd >= 0 AND recovered_vnd <= amount_vnd", name="recovered_within_amount"),
        CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in RECOVERY_STATES) + ")", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    amount_vnd: Mapped[int]
    #: How much of it is back in the fund's account (the bank's return booking, or a refund at the office).
    recovered_vnd: Mapped[int] = mapped_column(server_default=text("0"))
    state: Mapped[str] = mapped_column(String(12), server_default=text("'owed'"))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None]


class RecoveryEvent(db.Model):  # type: ignore[name-defined]
    """Append-only history of a recovery (a trigger refuses UPDATE and DELETE): its opening (``from_state`` NULL),
    every move, and every sum recovered (``recovered_vnd``, this step's; a part leaves it ``owed``), with who
    (NULL: the system, i.e. the status updates or reconciliation) and their note."""

    __tablename__ = "recovery_events"
    __table_args__ = (
        CheckConstraint("to_state IN (" + ", ".join(f"'{s}'" for s in RECOVERY_STATES) + ")", name="to_state_known"),
        CheckConstraint("recovered_vnd >= 0", name="recovered_not_negative"),
        # A statement's return is counted once per recovery, however often the statement is read.
        Index(
            "uq_recovery_events_statement",
            "recovery_id",
            "statement",
            unique=True,
            postgresql_where=text("statement IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recovery_id: Mapped[int] = mapped_column(ForeignKey("recoveries.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    recovered_vnd: Mapped[int] = mapped_column(server_default=text("0"))
    note: Mapped[str | None] = mapped_column(String(1000))
    #: The statement whose return this step counted ("provider:yyyy-mm-dd"), for reconciliation's steps.
    statement: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Reconciliation(db.Model):  # type: ignore[name-defined]
    """One run of ``disburse payments reconcile``: our payments against the provider's statement for a day."""

    __tablename__ = "reconciliations"
    __table_args__ = (Index("ix_reconciliations_provider_day", "provider", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    day: Mapped[date]
    ran_at: Mapped[datetime] = mapped_column(server_default=func.now())
    matched: Mapped[int] = mapped_column(Integer)
    differences: Mapped[int] = mapped_column(Integer)
    #: Every difference: {kind: ours_only | theirs_only | amount_differs, entry: settlement | return, reference,
    #: ours_vnd, theirs_vnd} (see disburse.payments.reconcile).
    details: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
