"""Rollups that dashboards read, so that no dashboard ever scans claims.

``claim_counters`` holds one row per program × district × employer × claim state with the number of claims and
their amount, and of them those paid in cash at the office (migration 0035). Statement-level triggers on ``claims``
(migration 0003) keep it exact in the same transaction as the change, set-based, so a bulk ``INSERT … SELECT`` of a
million claims updates it with one grouped upsert.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, func, text
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
    #: Of these claims, those paid in cash at the office (``claims.payout = 'cash'``) and their VND (migration 0035):
    #: a claim in payment (``payment_pending``) in cash is on an office's cash list, the others are at a bank.
    cash_claims: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    cash_amount_vnd: Mapped[int] = mapped_column(server_default=text("0"))


class DistrictCounter(db.Model):  # type: ignore[name-defined]
    """The district level: one row per program × district × claim state, kept exact by the same statement-level
    triggers as ``claim_counters`` and in the same transaction (migration 0012).

    No foreign keys: the rows are derived (the repair sweeper rebuilds them from ``claims``), a foreign key check
    would add work to every claim transaction, and a district's code comes from its claims, which have one."""

    __tablename__ = "district_counters"

    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    state: Mapped[str] = mapped_column(String(30), primary_key=True)
    claims: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    amount_vnd: Mapped[int] = mapped_column(server_default=text("0"))
    #: Of these claims, those paid in cash at the office, and their VND (as ``claim_counters``).
    cash_claims: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    cash_amount_vnd: Mapped[int] = mapped_column(server_default=text("0"))


class ProvinceCounter(db.Model):  # type: ignore[name-defined]
    """The province level: one row per program × province × claim state (the district's province from
    ``districts``), kept like :class:`DistrictCounter`. The nation is the sum of its provinces (at most 63 × 14
    rows): a single national row per state would be a hot row that every claim transaction in the country waits
    on."""

    __tablename__ = "province_counters"

    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    state: Mapped[str] = mapped_column(String(30), primary_key=True)
    claims: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    amount_vnd: Mapped[int] = mapped_column(server_default=text("0"))
    #: Of these claims, those paid in cash at the office, and their VND (as ``claim_counters``).
    cash_claims: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    cash_amount_vnd: Mapped[int] = mapped_column(server_default=text("0"))


class ReductionTotal(db.Model):  # type: ignore[name-defined]
    """The employers' contribution reduction of a program in one district: units with a reduction, the people
    covered (each unit's most participants in any month, summed), and VND. Refreshed set-based from ``reductions``
    by their booking, in its transaction, and by the rollups' repair sweeper (an employer that moved district)."""

    __tablename__ = "reduction_totals"

    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    employers: Mapped[int] = mapped_column(Integer)
    employees: Mapped[int]
    amount_vnd: Mapped[int]
    refreshed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class FailureCounter(db.Model):  # type: ignore[name-defined]
    """Failed and returned payment attempts per program × district × provider code (``''`` when the provider gave
    none), kept exact by statement-level triggers on ``payments`` in the same transaction (migration 0013)."""

    __tablename__ = "failure_counters"

    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    failure_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    payments: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    amount_vnd: Mapped[int] = mapped_column(server_default=text("0"))


