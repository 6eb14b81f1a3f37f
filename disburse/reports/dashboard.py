"""The figures the supervisors' dashboards show, for the country, a province or a district (:class:`Area`).

Completion figures and payment failures come from the rollups only (``province_counters`` for the country,
``district_counters`` for a province or a district, ``claim_counters`` for a district's employers, each row with
its claims paid in cash at the office among them, so that "in payment" splits into the bank's and the offices';
``failure_counters`` per district and provider code, kept by triggers on ``payments``; ``decision_counters`` per
day, district and caseworker, kept by a trigger on ``claim_events``), a few thousand rows at most
whatever the size of the programme. What changes with the day rather than with a write (the open cases' ages,
the SLA breaches, the review queue by reason and by age) comes from ``backlog_counters``, counted for every
district, province and the country by a beat sweep every few minutes (:mod:`disburse.reports.backlog`): the
area's own rows, with the moment they were counted. The units overdue with Form 02 are counted from their people past
the deadline whom a late Form 02 still confirms, through the partial index ``ix_claims_unconfirmed`` that holds only
the unconfirmed (:func:`overdue_units`): the ``employer_overdue`` rollups would say 0, verification taking such claims
on at once.

Every function returns plain dicts of integers (amounts in VND, percentages also as basis points); the caller
checks the user's scope first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from flask import g, has_request_context
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from disburse.claims.employer_forms import LATE_FORM_02_REASONS
from disburse.claims.states import NOT_IN_ELIGIBLE_GROUP, ClaimState
from disburse.extensions import db
from disburse.payments import reasons
from disburse.programs.calendar import VIETNAM_TZ, programme_today
from disburse.programs.models import Program
from disburse.reports import backlog as backlog_figures
from disburse.reports.backlog import AGE_BUCKETS, OPEN_CASE_STATES
from disburse.reports.models import CompletionTarget
from disburse.reports.service import Area, district_filter
from disburse.verification import reasons as claim_reasons

S = ClaimState

#: Children may be sorted by these keys.
SORTS = ("code", "completion", "eligible", "needs_review", "target_gap")
#: The eligible claims not yet decided: waiting for the unit's Form 02, or being checked.
CHECKING_STATES = (S.LISTED, S.EMPLOYER_CONFIRMED, S.EMPLOYER_OVERDUE, S.APPLIED, S.VERIFYING)
#: Where the eligible not yet paid are, as :func:`figures_of` names them: every eligible state but ``paid`` in one of
#: them, so that they add up to ``unpaid``; in payment as its two parts, at a bank and on an office's cash list.
UNPAID_GROUPS = (
    "checking",
    "needs_review",
    "approved",
    "payment_pending_bank",
    "payment_pending_cash",
    "payment_failed",
    "awaiting_details",
)
_UNPAID_STATES = {*CHECKING_STATES, S.NEEDS_REVIEW, S.APPROVED, S.PAYMENT_PENDING, S.PAYMENT_FAILED}
assert _UNPAID_STATES | {S.AWAITING_PAYMENT_DETAILS} == set(ClaimState) - NOT_IN_ELIGIBLE_GROUP - {S.PAID}
#: The caseworkers' decisions that count as throughput.
DECISIONS = ("approve", "reject")


#: A rollup row's figures: its claims and their VND, and of them those paid in cash at the office (``cash_claims``,
#: ``cash_amount_vnd``; migration 0035).
Counts = tuple[int, int, int, int]
_NONE: Counts = (0, 0, 0, 0)


def _add(a: Counts, b: Counts) -> Counts:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


def _percent_bp(part: int, whole: int) -> int | None:
    return part * 10_000 // whole if whole else None


def figures_of(by_state: Mapping[str, Counts]) -> dict[str, Any]:
    """The dashboard's figures from :data:`Counts` per state: ``claims`` (every claim listed or applied),
    ``eligible`` (all but rejected, declined, removed), ``paid``, ``paid_amount_vnd``, ``percent_paid`` (float) and
    ``percent_paid_bp`` (basis points, rounded down; None while nobody is eligible), ``needs_review``,
    ``rejected``, ``declined``, ``removed`` (not at the unit: the employer took them off its list), ``awaiting_details``
    (awaiting payment details), ``by_state`` (claims per state,
    every state named); and where the eligible not yet paid are (:data:`UNPAID_GROUPS`, they add up to ``unpaid``):
    ``unpaid``, ``checking`` (listed, confirmed, overdue, applied, being checked), ``approved`` (approved, not yet
    sent), ``payment_pending_bank`` (sent to a bank, not settled) and ``payment_pending_cash`` (on an office's cash
    list, not yet collected), each with its ``…_amount_vnd``, ``payment_failed``. ``payment_pending`` and
    ``payment_pending_amount_vnd`` are the two parts together. A claim's payout cannot change while it is in
    payment and a batch takes only the claims of its channel, so the rollups' cash claims in ``payment_pending`` are
    those on the cash lists."""
    claims = sum(counts[0] for counts in by_state.values())
    eligible = sum(counts[0] for state, counts in by_state.items() if state not in NOT_IN_ELIGIBLE_GROUP)
    paid, paid_amount, _, _ = by_state.get(S.PAID.value, _NONE)
    pending, pending_amount, in_cash, in_cash_amount = by_state.get(S.PAYMENT_PENDING.value, _NONE)

    def n(state: ClaimState) -> int:
        return by_state.get(state.value, _NONE)[0]

    return {
        "claims": claims,
        "eligible": eligible,
        "paid": paid,
        "paid_amount_vnd": paid_amount,
        "percent_paid": (100.0 * paid / eligible) if eligible else None,
        "percent_paid_bp": _percent_bp(paid, eligible),
        "needs_review": n(S.NEEDS_REVIEW),
        "rejected": n(S.REJECTED),
        "declined": n(S.DECLINED),
        "removed": n(S.REMOVED),
        "awaiting_details": n(S.AWAITING_PAYMENT_DETAILS),
        "unpaid": eligible - paid,
        "checking": sum(n(state) for state in CHECKING_STATES),
        "approved": n(S.APPROVED),
        "payment_pending": pending,
        "payment_pending_amount_vnd": pending_amount,
        "payment_pending_bank": pending - in_cash,
        "payment_pending_bank_amount_vnd": pending_amount - in_cash_amount,
        "payment_pending_cash": in_cash,
        "payment_pending_cash_amount_vnd": in_cash_amount,
        "payment_failed": n(S.PAYMENT_FAILED),
        "by_state": {state.value: n(state) for state in ClaimState},
    }


def area_counts(program_id: int, area: Area) -> list[tuple[str | None, str, Counts]]:
    """(child area's code, state, :data:`Counts`) of ``area`` from the coarsest rollup level that answers it, with
    the cash columns: the country from the province level (its children are the provinces), a province or a district
    from the district level (a district has no child areas: code None). The API's progress reads them too
    (:func:`disburse.reports.service.area_progress`).

    Read once per request: a page's summary, its table and its chart are then the same moment's figures (and the
    country's rows are not read three times); in payment at a bank and in cash are read in the same statement as
    their total, so the two parts always add up to it."""
    if not has_request_context():
        return _read_area_counts(program_id, area)
    remembered: dict[tuple[int, Area], list[tuple[str | None, str, Counts]]] = g.setdefault("dashboard_area_counts", {})
    key = (program_id, area)
    if key not in remembered:
        remembered[key] = _read_area_counts(program_id, area)
    return remembered[key]


def _read_area_counts(program_id: int, area: Area) -> list[tuple[str | None, str, Counts]]:
    if area.level == "country":
        statement = text(
            """SELECT province_code, state, claims, amount_vnd, cash_claims, cash_amount_vnd FROM province_counters
               WHERE program_id = :program_id AND claims <> 0"""
        )
    elif area.level == "province":
        statement = text(
            """SELECT c.district_code, c.state, c.claims, c.amount_vnd, c.cash_claims, c.cash_amount_vnd
               FROM district_counters c
               WHERE c.program_id = :program_id AND c.claims <> 0
                 AND c.district_code IN (SELECT code FROM districts WHERE province_code = :province)"""
        )
    else:
        statement = text(
            """SELECT NULL, state, claims, amount_vnd, cash_claims, cash_amount_vnd FROM district_counters
               WHERE program_id = :program_id AND district_code = :district AND claims <> 0"""
        )
    params = {"program_id": program_id, "province": area.province_code, "district": area.district_code}
    return [
        (code, state, (int(n), int(amount), int(cash), int(cash_amount)))
        for code, state, n, amount, cash, cash_amount in db.session.execute(statement, params)
    ]


def figures(program_id: int, area: Area) -> dict[str, Any]:
    """The area's figures (:func:`figures_of`), from the province level (country) or the district level."""
    whole: dict[str, Counts] = {}
    for _, state, counts in area_counts(program_id, area):
        whole[state] = _add(whole.get(state, _NONE), counts)
    return figures_of(whole)


def children(
    program_id: int, area: Area, *, sort: str = "code", limit: int | None = None, on: date | None = None
) -> list[dict[str, Any]]:
    """The area's parts with their figures: the provinces of the country, the districts of a province, the
    employers of a district (``code`` = unit code, ``employer_id``; applicants without a unit in one row whose
    code and id are None). Each row has ``level``, ``code``, ``name`` and :func:`figures_of`'s figures; districts
    also ``target_bp``, ``target_date`` (the target in force on ``on``, :func:`target_in_force`) and ``gap_bp``
    (target minus completion, positive when behind; None without a target); provinces and districts ``paid_since``
    (paid now minus paid at the last count of a day before ``on``; None without one).

    ``sort``: ``code``; ``completion`` (lowest first, nobody eligible last); ``eligible`` or ``needs_review``
    (most first); ``target_gap`` (furthest behind target first, those without a target last). ``limit``: the
    first n after sorting (e.g. the 20 units with the lowest completion)."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    parts: dict[Any, dict[str, Counts]] = {}
    names: dict[Any, tuple[str | None, str | None, int | None]] = {}
    if area.level == "district":
        level = "employer"
        rows = db.session.execute(
            text(
                """SELECT c.employer_id, e.unit_code, e.name, c.state, c.claims, c.amount_vnd, c.cash_claims,
                          c.cash_amount_vnd
                   FROM claim_counters c LEFT JOIN employers e ON e.id = c.employer_id
                   WHERE c.program_id = :program_id AND c.district_code = :district AND c.claims <> 0"""
            ),
            {"program_id": program_id, "district": area.district_code},
        ).all()
        for employer_id, unit_code, name, state, n, amount, cash, cash_amount in rows:
            parts.setdefault(employer_id, {})[state] = (int(n), int(amount), int(cash), int(cash_amount))
            names[employer_id] = (unit_code, name, employer_id)
    else:
        level = "province" if area.level == "country" else "district"
        table = "provinces" if level == "province" else "districts"
        for code, state, counts in area_counts(program_id, area):
            parts.setdefault(code, {})[state] = counts
        codes = sorted(code for code in parts if code is not None)
        for code, name in db.session.execute(
            text(f"SELECT code, name FROM {table} WHERE code = ANY(:codes)"),  # table is ours
            {"codes": codes},
        ):
            names[code] = (code, name, None)
    targets = _targets_in_force(program_id, area, on or programme_today()) if level == "district" else {}
    earlier = (
        paid_at_last_count_before(program_id, level, list(names), on or programme_today())
        if level != "employer" and names
        else {}
    )
    result = []
    for key, by_state in parts.items():
        code, name, employer_id = names.get(key, (key, None, None))
        row: dict[str, Any] = {"level": level, "code": code, "name": name, **figures_of(by_state)}
        if level == "employer":
            row["employer_id"] = employer_id
        else:
            row["paid_since"] = row["paid"] - earlier[code] if code in earlier else None
        result.append(row)
    if level == "district":
        completion = {row["code"]: row["percent_paid_bp"] for row in result}
        judged = _judged(program_id, targets, completion, on or programme_today())
        for row in result:
            target = judged.get(row["code"])
            row["target"] = target
            row["target_bp"] = target["target_bp"] if target else None
            row["target_date"] = target["target_date"] if target else None
            row["gap_bp"] = target["gap_bp"] if target else None
    result.sort(key=_sort_key(sort))
    return result[:limit] if limit is not None else result


def last_count_before(program_id: int, level: str, today: date) -> date | None:
    """The last day before ``today`` on which the areas of ``level`` (``province``, ``district``) were counted (the
    daily snapshots): the day the table's ``paid_since`` counts from, and :func:`since_last_day`'s for the area
    above (every level is counted at once). None before the first count."""
    return db.session.scalar(
        text(
            """SELECT max(day) FROM completion_snapshots
               WHERE program_id = :program_id AND level = :level AND day < :today"""
        ),
        {"program_id": program_id, "level": level, "today": today},
    )


def paid_at_last_count_before(program_id: int, level: str, codes: list[Any], today: date) -> dict[str, int]:
    """The paid of each area of ``codes`` (provinces or districts) at :func:`last_count_before` ``today``, so that a
    child's ``paid_since`` adds up with its siblings' to the parent's. Areas not counted that day are missing."""
    day = last_count_before(program_id, level, today)
    if day is None:
        return {}
    rows = db.session.execute(
        text(
            """SELECT area_code, paid FROM completion_snapshots
               WHERE program_id = :program_id AND level = :level AND day = :day AND area_code = ANY(:codes)"""
        ),
        {"program_id": program_id, "level": level, "day": day, "codes": [c for c in codes if c is not None]},
    ).all()
    return {code: paid for code, paid in rows}


def _sort_key(sort: str) -> Any:
    if sort == "completion":
        return lambda r: (r["percent_paid_bp"] is None, r["percent_paid_bp"] or 0, r["code"] or "")
    if sort in ("eligible", "needs_review"):
        return lambda r: (-r[sort], r["code"] or "")
    if sort == "target_gap":
        return lambda r: (r.get("gap_bp") is None, -(r.get("gap_bp") or 0), r["code"] or "")
    return lambda r: (r["code"] is None, r["code"] or "")


# --------------------------------------------------------------------------------------------------- targets


class InvalidTarget(ValueError):
    """A target outside 0–100 % (0–10 000 basis points)."""


def set_target(
    program_id: int, district_code: str, target_date: date, percent_bp: int, *, user_id: int | None
) -> CompletionTarget:
    """Set (or change) the completion target of a district for a date, in basis points (8000 = 80 %); the same
    district and date again replaces the target, with who set it and when. Raises :class:`InvalidTarget` outside
    0–10 000. The caller checks the user may (a supervisor of the district's province, or national) and commits."""
    if isinstance(percent_bp, bool) or not isinstance(percent_bp, int) or not 0 <= percent_bp <= 10_000:
        raise InvalidTarget("a target is between 0 and 10000 basis points (0–100 %)")
    statement = (
        insert(CompletionTarget)
        .values(
            program_id=program_id,
            district_code=district_code,
            target_date=target_date,
            percent_bp=percent_bp,
            set_by_id=user_id,
        )
        .on_conflict_do_update(
            index_elements=["program_id", "district_code", "target_date"],
            set_={"percent_bp": percent_bp, "set_by_id": user_id, "set_at": db.func.now()},
        )
        .returning(CompletionTarget.id)
    )
    target_id = db.session.execute(statement).scalar_one()
    target = db.session.get(CompletionTarget, target_id, populate_existing=True)
    assert target is not None
    return target


def target_history(program_id: int, area: Area, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The targets set for the area's districts, the most recently set first, at most ``limit`` (a national
    supervisor's history grows with every district and date): ``district_code``, ``district_name``,
    ``target_date``, ``percent_bp``, ``set_at``, ``set_by`` (the user's name; None once they are gone); and how many
    there are in all."""
    where, params = district_filter(area, "t.district_code")
    rows = (
        db.session.execute(
            text(
                f"""SELECT t.district_code, d.name AS district_name, t.target_date, t.percent_bp, t.set_at,
                       u.full_name AS set_by, count(*) OVER () AS total
                FROM completion_targets t JOIN districts d ON d.code = t.district_code
                LEFT JOIN users u ON u.id = t.set_by_id
                WHERE t.program_id = :program_id AND {where}
                ORDER BY t.set_at DESC, t.id DESC LIMIT :limit"""  # our own filter; values are bound
            ),
            {"program_id": program_id, "limit": limit, **params},
        )
        .mappings()
        .all()
    )
    total = int(rows[0]["total"]) if rows else 0
    return [{key: value for key, value in row.items() if key != "total"} for row in rows], total


def targets_in_force(program_id: int, area: Area, on: date | None = None) -> list[dict[str, Any]]:
    """Each of the area's districts that has a target, with the target in force on ``on`` (the programme's today
    by default; :func:`target_in_force`) and its completion, by district code: ``district_code``, ``name``,
    ``target_bp``, ``target_date``, :func:`figures_of`'s figures and ``gap_bp``. Three statements however many
    districts (the targets, their district-level rollup rows at once, their names), not one per district."""
    on = on or programme_today()
    targets = _targets_in_force(program_id, area, on)
    codes = sorted(targets)
    by_district: dict[str, dict[str, Counts]] = {code: {} for code in codes}
    for code, state, n, amount, cash, cash_amount in db.session.execute(
        text(
            """SELECT district_code, state, claims, amount_vnd, cash_claims, cash_amount_vnd FROM district_counters
               WHERE program_id = :program_id AND district_code = ANY(:codes) AND claims <> 0"""
        ),
        {"program_id": program_id, "codes": codes},
    ):
        by_district[code][state] = (int(n), int(amount), int(cash), int(cash_amount))
    names: dict[str, str] = dict(
        db.session.execute(text("SELECT code, name FROM districts WHERE code = ANY(:codes)"), {"codes": codes}).all()
    )
    rows = []
    for code in codes:
        rows.append({"district_code": code, "name": names.get(code, code), **figures_of(by_district[code])})
    judged = _judged(program_id, targets, {row["district_code"]: row["percent_paid_bp"] for row in rows}, on)
    for row in rows:
        row.update(judged[row["district_code"]])
    return rows


def gap_bp(target_bp: int, percent_paid_bp: int | None) -> int:
    """How far completion is behind the target, in basis points (positive when behind, nobody eligible counting as
    0 %). Completion's basis points are rounded down, so a target missed by any fraction is behind by 1 at least."""
    return target_bp - (percent_paid_bp or 0)


def _targets_in_force(program_id: int, area: Area, on: date) -> dict[str, tuple[int, date]]:
    """Per district of the area, (percent_bp, target_date) of the target in force on ``on``: the first one dated on
    or after it, else the last one before it."""
    where, params = district_filter(area, "t.district_code")
    rows = db.session.execute(
        text(
            f"""SELECT DISTINCT ON (t.district_code) t.district_code, t.percent_bp, t.target_date
                FROM completion_targets t WHERE t.program_id = :program_id AND {where}
                ORDER BY t.district_code, t.target_date < :on, abs(t.target_date - :on)"""
        ),
        {"program_id": program_id, "on": on, **params},
    ).all()
    return {code: (int(bp), day) for code, bp, day in rows}


def _judged(
    program_id: int, targets: Mapping[str, tuple[int, date]], completion: Mapping[str, int | None], on: date
) -> dict[str, dict[str, Any]]:
    """Each district's target (``targets``: (percent_bp, target_date) by district) judged as of ``on``, the
    programme's day; ``completion``: each district's completion now, in basis points.

    A target still ahead (its date ``on`` or later) is judged by today's completion. A target whose date has passed
    is judged by the completion *on its date*: the district's daily snapshot of that day, or the last one before it
    (``completion_snapshots``, one statement for every such district); judged by today's figure it would turn
    "met" after the fact. Without any snapshot on or before its date it cannot be judged (``met`` and ``gap_bp``
    None).

    Each: ``target_bp``, ``target_date``, ``passed`` (its date is before ``on``), ``percent_paid_bp`` (today's
    completion), ``snapshot_day`` and ``snapshot_bp`` (the snapshot judged and its completion; None for a target
    ahead or without a snapshot), ``gap_bp`` (the target minus the completion judged, positive when behind) and
    ``met``."""
    passed = {code: day for code, (_, day) in targets.items() if day < on}
    snapshots: dict[str, tuple[date, int, int]] = {}
    if passed:
        codes = sorted(passed)
        for code, day, eligible, paid in db.session.execute(
            text(
                """SELECT t.code, s.day, s.eligible, s.paid
                   FROM unnest(CAST(:codes AS text[]), CAST(:days AS date[])) AS t(code, target_date)
                   CROSS JOIN LATERAL (
                       SELECT day, eligible, paid FROM completion_snapshots
                       WHERE program_id = :program_id AND level = 'district' AND area_code = t.code
                         AND day <= t.target_date
                       ORDER BY day DESC LIMIT 1) s"""
            ),
            {"program_id": program_id, "codes": codes, "days": [passed[code] for code in codes]},
        ):
            snapshots[code] = (day, int(eligible), int(paid))
    judged = {}
    for code, (target_bp, target_date) in targets.items():
        now_bp = completion.get(code)
        row: dict[str, Any] = {
            "target_bp": target_bp,
            "target_date": target_date,
            "passed": code in passed,
            "percent_paid_bp": now_bp,
            "snapshot_day": None,
            "snapshot_bp": None,
        }
        # Nobody eligible (today, or on the snapshot's day): no completion to meet or miss; such a target is judged
        # neither way, and sorts after the districts behind theirs (it said "còn thiếu 80%", then "không đạt").
        row["nobody_eligible"] = False
        if code not in passed:
            row["nobody_eligible"] = now_bp is None
            row["gap_bp"] = None if now_bp is None else gap_bp(target_bp, now_bp)
        elif code in snapshots:
            day, eligible, paid = snapshots[code]
            row["snapshot_day"], row["snapshot_bp"] = day, _percent_bp(paid, eligible)
            row["nobody_eligible"] = not eligible
            row["gap_bp"] = gap_bp(target_bp, row["snapshot_bp"]) if eligible else None
        else:
            row["gap_bp"] = None
        row["met"] = None if row["gap_bp"] is None else row["gap_bp"] <= 0
        judged[code] = row
    return judged


def target_in_force(program_id: int, district_code: str, on: date | None = None) -> dict[str, Any] | None:
    """The district's target in force on ``on`` (the programme's today by default), judged (:func:`_judged`: by
    today's completion while its date is ahead, by the completion on its date once it has passed): ``target_bp``,
    ``target_date``, ``passed``, ``percent_paid_bp`` (today's), ``snapshot_day``, ``snapshot_bp``, ``gap_bp``
    (positive when behind; None when a passed target has no snapshot to judge it by) and ``met``; None without a
    target. The dashboard shows it as "74,3% / 80%"."""
    area = Area(district_code=district_code)
    on = on or programme_today()
    target = _targets_in_force(program_id, area, on).get(district_code)
    if target is None:
        return None
    completion = figures(program_id, area)["percent_paid_bp"]
    return _judged(program_id, {district_code: target}, {district_code: completion}, on)[district_code]


# ------------------------------------------------------------------------------------------------- over time


def completion_over_time(program_id: int, area: Area, days: int, today: date | None = None) -> list[dict[str, Any]]:
    """The area's daily snapshots (:func:`disburse.reports.rollups.take_snapshots`) of the last ``days`` days up to
    ``today`` (the programme's), oldest first: ``day``, ``eligible``, ``paid``, ``percent_paid_bp``,
    ``paid_amount_vnd``, ``needs_review``, ``rejected``, ``declined``, ``awaiting_details``. Days without a snapshot
    are missing (the chart leaves a gap)."""
    end = today or programme_today()
    level = area.level
    code = area.district_code or area.province_code or ""
    rows = db.session.execute(
        text(
            """SELECT day, eligible, paid, paid_amount_vnd, needs_review, rejected, declined, awaiting_details
               FROM completion_snapshots
               WHERE program_id = :program_id AND level = :level AND area_code = :code AND day > :start AND day <= :end
               ORDER BY day"""
        ),
        {"program_id": program_id, "level": level, "code": code, "start": end - timedelta(days=days), "end": end},
    ).all()
    return [{**row._asdict(), "percent_paid_bp": _percent_bp(row.paid, row.eligible)} for row in rows]


def since_last_day(
    program_id: int, area: Area, now: Mapping[str, Any], today: date | None = None
) -> dict[str, Any] | None:
    """What changed in the area since its last count of a day before ``today`` (the programme's): the latest snapshot
    of an earlier day (:func:`disburse.reports.rollups.take_snapshots`: the day's last hourly count, so the day's end
    when beat ran all day), against the figures ``now`` (:func:`figures`). ``day`` and ``taken_at`` say which count;
    ``paid`` and ``paid_amount_vnd`` are the differences, negative when payments came back. None when the area has no
    snapshot before today (the programme's first day, or beat not running)."""
    row = db.session.execute(
        text(
            """SELECT day, taken_at, paid, paid_amount_vnd FROM completion_snapshots
               WHERE program_id = :program_id AND level = :level AND area_code = :code AND day < :today
               ORDER BY day DESC LIMIT 1"""
        ),
        {
            "program_id": program_id,
            "level": area.level,
            "code": area.district_code or area.province_code or "",
            "today": today or programme_today(),
        },
    ).first()
    if row is None:
        return None
    return {
        "day": row.day,
        "taken_at": row.taken_at,
        "paid": now["paid"] - row.paid,
        "paid_amount_vnd": now["paid_amount_vnd"] - row.paid_amount_vnd,
    }


# -------------------------------------------------------------------------------------------------- ageing


def _as_of(found: backlog_figures.Stored) -> dict[str, Any]:
    return {"computed_at": found.computed_at, "as_of": found.as_of}


def _ages(found: backlog_figures.Stored) -> dict[str, list[int]]:
    by_state = {state.value: [0] * len(AGE_BUCKETS) for state in OPEN_CASE_STATES}
    index = {label: i for i, (label, _, _) in enumerate(AGE_BUCKETS)}
    for (kind, state, key), (n, _) in found.counts.items():
        if kind == "ageing" and state in by_state and key in index:
            by_state[state][index[key]] += n
    return by_state


def ageing(program_id: int, area: Area) -> dict[str, Any]:
    """The area's open cases (:data:`OPEN_CASE_STATES`) by age in working days since they were received (Form 04,
    else Form 02, else listed; as the review queue counts it) in :data:`AGE_BUCKETS`, as the last backlog sweep
    counted them (:mod:`disburse.reports.backlog`): ``buckets`` (label, claims), ``by_state`` (state → claims per
    bucket, in the buckets' order), ``computed_at`` and ``as_of`` (the sweep's moment and programme day; both None
    before the program's first sweep, the counts then zero)."""
    found = backlog_figures.stored(program_id, area)
    by_state = _ages(found)
    totals = [sum(counts[i] for counts in by_state.values()) for i in range(len(AGE_BUCKETS))]
    return {
        "buckets": [{"label": label, "claims": totals[i]} for i, (label, _, _) in enumerate(AGE_BUCKETS)],
        "by_state": by_state,
        **_as_of(found),
    }


# ---------------------------------------------------------------------------------------------- failures


def failures_by_reason(program_id: int, area: Area) -> list[dict[str, Any]]:
    """The area's failed and returned payment attempts by the provider's code, most first, from ``failure_counters``
    (kept by triggers on ``payments``): ``code`` (None when the provider gave none), ``label`` ((Vietnamese,
    English) plain words), ``payments`` (attempts), ``amount_vnd``."""
    where, params = district_filter(area, "f.district_code")
    rows = db.session.execute(
        text(
            f"""SELECT f.failure_code, sum(f.payments), sum(f.amount_vnd) FROM failure_counters f
                WHERE f.program_id = :program_id AND {where}
                GROUP BY 1 HAVING sum(f.payments) <> 0 ORDER BY 2 DESC, 1"""  # our own filter; values are bound
        ),
        {"program_id": program_id, **params},
    ).all()
    return [
        {"code": code or None, "label": reasons.label(code or None), "payments": int(n), "amount_vnd": int(amount)}
        for code, n, amount in rows
    ]


# -------------------------------------------------------------------------------------------- throughput


def throughput(program_id: int, area: Area, days: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Decisions (approve, reject) per caseworker per day on the area's claims over the last ``days`` days of the
    wall clock in Vietnam, up to ``now``'s day (events carry real timestamps, not the programme clock), by day then
    caseworker, from ``decision_counters``: ``day``, ``user_id``, ``full_name``, ``decisions``, ``approved``,
    ``rejected``."""
    now = now or datetime.now(VIETNAM_TZ)
    last_day = now.astimezone(VIETNAM_TZ).date()
    where, params = district_filter(area, "d.district_code")
    rows = db.session.execute(
        text(
            f"""SELECT d.day, d.actor_id, u.full_name, sum(d.approved + d.rejected), sum(d.approved), sum(d.rejected)
                FROM decision_counters d JOIN users u ON u.id = d.actor_id
                WHERE d.program_id = :program_id AND d.day BETWEEN :first_day AND :last_day AND {where}
                GROUP BY 1, 2, 3 ORDER BY 1, 2"""  # our own filter; values are bound
        ),
        {"program_id": program_id, "first_day": last_day - timedelta(days=days - 1), "last_day": last_day, **params},
    ).all()
    return [
        {
            "day": day,
            "user_id": user_id,
            "full_name": name,
            "decisions": int(n),
            "approved": int(approved),
            "rejected": int(rejected),
        }
        for day, user_id, name, n, approved, rejected in rows
    ]


# ----------------------------------------------------------------------------------------------- backlog


def unconfirmed_sql(takes_late: bool) -> str:
    """The people of a unit's list past their Form 02 deadline whom the unit's Form 02 still confirms, as the unit's
    own pages count them ("184 người đang chờ đơn vị xác nhận", :func:`disburse.claims.unit.unit_deadlines`):
    waiting in ``employer_overdue``, or, while a late Form 02 is taken (``takes_late``, until the adjustment
    deadline), in review only because the unit was late (``not_confirmed_by_employer`` and at most the bank-detail
    findings a missing Form 02 causes: :data:`disburse.claims.employer_forms.LATE_FORM_02_REASONS`; verification
    takes an overdue claim on at once, so ``employer_overdue`` alone would say 0 units while hundreds wait). Not
    those in review for another reason too, nor those being verified: a Form 02 row does not confirm them
    (docs/rules.md, "A late Form 02 is taken"), the office decides them. In literals, within ``ix_claims_unconfirmed``'s
    predicate, so that the planner can use that index (tests/dashboard/test_charts_backlog_pages.py checks that it
    does). ``listed`` people past the deadline are left to the overdue sweep, which makes them ``employer_overdue``
    within its quarter of an hour (that index does not hold them)."""
    overdue = f"c.state = '{S.EMPLOYER_OVERDUE.value}'"
    if takes_late:
        only_late = ", ".join(f"'{reason}'" for reason in sorted(LATE_FORM_02_REASONS))
        overdue = (
            f"c.state IN ('{S.EMPLOYER_OVERDUE.value}', '{S.NEEDS_REVIEW.value}') AND ({overdue} OR "
            f"(c.reasons @> ARRAY['{claim_reasons.NOT_CONFIRMED_BY_EMPLOYER}']::varchar(40)[]"
            f" AND c.reasons <@ ARRAY[{only_late}]::varchar(40)[]))"
        )
    return f"c.track = 'A' AND c.confirmed_on IS NULL AND {overdue} AND c.review_due_on < :today"


def overdue_units(program_id: int, area: Area, today: date, limit: int | None = 20) -> tuple[list[dict[str, Any]], int]:
    """The units of ``area`` whose Form 02 deadline passed while people of their list still wait for their
    confirmation (:func:`unconfirmed_sql`), those with the most such people first, at most ``limit`` (None: all of
    them, the backlog page's download): ``employer_id``, ``unit_code``, ``name``, ``district_code``,
    ``district_name``, ``claims`` (those people); and how many units in all. Counted from the claims through
    ``ix_claims_unconfirmed``: the backlog itself, however large the registry."""
    where, params = district_filter(area)
    params |= {"program_id": program_id, "today": today}
    program = db.session.get(Program, program_id)
    unconfirmed = unconfirmed_sql(program is not None and program.takes_adjustments(today))
    chosen = f"FROM claims c WHERE c.program_id = :program_id AND {unconfirmed} AND {where}"  # ours; values bound
    total = db.session.scalar(text(f"SELECT count(DISTINCT c.employer_id) {chosen}"), params)
    rows = (
        db.session.execute(
            text(
                f"""WITH units AS (
                        SELECT c.employer_id, min(c.district_code) AS district_code, count(*) AS claims {chosen}
                        GROUP BY c.employer_id ORDER BY count(*) DESC LIMIT :limit)
                    SELECT u.employer_id, e.unit_code, e.name, u.district_code, d.name AS district_name, u.claims
                    FROM units u JOIN employers e ON e.id = u.employer_id JOIN districts d ON d.code = u.district_code
                    ORDER BY u.claims DESC, e.unit_code"""
            ),
            {**params, "limit": limit},  # LIMIT NULL: every unit
        ).all()
        if limit is None or limit > 0
        else []
    )
    units = [
        {
            "employer_id": row.employer_id,
            "unit_code": row.unit_code,
            "name": row.name,
            "district_code": row.district_code,
            "district_name": row.district_name,
            "claims": int(row.claims),
        }
        for row in rows
    ]
    return units, int(total or 0)


#: The whole country, as an argument's default.
COUNTRY = Area()


def backlog(program_id: int, area: Area, limit: int = 20, *, reconciliations: Area | None = COUNTRY) -> dict[str, Any]:
    """Where the area is stuck:

    * ``overdue_employers``: units past their Form 02 deadline with people still unconfirmed, most first, at most
      ``limit`` (:func:`overdue_units`), and ``overdue_employers_total`` (how many units in all); counted now;
    * ``sla_breaches``: open claims whose payment was due before the sweep's day (the program's working days ran
      out): ``claims``, ``amount_vnd``, ``by_state``;
    * ``review_queue``: claims needing review by reason (``reason`` → claims, most first; a claim with two reasons
      counts under each) and by age (:data:`AGE_BUCKETS`, as :func:`ageing`);
    * ``unpaid_at_end``: after the programme's last payable day, the claims not paid by then and still open, each
      owing the person a written answer: ``claims``, ``amount_vnd``, ``by_state`` (zero before that day);
    * ``computed_at``, ``as_of``: when the last backlog sweep counted the SLA breaches and the review queue
      (:mod:`disburse.reports.backlog`; None before the first, the figures then zero);
    * ``reconciliations``: the last ``limit`` reconciliation runs, by day, then the latest run first (all providers;
      a run is the whole statement's, not ``area``'s): ``provider``, ``day``, ``matched``, ``differences``,
      ``ran_at``, ``latest`` (the latest run of its day and provider: the one that counts), and ``in_scope``: how
      many of its differences the viewer may see, whose scope the ``reconciliations`` argument is
      (:func:`run_differences`; the country: all of them); None when that is None (the caller may not see runs)."""
    overdue, overdue_total = overdue_units(program_id, area, programme_today(), limit)
    found = backlog_figures.stored(program_id, area)
    breaches = {state: count for (kind, state, _), count in found.counts.items() if kind == "sla_breach"}
    unpaid = {state: count for (kind, state, _), count in found.counts.items() if kind == "unpaid_at_end"}
    by_reason = sorted(
        ((key, n) for (kind, _, key), (n, _) in found.counts.items() if kind == "review_reason"),
        key=lambda item: (-item[1], item[0]),
    )
    queue_age = _ages(found)[S.NEEDS_REVIEW.value]
    runs = (
        db.session.execute(
            text(
                """SELECT id, provider, day, matched, differences, ran_at FROM reconciliations
                   ORDER BY day DESC, ran_at DESC, id DESC LIMIT :limit"""
            ),
            {"limit": limit},
        ).all()
        if reconciliations is not None
        else None
    )
    in_scope = (
        run_differences_counted([row.id for row in runs], reconciliations)
        if runs is not None and reconciliations is not None
        else {}
    )
    # A day's statement may be reconciled again (a corrected statement, a run repeated): the latest run of a day and
    # provider is the one that counts. Runs come latest first within a day, so it is the first listed of its pair.
    counted: set[tuple[str, date]] = set()
    latest: dict[int, bool] = {}
    for row in runs or []:
        latest[row.id] = (row.provider, row.day) not in counted
        counted.add((row.provider, row.day))
    return {
        "overdue_employers": overdue,
        "overdue_employers_total": overdue_total,
        "sla_breaches": {
            "claims": sum(n for n, _ in breaches.values()),
            "amount_vnd": sum(amount for _, amount in breaches.values()),
            "by_state": {state: n for state, (n, _) in sorted(breaches.items())},
        },
        "unpaid_at_end": {
            "claims": sum(n for n, _ in unpaid.values()),
            "amount_vnd": sum(amount for _, amount in unpaid.values()),
            "by_state": {state: n for state, (n, _) in sorted(unpaid.items())},
        },
        "review_queue": {
            "by_reason": dict(by_reason),
            "by_age": [{"label": label, "claims": queue_age[i]} for i, (label, _, _) in enumerate(AGE_BUCKETS)],
        },
        **_as_of(found),
        "reconciliations": None
        if runs is None
        else [
            {**row._asdict(), "in_scope": in_scope.get(row.id, row.differences), "latest": latest[row.id]}
            for row in runs
        ],
    }


#: The difference lines of reconciliation runs (``d.detail``, in each run's order ``d.n``).
_RUN_DETAILS = """
    SELECT r.id AS run_id, d.detail, d.n
    FROM reconciliations r CROSS JOIN LATERAL jsonb_array_elements(r.details) WITH ORDINALITY AS d(detail, n)
"""
#: Each line with the claim of the payment of ours it names (``c``: NULL for a reference that is not ours).
_CLAIMS = """
    LEFT JOIN payments p ON p.provider_reference = l.detail ->> 'reference'
    LEFT JOIN claims c ON c.id = p.claim_id
"""


def run_differences(run_id: int, scope: Area, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The difference lines of reconciliation run ``run_id`` that a viewer of ``scope`` may see, in the run's order,
    at most ``limit`` (each its ``details`` entry with ``claim_id``: our payment's claim, None if the reference is not
    ours), and how many there are in all. A run compares a provider's whole statement, every province's payments:
    the country sees every line; a province or a district only the lines of claims within it (a reference that is
    not ours is no area's)."""
    if scope.level == "country":  # the first lines, then their claims
        total = db.session.scalar(
            text("SELECT jsonb_array_length(details) FROM reconciliations WHERE id = :run"), {"run": run_id}
        )
        lines = f"({_RUN_DETAILS} WHERE r.id = :run ORDER BY d.n LIMIT :limit) l {_CLAIMS}"
        params: dict[str, Any] = {"run": run_id, "limit": limit}
    else:  # the lines of the area's claims, counted, then the first of them
        where, params = district_filter(scope)  # our own filter; values are bound
        lines = f"({_RUN_DETAILS} WHERE r.id = :run) l {_CLAIMS} WHERE c.id IS NOT NULL AND {where}"
        params = {**params, "run": run_id, "limit": limit}
        total = db.session.execute(text(f"SELECT count(*) FROM {lines}"), params).scalar_one()
    rows = db.session.execute(text(f"SELECT l.detail, c.id AS claim_id FROM {lines} ORDER BY l.n LIMIT :limit"), params)
    return [{**row.detail, "claim_id": row.claim_id} for row in rows], int(total or 0)


def run_differences_counted(run_ids: list[int], scope: Area) -> dict[int, int]:
    """How many difference lines of each of the runs a viewer of ``scope`` may see (as :func:`run_differences`), by
    run; empty for the country, who sees every line (the runs' own ``differences``, not counted again)."""
    if scope.level == "country" or not run_ids:
        return {}
    where, params = district_filter(scope)
    rows = db.session.execute(
        text(
            f"""SELECT l.run_id, count(*) FROM ({_RUN_DETAILS} WHERE r.id = ANY(:runs)) l {_CLAIMS}
                WHERE c.id IS NOT NULL AND {where} GROUP BY l.run_id"""  # our own filter; values are bound
        ),
        {**params, "runs": run_ids},
    ).all()
    return {run_id: 0 for run_id in run_ids} | {run_id: int(n) for run_id, n in rows}


__all__ = [
    "AGE_BUCKETS",
    "CHECKING_STATES",
    "DECISIONS",
    "OPEN_CASE_STATES",
    "SORTS",
    "UNPAID_GROUPS",
    "Area",
    "Counts",
    "InvalidTarget",
    "ageing",
    "area_counts",
    "backlog",
    "children",
    "completion_over_time",
    "failures_by_reason",
    "figures",
    "figures_of",
    "gap_bp",
    "run_differences",
    "run_differences_counted",
    "set_target",
    "target_history",
    "target_in_force",
    "targets_in_force",
    "throughput",
]
