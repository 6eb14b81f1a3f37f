"""Contact attempts with people who have no claim yet: the group B people of the outreach list, phoned or visited
so that they apply (Form 04). A claim's own attempts are ``contact`` notes on the claim; these have no claim to
hang on. Append-only: a trigger refuses UPDATE and DELETE (migration 0022)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from disburse.extensions import db
from disburse.verification.review import CONTACT_CHANNELS, CONTACT_OUTCOMES


def _in(codes: dict[str, tuple[str, str]]) -> str:
    return ", ".join(f"'{code}'" for code in codes)


class PersonContact(db.Model):  # type: ignore[name-defined]
    __tablename__ = "person_contacts"
    __table_args__ = (
        CheckConstraint(f"channel IN ({_in(CONTACT_CHANNELS)})", name="channel_known"),
        CheckConstraint(f"outcome IN ({_in(CONTACT_OUTCOMES)})", name="outcome_known"),
        # A person's attempts in a programme, newest last (the outreach list's count and last attempt).
        Index("ix_person_contacts_person", "program_id", "employee_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
