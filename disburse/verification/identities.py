"""Who each claim is, in the shape the duplicate checks look people up by: ``claim_identities``, one row per claim
that has reached verification, maintained by verification itself (migration 0008).

Near-duplicates are people with the same date of birth whose names match without diacritics or with a small edit
distance. Comparing every claim with every other one of the same birthday is ~760 comparisons a claim at national
scale (13 million claims over ~17,000 birthdays): too many. So each name (lower case, without diacritics,
:func:`disburse_unaccent`) is split into family name, middle name(s) and given name, and the row carries three
blocking keys, each a 64-bit hash of the program, the date of birth and two of the three parts. Two names that
differ in one part only (a typo, a missing diacritic, a dropped middle name) share at least one key, so three
index probes find every candidate; ``pg_trgm``'s ``similarity()`` then keeps the close ones (see
:mod:`disburse.verification.checks`).

The table is derived data keyed by claim id (claims are never deleted): no foreign keys, so that a million rows
are written without a million reference checks. It lives beside the claims rather than as indexes on
``employees``, whose import is benchmarked and must not pay for verification's look-ups.

The same module declares the partial indexes the sweepers read (claims due for a deadline) and the unique index
that makes an SLA breach note unique per claim and deadline; they belong to ``claims`` and ``claim_events`` but
exist for the sweepers, and are created by the same migration.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from disburse.claims.models import Claim, ClaimEvent
from disburse.extensions import db


class ClaimIdentity(db.Model):  # type: ignore[name-defined]
    __tablename__ = "claim_identities"
    __table_args__ = (
        Index("ix_claim_identities_key_family_given", "key_family_given"),
        Index("ix_claim_identities_key_family_middle", "key_family_middle"),
        Index("ix_claim_identities_key_middle_given", "key_middle_given"),
    )

    claim_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    program_id: Mapped[int] = mapped_column(Integer)
    national_id: Mapped[str] = mapped_column(String(12))
    date_of_birth: Mapped[date | None]
    #: The full name in lower case without diacritics, spaces collapsed ("nguyen van an").
    name_key: Mapped[str] = mapped_column(Text)
    #: hash(program, date of birth, family name, given name) and the two other pairs; NULL without a birth date.
    key_family_given: Mapped[int | None] = mapped_column(BigInteger)
    key_family_middle: Mapped[int | None] = mapped_column(BigInteger)
    key_middle_given: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    def __repr__(self) -> str:
        return f"<ClaimIdentity {self.claim_id} {self.name_key}>"


_CLOSED = "'paid', 'rejected', 'declined', 'removed'"

#: Listed claims by their employer's Form 02 deadline (the overdue-employer sweep).
LISTED_DUE = Index(
    "ix_claims_listed_due", Claim.program_id, Claim.review_due_on, Claim.id, postgresql_where=text("state = 'listed'")
)
#: Claims with a payment SLA date that are not paid or closed (the payment SLA sweep).
PAYMENT_DUE = Index(
    "ix_claims_payment_due",
    Claim.program_id,
    Claim.payment_due_on,
    Claim.id,
    postgresql_where=text(f"payment_due_on IS NOT NULL AND state NOT IN ({_CLOSED})"),
)
#: Form 04 claims not yet paid or closed, by the day the application was received (the Form 04 SLA sweep).
APPLICATIONS_OPEN = Index(
    "ix_claims_applications_open",
    Claim.program_id,
    Claim.applied_on,
    Claim.id,
    postgresql_where=text(f"applied_on IS NOT NULL AND state NOT IN ({_CLOSED})"),
)
#: At most one SLA breach note per claim and deadline, whatever runs twice.
SLA_BREACH_ONCE = Index(
    "uq_claim_events_sla_breach",
    ClaimEvent.claim_id,
    text("(data ->> 'deadline')"),
    unique=True,
    postgresql_where=text("action = 'sla_breach'"),
)
