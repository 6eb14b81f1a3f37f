"""Rollups that dashboards read, so that no dashboard ever scans claims.

``claim_counters`` holds one row per program × district × employer × claim state with the number of claims and
their amount. Statement-level triggers on ``claims`` (migration 0003) keep it exact in the same transaction as the
change, set-based, so a bulk ``INSERT … SELECT`` of a million claims updates it with one grouped upsert.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from disburse.extensions import db


class ClaimCounter(db.Model):  # type: ignore[name-defined]
    __tablename__ = "claim_counters"
    __table_args__ = (
        Index(
            "uq_claim_counters_key",
            "program_id",
            "district_code",
            "employer_id",
            "state",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    #: NULL for claims without an employer (group B applicants with no unit on file).
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"), index=True)
    state: Mapped[str] = mapped_column(String(30))
    claims: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    amount_vnd: Mapped[int] = mapped_column(server_default=text("0"))
