"""Completion figures, read from the rollups, never from claims: ``claim_counters`` (program × district × employer ×
state) for one unit, ``district_counters`` and ``province_counters`` (migration 0012) for areas and the nation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text

from disburse.auth.scopes import Scope, can_see
from disburse.claims.states import NOT_IN_ELIGIBLE_GROUP, ClaimState
from disburse.extensions import db
from disburse.reference.models import District, Province
from disburse.reports.models import ClaimCounter, DistrictCounter, ProvinceCounter

if TYPE_CHECKING:
    from disburse.auth.models import User


def percent_of(part: int, whole: int) -> float | None:
    """``part`` as a percentage of ``whole`` with two decimals, rounded down as the dashboards' basis points are
    (99.999 % paid is not 100 %); None for nobody."""
    return part * 10_000 // whole / 100 if whole else None


def _figures(by_state: dict[str, tuple[int, int]]) -> dict[str, int | float | None]:
    listed = sum(n for n, _ in by_state.values())
    eligible = sum(n for state, (n, _) in by_state.items() if state not in NOT_IN_ELIGIBLE_GROUP)
    paid, paid_amount = by_state.get(ClaimState.PAID, (0, 0))
    return {
        "claims": listed,
        "eligible": eligible,
        "paid": paid,
        "paid_amount_vnd": paid_amount,
        "percent_paid": percent_of(paid, eligible),
    }


def program_progress(program_id: int, province_code: str | None = None) -> dict[str, int | float | None]:
    """Completion of a program from the province level of the rollups (at most 63 provinces × states); of one
    province's people with ``province_code``."""
    where = [ProvinceCounter.program_id == program_id]
    if province_code is not None:
        where.append(ProvinceCounter.province_code == province_code)
    return _figures(_level_by_state(ProvinceCounter, *where))


def _level_by_state(model: Any, *where: Any) -> dict[str, tuple[int, int]]:
    """(claims, amount) per state over the rows of one rollup level matching ``where``."""
    rows = db.session.execute(
        select(model.state, func.sum(model.claims), func.sum(model.amount_vnd)).where(*where).group_by(model.state)
    ).all()
    return {state: (int(n or 0), int(amount or 0)) for state, n, amount in rows}


def employer_progress(program_id: int, employer_id: int) -> dict[str, Any]:
    """One unit's completion (its Form 01 list and the people added on Form 03), from the rollups: ``listed``,
    ``eligible``, ``paid``, ``paid_amount_vnd``, ``percent_paid`` (None while nobody is eligible) and ``by_state``
    (claims per state, every state named, 0 where there are none)."""
    by_state = _level_by_state(
        ClaimCounter, ClaimCounter.program_id == program_id, ClaimCounter.employer_id == employer_id
    )
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
    """Claims of a district in one state (a caseworker's queue), from the district level of the rollups."""
    return _level_by_state(
        DistrictCounter,
        DistrictCounter.program_id == program_id,
        DistrictCounter.district_code == district_code,
        DistrictCounter.state == state,
    ).get(state, (0, 0))[0]


