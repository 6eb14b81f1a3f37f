"""Claims (one per person per program) and their append-only history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Index, SmallInteger, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from disburse.claims.states import CLOSED_STATES, ClaimAction, ClaimNote, ClaimState
from disburse.extensions import TimestampMixin, db


def _in(values: Any) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class Claim(TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("program_id", "employee_id"),
        CheckConstraint("amount_vnd > 0", name="amount_positive"),
        CheckConstraint("track IN ('A', 'B')", name="track_known"),
        CheckConstraint("support_group IN ('A', 'B')", name="group_known"),
        CheckConstraint(f"state IN ({_in(ClaimState)})", name="state_known"),
        CheckConstraint("unused_months BETWEEN 0 AND 600", name="unused_months_range"),
        CheckConstraint("payout IN ('bank', 'cash')", name="payout_known"),
        CheckConstraint("payment_failures >= 0", name="payment_failures_non_negative"),
        CheckConstraint("bank_failures >= 0", name="bank_failures_non_negative"),
        CheckConstraint("retry_after IS NULL OR state = 'approved'", name="retry_after_only_approved"),
        CheckConstraint("track <> 'A' OR employer_id IS NOT NULL", name="track_a_has_employer"),
        # The work queues: a district's claims in a state, in id order (keyset pages), and a caseworker's own.
        Index("ix_claims_queue", "program_id", "state", "district_code", "id"),
        Index("ix_claims_assigned_to", "assigned_to_id", postgresql_where=text("assigned_to_id IS NOT NULL")),
        Index("ix_claims_employer_state", "employer_id", "state"),
        # The claims held and not done with (the verification sweep's release of those whose holder can no longer
        # work them, disburse.verification.review._UNWORKABLE): few, where held paid claims are many.
        Index(
            "ix_claims_held_open",
            "id",
            postgresql_where=text(f"assigned_to_id IS NOT NULL AND state NOT IN ({_in(sorted(CLOSED_STATES))})"),
        ),
        # The units overdue with Form 02: their people past the deadline, still waiting or checked without it
        # (disburse.reports.dashboard.overdue_units); few rows, whatever the registry's size.
        Index(
            "ix_claims_unconfirmed",
            "program_id",
            "district_code",
            "employer_id",
            postgresql_where=text(
                "track = 'A' AND confirmed_on IS NULL AND state IN ('employer_overdue', 'verifying', 'needs_review')"
            ),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    #: The unit whose Form 01 list carries the claim (track A), or the last unit declared on Form 04.
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"))
    #: Where the claim is worked and reported: the employer's district (A) or the applicant's (B).
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    #: A = list-driven (Form 01/02/03), B = application-driven (Form 04).
    track: Mapped[str] = mapped_column(String(1))
    #: Eligibility group: A = participating on the cut-off date, B = stopped inside the window.
    support_group: Mapped[str] = mapped_column(String(1))
    unused_months: Mapped[int] = mapped_column(SmallInteger)
    #: The tier amount at listing/application time, integer VND.
    amount_vnd: Mapped[int]
    state: Mapped[str] = mapped_column(String(30))
    #: Reason codes from the rules and checks (e.g. "zero_months", "possible_duplicate").
    reasons: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=text("'{}'"))
    payout: Mapped[str] = mapped_column(String(4), server_default=text("'bank'"))
    bank_code: Mapped[str | None] = mapped_column(ForeignKey("banks.code"))
    bank_account: Mapped[str | None] = mapped_column(String(30))
    #: Failed payments that point at the person's details (the program's ``max_payment_failures`` counts these).
    payment_failures: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    #: Failed payments that were the bank's (:data:`disburse.payments.reasons.BANK_SIDE`): paid again after a wait.
    bank_failures: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    #: While approved after a bank-side failure: batching does not take the claim before this time (backoff).
    retry_after: Mapped[datetime | None]
    #: The employer must return Form 02 by this date (working days after the list).
    review_due_on: Mapped[date | None]
    #: The SSA must pay by this date (the SLA that applies to the claim's last step).
    payment_due_on: Mapped[date | None]
    paid_at: Mapped[datetime | None]
    #: The day the employer's Form 02 confirmed the person (the payment SLA counts from it).
    confirmed_on: Mapped[date | None]
    #: The day the SSA received the Form 04 application (the payment SLA counts from it).
    applied_on: Mapped[date | None]
    #: What the person declared on Form 04 (status, unit, months, phone, address, payout), as received.
    application: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    #: The caseworker working the case, if one took it from the queue.
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Claim {self.id} {self.state}>"


class ClaimEvent(db.Model):  # type: ignore[name-defined]
    """One row per state change, per creation, and per piece of work that leaves the state as it is (a
    :class:`~disburse.claims.states.ClaimNote`: from_state = to_state). Append-only: a trigger refuses UPDATE and
    DELETE."""

    __tablename__ = "claim_events"
    __table_args__ = (
        CheckConstraint(f"action IN ({_in(ClaimAction)}, {_in(ClaimNote)}, 'create')", name="action_known"),
        CheckConstraint(f"to_state IN ({_in(ClaimState)})", name="to_state_known"),
        # The people's offers of bank details (disburse.claims.person_details.open_offer_clause): few rows, read by
        # a district's count and the queue's filter without the claims' other events (migration 0028).
        Index("ix_claim_events_offers", "claim_id", "id", postgresql_where=text("action = 'offer_details'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    #: The user who acted; NULL for the system (rules, sweepers, providers).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(String(1000))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    def __repr__(self) -> str:
        return f"<ClaimEvent {self.claim_id} {self.from_state}->{self.to_state}>"
