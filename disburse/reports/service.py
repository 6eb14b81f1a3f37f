"""Completion figures, read from the rollups (``claim_counters``), never from claims."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from disburse.claims.states import NOT_IN_ELIGIBLE_GROUP, ClaimState
from disburse.extensions import db
from disburse.reports.models import ClaimCounter


def _by_state(*where: Any) -> dict[str, tuple[int, int]]:
    """(claims, amount) per state over the rollup rows matching ``where``."""
    rows = db.session.execute(
        select(ClaimCounter.state, func.sum(ClaimCounter.claims), func.sum(ClaimCounter.amount_vnd))
        .where(*where)
        .group_by(ClaimCounter.state)
    ).all()
    return {state: (int(n or 0), int(amount or 0)) for state, n, amount in rows}


def _figures(by_state: dict[str, tuple[int, int]]) -> dict[str, int | float | None]:
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


def program_progress(program_id: int) -> dict[str, int | float | None]:
    """Completion of a program from the rollup table, never from claims.

    The table has a row per district × employer × state: at national size (400,000 units) that is still up to a
    few million rows to sum, so national dashboards will want a coarser rollup level or a cached figure."""
    return _figures(_by_state(ClaimCounter.program_id == program_id))


def employer_progress(program_id: int, employer_id: int) -> dict[str, Any]:
    """One unit's completion (its Form 01 list and the people added on Form 03), from the rollups: ``listed``,
    ``eligible``, ``paid``, ``paid_amount_vnd``, ``percent_paid`` (None while nobody is eligible) and ``by_state``
    (claims per state, every state named, 0 where there are none)."""
    by_state = _by_state(ClaimCounter.program_id == program_id, ClaimCounter.employer_id == employer_id)
    figures = _figures(by_state)
    return {
        "listed": figures["claims"],
        "eligible": figures["eligible"],
        "paid": figures["paid"],
        "paid_amount_vnd": figures["paid_amount_vnd"],
        "percent_paid": figures["percent_paid"],
        "by_state": {state.value: by_state.get(state.value, (0, 0))[0] for state in ClaimState},
    }


def district_count(program_id: int, district_code: str, state: str) -> int:
    """Claims of a district in one state (a caseworker's queue), from the rollups."""
    return _by_state(
        ClaimCounter.program_id == program_id,
        ClaimCounter.district_code == district_code,
        ClaimCounter.state == state,
    ).get(state, (0, 0))[0]