def district_cash_waiting(program_id: int, district_code: str) -> int:
    """People of a district on its office's cash list, not yet paid (in payment, in cash), from the rollups."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(DistrictCounter.cash_claims), 0)).where(
                DistrictCounter.program_id == program_id,
                DistrictCounter.district_code == district_code,
                DistrictCounter.state == ClaimState.PAYMENT_PENDING.value,
            )
        )
        or 0
    )


@dataclass(frozen=True)
class Area:
    """The country (no codes), a province, or a district."""

    province_code: str | None = None
    district_code: str | None = None

    @property
    def level(self) -> str:
        return "district" if self.district_code else "province" if self.province_code else "country"


def district_filter(area: Area, column: str = "c.district_code") -> tuple[str, dict[str, Any]]:
    """A filter on a district code column for ``area`` (index friendly: equality or IN), and its parameters."""
    if area.district_code:
        return f"{column} = :district", {"district": area.district_code}
    if area.province_code:
        return f"{column} IN (SELECT code FROM districts WHERE province_code = :province)", {
            "province": area.province_code
        }
    return "true", {}


def area_progress(program_id: int, area: Area) -> dict[str, Any]:
    """An area's completion from the rollups (``eligible``, ``paid``, ``percent_paid``, ``paid_amount_vnd``,
    ``needs_review``) and where its eligible not yet paid are (:data:`NOT_YET_PAID`, the dashboards' figures), its
    employers' contribution reduction (``employers``, ``employees``: the most participants any month, summed over
    units; ``amount_vnd``), what changed since the last count of an earlier day (``since_last_count``:
    :func:`disburse.reports.dashboard.since_last_day`, or None), and the same completion figures for each child area
    (provinces of the country, districts of a province) in ``areas``, by code, each with its ``paid_since``. Read
    from the province and district levels of the rollups as the dashboards read them
    (:func:`disburse.reports.dashboard.area_counts`, with each row's claims in cash, so that in payment splits into
    bank and cash by the same statement), never from the per-employer rows."""
    # The dashboards' module builds on this one (Area, district_filter): read when called, so that the API's figures
    # are the dashboards' own, by one rule, from the one read of the request.
    from disburse.programs.calendar import programme_today
    from disburse.reports.dashboard import (
        Counts,
        area_counts,
        figures,
        figures_of,
        paid_at_last_count_before,
        since_last_day,
    )

    children: dict[str, dict[str, Counts]] = {}
    for code, state, counts in area_counts(program_id, area):
        if code is not None:
            children.setdefault(code, {})[state] = counts
    now = figures(program_id, area)
    since = since_last_day(program_id, area, now)
    child_level = "province" if area.level == "country" else "district"
    earlier = paid_at_last_count_before(program_id, child_level, list(children), programme_today()) if children else {}
    areas = []
    for code in sorted(children):
        child = _area_figures(figures_of(children[code]))
        areas.append({"code": code, **child, "paid_since": child["paid"] - earlier[code] if code in earlier else None})
    return {
        **_area_figures(now),
        "since_last_count": since
        and {**since, "day": since["day"].isoformat(), "taken_at": since["taken_at"].isoformat()},
        "reduction": area_reduction(program_id, area),
        "areas": areas,
    }


#: Where an area's eligible not yet paid are, as the supervisors' dashboards show them
#: (:func:`disburse.reports.dashboard.figures_of`): ``unpaid`` in all (eligible but not paid), and its parts,
#: which add up to it with ``needs_review``: ``checking`` (waiting for the unit's Form 02, or being checked),
#: ``approved`` (not yet sent), ``payment_pending`` (sent to a bank or on an office's cash list, not settled; with
#: ``payment_pending_amount_vnd``) and its two parts, ``payment_pending_bank`` (sent to a bank) and
#: ``payment_pending_cash`` (on an office's cash list), each with its ``…_amount_vnd``; ``payment_failed``,
#: ``awaiting_details`` (awaiting payment details).
NOT_YET_PAID = (
    "unpaid",
    "checking",
    "approved",
    "payment_pending",
    "payment_pending_amount_vnd",
    "payment_pending_bank",
    "payment_pending_bank_amount_vnd",
    "payment_pending_cash",
    "payment_pending_cash_amount_vnd",
    "payment_failed",
    "awaiting_details",
)


def _area_figures(shown: dict[str, Any]) -> dict[str, Any]:
    """The API's figures of an area from the dashboards' (:func:`disburse.reports.dashboard.figures_of`), its
    percentage with two decimals (:func:`percent_of`)."""
    return {
        "eligible": shown["eligible"],
        "paid": shown["paid"],
        "percent_paid": percent_of(shown["paid"], shown["eligible"]),
        "paid_amount_vnd": shown["paid_amount_vnd"],
        "needs_review": shown["needs_review"],
        **{name: shown[name] for name in NOT_YET_PAID},
    }


def unpaid_at_end(program_id: int, area: Area) -> dict[str, Any]:
    """The area's claims not paid by the programme's last payable day and still open after it (each owes the person
    a written answer), as the dashboards' backlog shows them (:func:`disburse.reports.dashboard.backlog`): counted by
    the last backlog sweep (:mod:`disburse.reports.backlog`, kind ``unpaid_at_end``), zero before that day.
    ``claims``, ``amount_vnd``, ``by_state`` (the states that have such claims), ``computed_at`` and ``as_of`` (the
    sweep's moment and programme day; None before the program's first sweep, the figures then zero)."""
    from disburse.reports import backlog  # builds on this module, as the dashboards' does

    found = backlog.stored(program_id, area)
    unpaid = {state: count for (kind, state, _), count in found.counts.items() if kind == "unpaid_at_end"}
    return {
        "claims": sum(n for n, _ in unpaid.values()),
        "amount_vnd": sum(amount for _, amount in unpaid.values()),
        "by_state": {state: n for state, (n, _) in sorted(unpaid.items())},
        "computed_at": found.computed_at,
        "as_of": found.as_of,
    }


def area_reduction(program_id: int, area: Area) -> dict[str, int]:
    """The area's contribution reduction (``employers``, ``employees``, ``amount_vnd``) from ``reduction_totals``
    (one row per district; see :func:`disburse.reports.rollups.refresh_reduction_totals`), never from the
    reduction rows."""
    where, params = district_filter(area, "t.district_code")
    row = db.session.execute(
        text(
            f"""SELECT coalesce(sum(t.employers), 0), coalesce(sum(t.employees), 0), coalesce(sum(t.amount_vnd), 0)
                FROM reduction_totals t
                WHERE t.program_id = :program_id AND {where}"""  # our own filter; values are bound
        ),
        {"program_id": program_id, **params},
    ).one()
    return {"employers": int(row[0]), "employees": int(row[1]), "amount_vnd": int(row[2])}


def visible_area(user: User, province: str | None, district: str | None) -> Area | None:
    """The area asked for (or the user's own when none is), if it exists and the user may see it; else None (which
    the pages and the API answer as 404). The one scope rule of the progress API and the dashboards."""
    if district is None and province is None:
        if user.role == "caseworker":
            district = user.district_code
        elif user.role == "supervisor":
            province = user.province_code
    if district is not None:
        found = db.session.get(District, district)
        if found is None or (province is not None and found.province_code != province):
            return None
        scope = Scope(employer_ids=(), district_codes=(district,), province_codes=(found.province_code,))
        return Area(found.province_code, district) if can_see(user, scope) else None
    if province is not None:
        if db.session.get(Province, province) is None:
            return None
        if user.role == "caseworker":
            return None  # a caseworker's scope is one district, never a whole province
        return Area(province) if can_see(user, Scope((), (), (province,))) else None
    return Area() if user.role == "admin" or (user.role == "supervisor" and user.province_code is None) else None
