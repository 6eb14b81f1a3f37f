"""The dashboard's tables, read from the rollups, never from claims.

A table of child areas (the provinces of the country, the districts of a province) and of a district's units comes
from :func:`disburse.reports.dashboard.children` (the province and district levels of the rollups, a few hundred
rows at most; districts with their targets), sorted here by any column, either way. The units of a whole province
or of the country ("the 20 units with the lowest completion in Hà Nội") have no rollup level of their own: they are
one grouped query over the province's ``claim_counters`` rows, sorted and cut in SQL (ours: the rollups' service
has no such query).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import text

from disburse.claims.states import NOT_IN_ELIGIBLE_GROUP
from disburse.extensions import db
from disburse.formatting import vietnamese_key
from disburse.payments.models import PROVIDERS
from disburse.programs.calendar import VIETNAM_TZ
from disburse.programs.models import Program
from disburse.reports.dashboard import CHECKING_STATES, children
from disburse.reports.rollups import SNAPSHOT_FIGURES
from disburse.reports.service import Area

#: Sortable columns: the query parameter's value → the SQL expression over the pivoted figures.
SORT_COLUMNS = {
    "code": "code",
    "name": "name",
    "eligible": "eligible",
    "paid": "paid",
    "percent_paid": "percent_paid",
    "paid_amount_vnd": "paid_amount_vnd",
    "needs_review": "needs_review",
    "rejected": "rejected",
    "declined": "declined",
    "removed": "removed",
    "awaiting_details": "awaiting_details",
    "unpaid": "unpaid",
    "approved": "approved",
    "payment_pending": "payment_pending",
    "payment_pending_bank": "payment_pending_bank",
    "payment_pending_cash": "payment_pending_cash",
    "payment_failed": "payment_failed",
    "checking": "checking",
    #: Districts only: how far behind their target (furthest first when descending); units by code instead.
    "target_gap": "code",
    #: Provinces and districts only: how many more were paid since the last count of an earlier day (the daily
    #: snapshots); units by code instead.
    "paid_since": "code",
}
#: What a table lists: an area's child areas (provinces of the country, districts of a province) or its units.
TABLES = ("areas", "units")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class TableQuery:
    area: Area
    table: str = "areas"
    sort: str = "name"
    descending: bool = False
    limit: int | None = None
    #: Rows passed over before the ``limit`` shown (a later page of the table).
    offset: int = 0


def child_level(area: Area, table: str) -> str:
    """What the rows of the table are: "province", "district" or "unit"."""
    if table == "units" or area.level == "district":
        return "unit"
    return "province" if area.level == "country" else "district"


def _filter(area: Area) -> tuple[str, dict[str, Any]]:
    if area.district_code:
        return "c.district_code = :district", {"district": area.district_code}
    if area.province_code:
        return "d.province_code = :province", {"province": area.province_code}
    return "true", {}


#: Each figure of a unit, 0 where it has no claim in the state (a FILTER's sum over no rows is NULL, which sorted
#: after every number: the units with none paid came last in "fewest paid first").
_PIVOT = """
    coalesce(sum(c.claims) FILTER (WHERE c.state <> ALL(:not_eligible)), 0) AS eligible,
    coalesce(sum(c.claims) FILTER (WHERE c.state = 'paid'), 0) AS paid,
    coalesce(sum(c.amount_vnd) FILTER (WHERE c.state = 'paid'), 0) AS paid_amount_vnd,
    coalesce(sum(c.claims) FILTER (WHERE c.state = 'needs_review'), 0) AS needs_review,
    coalesce(sum(c.claims) FILTER (WHERE c.state = 'rejected'), 0) AS rejected,
    coalesce(sum(c.claims) FILTER (WHERE c.state = 'declined'), 0) AS declined,
    coalesce(sum(c.claims) FILTER (WHERE c.state = 'removed'), 0) AS removed,
    coalesce(sum(c.claims) FILTER (WHERE c.state = 'awaiting_payment_details'), 0) AS awaiting_details,
    coalesce(sum(c.claims) FILTER (WHERE c.state <> ALL(:not_eligible)), 0)
        - coalesce(sum(c.claims) FILTER (WHERE c.state = 'paid'), 0) AS unpaid,
    coalesce(sum(c.claims) FILTER (WHERE c.state = 'approved'), 0) AS approved,
    coalesce(sum(c.claims) FILTER (WHERE c.state = 'payment_pending'), 0) AS payment_pending,
    coalesce(sum(c.claims - c.cash_claims) FILTER (WHERE c.state = 'payment_pending'), 0) AS payment_pending_bank,
    coalesce(sum(c.cash_claims) FILTER (WHERE c.state = 'payment_pending'), 0) AS payment_pending_cash,
    coalesce(sum(c.claims) FILTER (WHERE c.state = 'payment_failed'), 0) AS payment_failed,
    coalesce(sum(c.claims) FILTER (WHERE c.state = ANY(:checking)), 0) AS checking"""

#: The figures of a row: completion, then where the eligible not yet paid are (``unpaid`` in all: approved and not
#: yet sent, in payment at a bank and on an office's cash list (``payment_pending`` both together), failed, awaiting
#: details, needing review, being confirmed or checked), then the refused.
_FIGURES = (
    "eligible",
    "paid",
    "paid_amount_vnd",
    "needs_review",
    "rejected",
    "declined",
    "removed",
    "awaiting_details",
    "unpaid",
    "approved",
    "payment_pending",
    "payment_pending_bank",
    "payment_pending_cash",
    "payment_failed",
    "checking",
)


def _statement(query: TableQuery) -> str:
    """The units of a province or of the country, pivoted, sorted and cut."""
    where, _ = _filter(query.area)
    direction = "DESC" if query.descending else "ASC"
    limit = "LIMIT :limit OFFSET :offset" if query.limit else ""
    # Every fragment is ours (the sort column comes from SORT_COLUMNS); values are bound.
    return f"""WITH grouped AS (
                    SELECT c.employer_id AS key, {_PIVOT}
                    FROM claim_counters c JOIN districts d ON d.code = c.district_code
                    WHERE c.program_id = :program_id AND c.employer_id IS NOT NULL AND {where}
                    GROUP BY c.employer_id),
                named AS (
                    SELECT e.unit_code AS code, e.name, e.district_code, g.*
                    FROM grouped g JOIN employers e ON e.id = g.key)
               SELECT *, CASE WHEN eligible > 0 THEN 100.0 * paid / eligible END
                         AS percent_paid
               FROM named
               ORDER BY {SORT_COLUMNS[query.sort]} {direction} NULLS LAST, code
               {limit}"""


def table_rows(program_id: int, query: TableQuery) -> tuple[list[dict[str, Any]], int]:
    """The rows of the table ``query`` asks for, sorted and cut, and how many there are without the cut. Each row
    has ``code`` (None for the applicants of a district without a unit), ``name``, ``district_code`` (units and
    districts), the figures of :data:`_FIGURES` (0 where none), ``percent_paid`` (None while nobody is eligible),
    and for districts ``target`` (judged: :func:`disburse.reports.dashboard.target_in_force`), ``target_bp``,
    ``target_date``, ``gap_bp`` (None without a target, or a passed one without a snapshot to judge it by); provinces
    and districts ``paid_since`` (:func:`disburse.reports.dashboard.children`)."""
    assert query.table in TABLES and query.sort in SORT_COLUMNS
    if child_level(query.area, query.table) == "unit" and query.area.level != "district":
        rows = _units_rows(program_id, query)
        if query.limit and (len(rows) == query.limit or query.offset):
            return rows, row_count(program_id, query)
        return rows, len(rows)
    rows = [_child_row(row, query.area) for row in children(program_id, query.area)]
    rows = _sorted(rows, query.sort, query.descending)
    return (rows[query.offset : query.offset + query.limit] if query.limit else rows), len(rows)


def _child_row(row: dict[str, Any], area: Area) -> dict[str, Any]:
    item = {name: row[name] for name in ("code", "name", *_FIGURES, "percent_paid")}
    item["district_code"] = (
        area.district_code if row["level"] == "employer" else (row["code"] if row["level"] == "district" else None)
    )
    for name in ("target", "target_bp", "target_date", "gap_bp", "paid_since"):
        item[name] = row.get(name)
    return item


def _sorted(rows: list[dict[str, Any]], sort: str, descending: bool) -> list[dict[str, Any]]:
    """Rows by ``sort`` either way; a row without the value (nobody eligible, no target) last both ways."""
    column = "gap_bp" if sort == "target_gap" else sort

    def key(row: dict[str, Any]) -> Any:
        value = row[column]
        return vietnamese_key(value) if column == "name" else value

    known = [row for row in rows if row[column] is not None]
    unknown = [row for row in rows if row[column] is None]
    known.sort(key=lambda row: row["code"] or "")
    known.sort(key=key, reverse=descending)
    return known + sorted(unknown, key=lambda row: row["code"] or "")


def _units_rows(program_id: int, query: TableQuery) -> list[dict[str, Any]]:
    _, params = _filter(query.area)
    rows = db.session.execute(
        text(_statement(query)),
        {
            "program_id": program_id,
            "not_eligible": [str(state) for state in NOT_IN_ELIGIBLE_GROUP],
            "checking": [str(state) for state in CHECKING_STATES],
            "limit": query.limit,
            "offset": query.offset,
            **params,
        },
    ).mappings()
    result = []
    for row in rows:
        item: dict[str, Any] = {"code": row["code"], "name": row["name"], "district_code": row["district_code"]}
        item.update({name: int(row[name]) for name in _FIGURES})
        item["percent_paid"] = float(row["percent_paid"]) if row["percent_paid"] is not None else None
        item.update(target=None, target_bp=None, target_date=None, gap_bp=None)
        result.append(item)
    return result


def row_count(program_id: int, query: TableQuery) -> int:
    """How many rows the table has without a limit (to decide between a direct download and a background job)."""
    if child_level(query.area, query.table) != "unit" or query.area.level == "district":
        return len(children(program_id, query.area))
    where, params = _filter(query.area)
    return int(
        db.session.scalar(
            text(
                f"""SELECT count(DISTINCT c.employer_id) FROM claim_counters c
                    JOIN districts d ON d.code = c.district_code
                    WHERE c.program_id = :program_id AND c.employer_id IS NOT NULL AND {where}"""  # ours; bound
            ),
            {"program_id": program_id, **params},
        )
        or 0
    )


#: Where the eligible not yet paid were at the month's end, as the dashboard's ``figures_of`` names them, in the
#: report's order (that of the dashboard's summary: in payment first, being checked last). They add up to ``unpaid``.
MONTHLY_UNPAID_PARTS = (
    "payment_pending_bank",
    "payment_pending_cash",
    "approved",
    "payment_failed",
    "awaiting_details",
    "needs_review",
    "checking",
)
#: The report's not-yet-paid figures: ``unpaid``, its parts, and the VND in payment at a bank and in cash. Those a
#: snapshot taken before migration 0036 did not keep are None (unknown), never 0.
MONTHLY_UNPAID = (
    "unpaid",
    *MONTHLY_UNPAID_PARTS,
    "payment_pending_bank_amount_vnd",
    "payment_pending_cash_amount_vnd",
)
_MONTHLY_COMPLETION = ("eligible", "paid", "paid_amount_vnd")
#: The snapshot's columns read for a past month, after its area's code: the report's figures a snapshot keeps (all
#: but ``unpaid``, which is counted from them), named as the snapshots' statements name them.
_SNAPSHOT_COLUMNS = tuple(name for name in SNAPSHOT_FIGURES if name in (*_MONTHLY_COMPLETION, *MONTHLY_UNPAID))


def _last_snapshot_day(program_id: int, first: date, last: date) -> date | None:
    """The day of the program's last snapshot from ``first`` to ``last`` (every snapshot has the country's row, taken
    in the same transaction as the provinces' and the districts'), None without one."""
    return db.session.scalar(
        text(
            """SELECT max(day) FROM completion_snapshots WHERE program_id = :program_id AND level = 'country'
                                                           AND area_code = '' AND day BETWEEN :first AND :last"""
        ),
        {"program_id": program_id, "first": first, "last": last},
    )


def month_sources(program_id: int, month: date, today: date) -> dict[str, Any]:
    """Where the monthly report's figures for ``month`` come from, as of the programme's ``today``: ``start`` and
    ``end`` (the month's first and last day), ``previous_end`` (the previous month's last day), ``running`` (the month
    is running: its end is today's live rollups), ``end_day`` (the day of the month's last snapshot, up to today; None
    while running or without one), ``start_day`` (the day of the previous month's last snapshot *in that month*, the
    people paid before the month; None without one: nothing else says how many were paid by the month's start) and
    ``first_month`` (nobody can have been paid before the month: the paid in the month are all the paid)."""
    start = month.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    previous_end = start - timedelta(days=1)
    running = start <= today <= end
    program = db.session.get(Program, program_id)
    # Nobody is paid before the day after the cut-off date, nor before the first payment of any programme settled:
    # in such a month the people paid before it are none, snapshot or not (a demo's first month has no snapshot of
    # the month before). Read per provider from the settlements' index.
    settled_before = db.session.scalar(
        text(
            """SELECT EXISTS (SELECT 1 FROM payments WHERE provider = ANY(:providers)
                                                     AND settled_at IS NOT NULL AND settled_at < :start)"""
        ),
        {"providers": list(PROVIDERS), "start": datetime.combine(start, time(), tzinfo=VIETNAM_TZ)},
    )
    return {
        "start": start,
        "end": end,
        "previous_end": previous_end,
        "running": running,
        "end_day": None if running or start > today else _last_snapshot_day(program_id, start, min(end, today)),
        "start_day": _last_snapshot_day(program_id, previous_end.replace(day=1), min(previous_end, today)),
        "first_month": program is not None and (start <= program.cutoff_date + timedelta(days=1) or not settled_before),
    }


def monthly_report(
    program_id: int, month: date, today: date, province: str | None = None, sources: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The monthly report to the ministry, one row per province (with ``province``: one per district of that
    province, the province's own report), by code: the completion
    at the month's end (its last daily snapshot; the live rollups for the month still running), the people paid
    during the month (against the previous month's last snapshot taken in that month; none before a month in which
    nobody can have been paid before; None otherwise without one: a snapshot of an earlier month would count the
    payments made since as the month's), where the eligible not yet paid were at its end
    (:data:`MONTHLY_UNPAID`: ``unpaid`` and its parts, as the dashboard's ``figures_of`` counts them; a part a
    snapshot taken before migration 0036 did not keep is None), and the contribution
    reductions booked for the month (``reduction_employers``, ``reduction_employees``: participants that month,
    ``reduction_vnd``). ``sources``: :func:`month_sources` (read when not given), whose days the page and the files
    name. Reads snapshots and rollups only, never claims. Ours: the rollups' service has no per-month query."""
    found_sources = sources or month_sources(program_id, month, today)
    start, end = found_sources["start"], found_sources["end"]
    first_month = found_sources["first_month"]
    level = "district" if province else "province"
    only = "AND area_code IN (SELECT code FROM districts WHERE province_code = :province)" if province else ""
    snapshot = f"""SELECT DISTINCT ON (area_code) area_code, {", ".join(_SNAPSHOT_COLUMNS)} FROM completion_snapshots
                   WHERE program_id = :program_id AND level = '{level}' AND day BETWEEN :first AND :last {only}
                   ORDER BY area_code, day DESC"""  # ours; values bound
    params = {"program_id": program_id, "province": province}
    rows: dict[str, dict[str, Any]] = {}
    if found_sources["running"]:  # the month is running: today's figures, live
        for area in children(program_id, Area(province)):
            rows[area["code"]] = {name: area[name] for name in (*_MONTHLY_COMPLETION, *MONTHLY_UNPAID)}
        taken = True
    else:
        last = min(end, today)
        for found in db.session.execute(text(snapshot), {**params, "first": start, "last": last}).mappings():
            item: dict[str, Any] = {
                name: None if found[name] is None else int(found[name]) for name in _SNAPSHOT_COLUMNS
            }
            item["unpaid"] = item["eligible"] - item["paid"]
            rows[found["area_code"]] = item
        # Every snapshot has the country's row; a province missing from a month that has one had no claims then.
        taken = bool(rows) or found_sources["end_day"] is not None
    # The people paid before the month: the previous month's last snapshot, of that month only (an area missing from
    # it had no claims then).
    start_day = found_sources["start_day"]
    before = (
        {
            found["area_code"]: int(found["paid"])
            for found in db.session.execute(
                text(snapshot), {**params, "first": start_day.replace(day=1), "last": start_day}
            ).mappings()
        }
        if start_day is not None
        else {}
    )
    reductions = db.session.execute(
        text(
            f"""SELECT {"d.code" if province else "d.province_code"}, count(DISTINCT r.employer_id),
                       sum(r.ui_participants), sum(r.amount_vnd)
                FROM reductions r JOIN employers e ON e.id = r.employer_id JOIN districts d ON d.code = e.district_code
                WHERE r.program_id = :program_id AND r.month = :month
                {"AND d.province_code = :province" if province else ""}
                GROUP BY 1"""  # ours; values bound
        ),
        {**params, "month": start},
    ).all()
    for code, employers, employees, amount in reductions:
        # An area with a reduction but no claims (none in the rollups, none in the month's snapshot): nobody
        # eligible. Without a snapshot of the month (none taken, or a month to come), its completion is not known.
        nothing: dict[str, Any] = dict.fromkeys((*_MONTHLY_COMPLETION, *MONTHLY_UNPAID), 0 if taken else None)
        item = rows.setdefault(code, nothing)
        item.update(reduction_employers=int(employers), reduction_employees=int(employees or 0))
        item["reduction_vnd"] = int(amount or 0)
    places = "districts" if province else "provinces"
    names: dict[str, str] = {code: name for code, name in db.session.execute(text(f"SELECT code, name FROM {places}"))}
    result = []
    for code in sorted(rows):
        row: dict[str, Any] = {"code": code, "name": names.get(code, code), **rows[code]}
        if row["eligible"] == 0 and row["paid"] == 0 and not row.get("reduction_employers"):
            continue  # an area whose rollup row went back to nothing (its claims deleted): nothing to report
        row.setdefault("reduction_employers", 0)
        row.setdefault("reduction_employees", 0)
        row.setdefault("reduction_vnd", 0)
        row["percent_paid"] = 100.0 * row["paid"] / row["eligible"] if row["eligible"] else None
        known_before = start_day is not None or first_month
        known = known_before and taken and row["paid"] is not None
        row["paid_in_month"] = row["paid"] - before.get(code, 0) if known else None
        result.append(row)
    return result


def unpaid_parts_unknown(rows: list[dict[str, Any]]) -> bool:
    """Whether some row of :func:`monthly_report` (or its total) does not know where some of its not yet paid were
    (a month whose snapshot was taken before migration 0036)."""
    return any(row[name] is None for row in rows for name in MONTHLY_UNPAID)


#: The monthly report's columns summed in its total row (the completion's None when a row does not know it).
MONTHLY_SUMS = (
    "eligible",
    "paid",
    "paid_amount_vnd",
    "reduction_employers",
    "reduction_employees",
    "reduction_vnd",
)


def monthly_totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The total row of :func:`monthly_report`'s rows: the sums, the paid percentage of the sums, and the people
    paid in the month and each not-yet-paid figure when every row knows it (None otherwise)."""
    total: dict[str, Any] = {}
    for name in (*MONTHLY_SUMS, "paid_in_month", *MONTHLY_UNPAID):
        values = [row[name] for row in rows]
        total[name] = None if None in values else sum(values)
    if not rows:
        total["paid_in_month"] = None
    known = total["eligible"] and total["paid"] is not None
    total["percent_paid"] = 100.0 * total["paid"] / total["eligible"] if known else None
    return total
