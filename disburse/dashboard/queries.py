"""The dashboard's tables, read from the rollups (``claim_counters``), never from claims.

:func:`disburse.reports.service.area_progress` gives an area's totals and its reduction; the tables here add what
the dashboard shows per row (rejected, declined, awaiting details) and sort and cut in SQL, so that "the 20 units
with the lowest completion" of a province is one grouped query over its counter rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from disburse.claims.states import NOT_IN_ELIGIBLE_GROUP
from disburse.extensions import db
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
    "awaiting_details": "awaiting_details",
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


_PIVOT = """
    sum(c.claims) FILTER (WHERE c.state <> ALL(:not_eligible)) AS eligible,
    sum(c.claims) FILTER (WHERE c.state = 'paid') AS paid,
    sum(c.amount_vnd) FILTER (WHERE c.state = 'paid') AS paid_amount_vnd,
    sum(c.claims) FILTER (WHERE c.state = 'needs_review') AS needs_review,
    sum(c.claims) FILTER (WHERE c.state = 'rejected') AS rejected,
    sum(c.claims) FILTER (WHERE c.state = 'declined') AS declined,
    sum(c.claims) FILTER (WHERE c.state = 'awaiting_payment_details') AS awaiting_details"""

_FIGURES = ("eligible", "paid", "paid_amount_vnd", "needs_review", "rejected", "declined", "awaiting_details")


def _statement(query: TableQuery) -> str:
    where, _ = _filter(query.area)
    level = child_level(query.area, query.table)
    if level == "unit":
        grouped = f"""SELECT c.employer_id AS key, {_PIVOT}
                      FROM claim_counters c JOIN districts d ON d.code = c.district_code
                      WHERE c.program_id = :program_id AND c.employer_id IS NOT NULL AND {where}
                      GROUP BY c.employer_id"""
        named = """SELECT e.unit_code AS code, e.name, e.district_code, g.*
                   FROM grouped g JOIN employers e ON e.id = g.key"""
    else:
        child = "d.province_code" if level == "province" else "c.district_code"
        table = "provinces" if level == "province" else "districts"
        grouped = f"""SELECT {child} AS key, {_PIVOT}
                      FROM claim_counters c JOIN districts d ON d.code = c.district_code
                      WHERE c.program_id = :program_id AND {where}
                      GROUP BY {child}"""
        district = "NULL" if level == "province" else "a.code"
        named = f"""SELECT a.code, a.name, {district} AS district_code, g.*
                    FROM grouped g JOIN {table} a ON a.code = g.key"""
    direction = "DESC" if query.descending else "ASC"
    order = SORT_COLUMNS[query.sort]
    limit = "LIMIT :limit" if query.limit else ""
    # Every fragment above is ours (the sort column comes from SORT_COLUMNS); values are bound.
    return f"""WITH grouped AS ({grouped}),
                    named AS ({named})
               SELECT *, CASE WHEN coalesce(eligible, 0) > 0 THEN 100.0 * coalesce(paid, 0) / eligible END
                         AS percent_paid
               FROM named
               ORDER BY {order} {direction} NULLS LAST, code
               {limit}"""


def table_rows(program_id: int, query: TableQuery) -> list[dict[str, Any]]:
    """The rows of the table ``query`` asks for, sorted and cut in SQL; each with ``code``, ``name``,
    ``district_code`` (units and districts), the figures of :data:`_FIGURES` (0 where none) and ``percent_paid``
    (None while nobody is eligible)."""
    assert query.table in TABLES and query.sort in SORT_COLUMNS
    _, params = _filter(query.area)
    rows = db.session.execute(
        text(_statement(query)),
        {
            "program_id": program_id,
            "not_eligible": [str(state) for state in NOT_IN_ELIGIBLE_GROUP],
            "limit": query.limit,
            **params,
        },
    ).mappings()
    result = []
    for row in rows:
        item: dict[str, Any] = {"code": row["code"], "name": row["name"], "district_code": row["district_code"]}
        item.update({name: int(row[name] or 0) for name in _FIGURES})
        item["percent_paid"] = float(row["percent_paid"]) if row["percent_paid"] is not None else None
        result.append(item)
    return result


def row_count(program_id: int, query: TableQuery) -> int:
    """How many rows the table has without a limit (to decide between a direct download and a background job)."""
    where, params = _filter(query.area)
    level = child_level(query.area, query.table)
    key = {"unit": "c.employer_id", "province": "d.province_code", "district": "c.district_code"}[level]
    return int(
        db.session.scalar(
            text(
                f"""SELECT count(DISTINCT {key}) FROM claim_counters c JOIN districts d ON d.code = c.district_code
                    WHERE c.program_id = :program_id AND {key} IS NOT NULL AND {where}"""  # ours; values bound
            ),
            {"program_id": program_id, **params},
        )
        or 0
    )


def area_totals(program_id: int, area: Area) -> dict[str, int]:
    """The area's rejected, declined and awaiting-details claims (the rest of its figures are
    :func:`~disburse.reports.service.area_progress`'s)."""
    where, params = _filter(area)
    row = (
        db.session.execute(
            text(
                f"""SELECT {_PIVOT} FROM claim_counters c JOIN districts d ON d.code = c.district_code
                WHERE c.program_id = :program_id AND {where}"""  # ours; values bound
            ),
            {"program_id": program_id, "not_eligible": [str(state) for state in NOT_IN_ELIGIBLE_GROUP], **params},
        )
        .mappings()
        .one()
    )
    return {name: int(row[name] or 0) for name in ("rejected", "declined", "awaiting_details")}
