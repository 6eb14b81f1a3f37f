"""The outbox: one row per message to one address.

``key`` names the news (``form_01_ready/NQ116/DN01000017/2021-10-20``); with the address (any case) it is unique,
so however often the news is found, each address is told once. ``params`` holds the facts the message says (counts,
dates, the unit, never a worker's details); the subject and body are rendered from them at the first delivery
attempt and kept, as sent, for audit. ``queued`` → ``sent`` | ``failed``; a temporary failure stays ``queued`` with
``next_attempt_at`` later. The sender also takes a row by moving ``next_attempt_at`` on (its lease), so a sender
that dies leaves the row due again when the lease ends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from disburse.extensions import db

KINDS = ("form_01_ready", "form_02_reminder", "details_needed")
STATES = ("queued", "sent", "failed")


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


class Notification(db.Model):  # type: ignore[name-defined]
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_listed(KINDS)})", name="kind_known"),
        CheckConstraint(f"state IN ({_listed(STATES)})", name="state_known"),
        CheckConstraint("key <> ''", name="key_not_blank"),
        CheckConstraint("recipient ~ '^[^@[:space:]]+@[^@[:space:]]+$'", name="recipient_is_address"),
        CheckConstraint("locale IN ('vi', 'en')", name="locale_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint("(state = 'sent') = (sent_at IS NOT NULL)", name="sent_has_time"),
        CheckConstraint("state <> 'sent' OR (subject IS NOT NULL AND body IS NOT NULL)", name="sent_has_text"),
        CheckConstraint("state <> 'failed' OR last_error IS NOT NULL", name="failed_has_reason"),
        CheckConstraint("state = 'queued' OR attempts > 0", name="settled_was_tried"),
        Index("uq_notifications_key_recipient", "key", func.lower(text("recipient")), unique=True),
        Index("ix_notifications_due", "next_attempt_at", postgresql_where=text("state = 'queued'")),
        Index("ix_notifications_employer", "employer_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(254))
    #: Which language comes first (an employer user's own; the registry's address has none: Vietnamese).
    locale: Mapped[str] = mapped_column(String(2), server_default=text("'vi'"))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), server_default=text("'queued'"))
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Notification {self.key} {self.recipient} {self.state}>"
