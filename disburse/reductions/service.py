"""Employer contribution reductions: one row per eligible employer per contribution month of the programme.

``reduction(month) = UI salary fund × (normal rate − reduced rate)``, rates in basis points, computed in integer
arithmetic and rounded half up to whole VND. Booking is set-based over employer id ranges and idempotent: new
rows are inserted, rows whose salary fund or participants changed (a corrected salary-fund import) are updated,
unchanged rows are left alone. Services flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, text

from disburse.bulk import may_skip_reference_triggers, session_connection
from disburse.extensions import db
from disburse.programs.models import Program
from disburse.reductions.models import Reduction
from disburse.reports.rollups import refresh_reduction_totals

#: Employer ids per statement: bounds each statement at about 12 × this many salary-fund rows.
EMPLOYER_BATCH = 50_000

Progress = Callable[[int, int | None], None]

# The amount is (fund × Δbp + 5,000) div 10,000: half up, exact, in bigint (fund < 10^15 VND keeps it in range).
# {locking}: the employers read are locked as the reductions' foreign-key trigger would lock them, on the
# set-based path (:func:`_may_skip_reference_triggers`).
_BOOK = """
    WITH booked AS (
        INSERT INTO reductions AS d (program_id, employer_id, month, ui_salary_fund_vnd, ui_participants,
                                     normal_rate_bp, reduced_rate_bp, amount_vnd)
        SELECT p.id, f.employer_id, f.month, f.ui_salary_fund_vnd, f.ui_participants,
               p.normal_rate_bp, p.reduced_rate_bp,
               (f.ui_salary_fund_vnd * (p.normal_rate_bp - p.reduced_rate_bp) + 5000) / 10000
        FROM programs p
        JOIN employers r ON r.id BETWEEN :lo AND :hi AND r.sector <> ALL (p.excluded_sectors)
        JOIN salary_funds f ON f.employer_id = r.id
                           AND f.month >= p.reduction_start_month
                           AND f.month < p.reduction_start_month + make_interval(months => p.reduction_months)
        WHERE p.id = :program_id
        {locking}
        ON CONFLICT (program_id, employer_id, month) DO UPDATE
        SET ui_salary_fund_vnd = EXCLUDED.ui_salary_fund_vnd,
            ui_participants = EXCLUDED.ui_participants,
            normal_rate_bp = EXCLUDED.normal_rate_bp,
            reduced_rate_bp = EXCLUDED.reduced_rate_bp,
            amount_vnd = EXCLUDED.amount_vnd
        WHERE (d.ui_salary_fund_vnd, d.ui_participants, d.normal_rate_bp, d.reduced_rate_bp, d.amount_vnd)
              IS DISTINCT FROM
              (EXCLUDED.ui_salary_fund_vnd, EXCLUDED.ui_participants, EXCLUDED.normal_rate_bp,
               EXCLUDED.reduced_rate_bp, EXCLUDED.amount_vnd)
        -- xmax = 0 only on a freshly inserted row version: tells an insert from an update.
        RETURNING (d.xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM booked
    """


def _may_skip_reference_triggers() -> bool:
    """Whether the reductions may be written without their per-row foreign-key triggers: the same guarantee is
    given set-based (the employers read are locked ``FOR KEY SHARE`` as they are read, the program before)."""
    return may_skip_reference_triggers(session_connection(), "reductions")


# An employer reclassified into an excluded sector (a corrected employer import) keeps no reduction.
_UNBOOK_EXCLUDED = text(
    """
    DELETE FROM reductions d
    USING employers r, programs p
    WHERE d.program_id = :program_id AND p.id = d.program_id AND r.id = d.employer_id
      AND r.sector = ANY (p.excluded_sectors)
    """
)


@dataclass
class ReductionsResult:
    created: int = 0
    updated: int = 0
    #: Rows of employers that have since been classified into an excluded sector.
    removed: int = 0
    #: Whether the rows skipped the per-row foreign-key triggers (:func:`_may_skip_reference_triggers`).
    set_based_references: bool = False


def employer_id_span() -> tuple[int, int] | None:
    """The smallest and largest employer id, or None when there are no employers."""
    row = db.session.execute(text("SELECT min(id), max(id) FROM employers")).one()
    return None if row[0] is None else (int(row[0]), int(row[1]))


def book_reductions(
    program: Program,
    *,
    batch: int = EMPLOYER_BATCH,
    progress: Progress | None = None,
    skip_fk_triggers: bool = True,
) -> ReductionsResult:
    """Insert or refresh the reduction rows of every eligible employer for the programme's reduction months.

    Excluded-sector employers get none (and lose any they had); months without a salary-fund row get none.
    ``progress(done, total)`` is called after each id range with employer ids covered so far.
    ``skip_fk_triggers=False`` keeps the per-row foreign-key triggers even when the set-based path is allowed.
    """
    db.session.flush()
    result = ReductionsResult()
    set_based = skip_fk_triggers and _may_skip_reference_triggers()
    result.set_based_references = set_based
    book = text(_BOOK.format(locking="FOR KEY SHARE OF r" if set_based else ""))
    if set_based:
        db.session.execute(text("SELECT 1 FROM programs WHERE id = :p FOR KEY SHARE"), {"p": program.id})
    span = employer_id_span()
    if span is not None:
        first, last = span
        total = last - first + 1
        for lo in range(first, last + 1, batch):
            hi = min(lo + batch - 1, last)
            # An error aborts the transaction, which also undoes the replica role.
            if set_based:
                db.session.execute(text("SET LOCAL session_replication_role = replica"))
            created, updated = db.session.execute(book, {"program_id": program.id, "lo": lo, "hi": hi}).one()
            if set_based:
                db.session.execute(text("SET LOCAL session_replication_role = origin"))
            result.created += int(created)
            result.updated += int(updated)
            if progress is not None:
                progress(hi - first + 1, total)
    result.removed = db.session.execute(_UNBOOK_EXCLUDED, {"program_id": program.id}).rowcount or 0  # type: ignore[attr-defined]
    # The dashboards' per-district totals follow the booking, in its transaction.
    refresh_reduction_totals(program.id)
    return result


def reduction_amount(fund_vnd: int, normal_rate_bp: int, reduced_rate_bp: int) -> int:
    """The same rule as the SQL, for one month: fund × Δbp / 10,000 rounded half up to whole VND."""
    if fund_vnd < 0:
        raise ValueError("the UI salary fund cannot be negative")
    return (fund_vnd * (normal_rate_bp - reduced_rate_bp) + 5000) // 10000


def unit_reductions(program: Program, employer_id: int) -> list[Reduction]:
    """One unit's reductions in ``program``, month by month."""
    return list(
        db.session.scalars(
            select(Reduction)
            .where(Reduction.program_id == program.id, Reduction.employer_id == employer_id)
            .order_by(Reduction.month)
        )
    )
