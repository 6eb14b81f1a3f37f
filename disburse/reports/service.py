"""Completion figures, read from the rollups (``claim_counters``), never from claims."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text

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


@dataclass(frozen=True)
class Area:
    """The country (no codes), a province, or a district."""

    province_code: str | None = None
    district_code: str | None = None

    @property
    def level(self) -> str:
        return "district" if self.district_code else "province" if self.province_code else "country"


_AREA_CHILDREN = {
    # The country's children are its provinces, a province's its districts; a district's children are not areas.
    "country": "d.province_code",
    "province": "c.district_code",
}


def _area_filter(area: Area) -> tuple[str, dict[str, Any]]:
    if area.district_code:
        return "c.district_code = :district", {"district": area.district_code}
    if area.province_code:
        return "d.province_code = :province", {"province": area.province_code}
    return "true", {}


def area_progress(program_id: int, area: Area) -> dict[str, Any]:
    """An area's completion from the rollups (``eligible``, ``paid``, ``percent_paid``, ``paid_amount_vnd``,
    ``needs_review``), its employers' contribution reduction (``employers``, ``employees``: the most participants
    any month, summed over units; ``amount_vnd``), and the same completion figures for each child area (provinces of
    the country, districts of a province) in ``areas``, by code."""
    where, params = _area_filter(area)
    child = _AREA_CHILDREN.get(area.level, "NULL")
    rows = db.session.execute(
        text(
            f"""SELECT {child} AS child, c.state, sum(c.claims), sum(c.amount_vnd)
                FROM claim_counters c JOIN districts d ON d.code = c.district_code
                WHERE c.program_id = :program_id AND {where}
                GROUP BY 1, 2"""  # the child column and the filter are ours; values are bound
        ),
        {"program_id": program_id, **params},
    ).all()
    whole: dict[str, tuple[int, int]] = {}
    children: dict[str, dict[str, tuple[int, int]]] = {}
    for code, state, n, amount in rows:
        n, amount = int(n or 0), int(amount or 0)
        total = whole.get(state, (0, 0))
        whole[state] = (total[0] + n, total[1] + amount)
        if code is not None:
            children.setdefault(code, {})[state] = (n, amount)
    return {
        **_area_figures(whole),
        "reduction": _area_reduction(program_id, where, params),
        "areas": [{"code": code, **_area_figures(children[code])} for code in sorted(children)],
    }


def _area_figures(by_state: dict[str, tuple[int, int]]) -> dict[str, Any]:
    figures = _figures(by_state)
    return {
        "eligible": figures["eligible"],
        "paid": figures["paid"],
        "percent_paid": figures["percent_paid"],
        "paid_amount_vnd": figures["paid_amount_vnd"],
        "needs_review": by_state.get(ClaimState.NEEDS_REVIEW, (0, 0))[0],
    }


def _area_reduction(program_id: int, where: str, params: dict[str, Any]) -> dict[str, int]:
    where = where.replace("c.district_code", "e.district_code")
    row = db.session.execute(
        text(
            f"""SELECT count(*), coalesce(sum(most), 0), coalesce(sum(amount), 0) FROM (
                    SELECT r.employer_id, max(r.ui_participants) AS most, sum(r.amount_vnd) AS amount
                    FROM reductions r JOIN employers e ON e.id = r.employer_id
                    JOIN districts d ON d.code = e.district_code
                    WHERE r.program_id = :program_id AND {where}
                    GROUP BY r.employer_id) AS per_unit"""  # our own filter; values are bound
        ),
        {"program_id": program_id, **params},
    ).one()
    return {"employers": int(row[0]), "employees": int(row[1]), "amount_vnd": int(row[2])}