class DecisionCounter(db.Model):  # type: ignore[name-defined]
    """A caseworker's decisions (approvals, refusals) on one day (in Vietnam) on one district's claims of a program,
    kept exact by a row trigger on ``claim_events`` that fires for a person's decision only (migration 0015)."""

    __tablename__ = "decision_counters"

    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    actor_id: Mapped[int] = mapped_column(primary_key=True)
    approved: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    rejected: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class BacklogCounter(db.Model):  # type: ignore[name-defined]
    """The backlog figures of one area (``level`` country, province or district; ``area_code`` '' for the country) as
    the last backlog sweep counted them (:mod:`disburse.reports.backlog`; ``backlog_sweeps`` says when): per
    ``kind``, ``state`` and ``key`` (the age bucket's label, the review reason, or ''), claims and VND. Each sweep
    replaces a program's rows in one transaction (migration 0016); nothing else writes them."""

    __tablename__ = "backlog_counters"
    __table_args__ = (
        CheckConstraint("level IN ('country', 'province', 'district')", name="level_known"),
        CheckConstraint("kind IN ('ageing', 'sla_breach', 'review_reason')", name="kind_known"),
    )

    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(10), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    state: Mapped[str] = mapped_column(String(30), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    claims: Mapped[int] = mapped_column(Integer)
    amount_vnd: Mapped[int]


class BacklogSweep(db.Model):  # type: ignore[name-defined]
    """When a program's ``backlog_counters`` were last counted (``computed_at``), on which programme day the ages and
    breaches are counted (``as_of``), how long the count took and how many rows it wrote. No row: never counted.
    Derived like the counters, so no foreign key."""

    __tablename__ = "backlog_sweeps"

    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computed_at: Mapped[datetime]
    as_of: Mapped[date]
    took_ms: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(Integer)


ROLLUP_LEVELS = ("employer", "district", "province", "failures")


class RollupRepair(db.Model):  # type: ignore[name-defined]
    """One rollup row the repair sweeper found wrong, and fixed: its level and key, what it held (``found_*``) and
    what ``claims`` (or, for the level ``failures``, ``payments``) say (``expected_*``), the cash columns' too. For
    ``failures`` the ``state`` is the provider's code ('' for none) and the claims columns count payment attempts. An
    empty table is the good news."""

    __tablename__ = "rollup_repairs"
    __table_args__ = (
        CheckConstraint("level IN ('employer', 'district', 'province', 'failures')", name="level_known"),
        Index("ix_rollup_repairs_swept_at", "swept_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    swept_at: Mapped[datetime] = mapped_column(server_default=func.now())
    program_id: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(10))
    #: The district's code (employer and district levels) or the province's.
    area_code: Mapped[str] = mapped_column(String(3))
    employer_id: Mapped[int | None]
    state: Mapped[str] = mapped_column(String(40))
    expected_claims: Mapped[int] = mapped_column(Integer)
    found_claims: Mapped[int] = mapped_column(Integer)
    expected_amount_vnd: Mapped[int]
    found_amount_vnd: Mapped[int]
    #: The same for the cash columns of the claim counters (0 for ``failures``; migration 0035).
    expected_cash_claims: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    found_cash_claims: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    expected_cash_amount_vnd: Mapped[int] = mapped_column(server_default=text("0"))
    found_cash_amount_vnd: Mapped[int] = mapped_column(server_default=text("0"))


SNAPSHOT_LEVELS = ("country", "province", "district")


class CompletionSnapshot(db.Model):  # type: ignore[name-defined]
    """An area's completion on one day of the programme clock, taken by the daily beat task from the rollups (the
    chart "completion over time", the monthly report's past months). ``area_code`` is '' for the country. Taking the
    same day again replaces it.

    Where the eligible not yet paid were (``eligible - paid``), as the dashboard's ``figures_of`` names them:
    ``needs_review`` and ``awaiting_details`` since the start; ``checking``, ``approved``, in payment at a bank and on
    an office's cash list (each with its VND) and ``payment_failed`` since migration 0036. Those are NULL in a row
    taken before it whose figures do not settle them (0036 fills them with 0 only where nothing else was left
    unpaid): unknown, never 0. Every row taken since has them all."""

    __tablename__ = "completion_snapshots"
    __table_args__ = (CheckConstraint("level IN ('country', 'province', 'district')", name="level_known"),)

    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(10), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    claims: Mapped[int] = mapped_column(Integer)
    eligible: Mapped[int] = mapped_column(Integer)
    paid: Mapped[int] = mapped_column(Integer)
    paid_amount_vnd: Mapped[int]
    needs_review: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    declined: Mapped[int] = mapped_column(Integer)
    awaiting_details: Mapped[int] = mapped_column(Integer)
    checking: Mapped[int | None] = mapped_column(Integer)
    approved: Mapped[int | None] = mapped_column(Integer)
    payment_pending_bank: Mapped[int | None] = mapped_column(Integer)
    payment_pending_bank_amount_vnd: Mapped[int | None]
    payment_pending_cash: Mapped[int | None] = mapped_column(Integer)
    payment_pending_cash_amount_vnd: Mapped[int | None]
    payment_failed: Mapped[int | None] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(server_default=func.now())


class CompletionTarget(db.Model):  # type: ignore[name-defined]
    """A supervisor's completion target for a district on a date, in basis points (8000 = 80%)."""

    __tablename__ = "completion_targets"
    __table_args__ = (
        UniqueConstraint("program_id", "district_code", "target_date"),
        CheckConstraint("percent_bp BETWEEN 0 AND 10000", name="percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    target_date: Mapped[date]
    percent_bp: Mapped[int] = mapped_column(Integer)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(server_default=func.now())
