"""Completion figures, read from the rollups (``claim_counters``), never from claims."""

from __future__ import annotations

from sqlalchemy import func, select

from disburse.claims.states import NOT_IN_ELIGIBLE_GROUP, ClaimState
from disburse.extensions import db
from disburse.reports.models import ClaimCounter


def program_progress(program_id: int) -> dict[str, int | float | None]:
    """Completion of a program from the rollup table, never from claims.

    The table has a row per district × employer × state: at national size (400,000 units) that is still up to a
    few million rows to sum, so national dashboards will want a coarser rollup level or a cached figure."""
    rows = db.session.execute(
        select(ClaimCounter.state, func.sum(ClaimCounter.claims), func.sum(ClaimCounter.amount_vnd))
        .where(ClaimCounter.program_id == program_id)
        .group_by(ClaimCounter.state)
    ).all()
    by_state = {state: (int(n or 0), int(amount or 0)) for state, n, amount in rows}
    listed = sum(n for n, _ in by_state.values())
    eligible = sum(n for state, (n, _) in by_state.items() if state not in NOT_IN_ELIGIBLE_GROUP)
    paid, paid_amount = by_state.get(ClaimState.PAID, (0, 0))
    return {
        "claims": listed,
        "eligible": eligible,
        "paid": paid,
        "paid_amount_vnd": paid_amount,
        "percent_paid": (100.0 * paid / eligible) if eligible else None,
    }
