"""The rollups' upkeep: finding and repairing drift, and the daily completion snapshots.

The rollups (``claim_counters``, ``district_counters``, ``province_counters`` on ``claims``; ``failure_counters`` on
``payments``) are kept by statement-level triggers in the same transaction as the change, so in any snapshot of the
database the committed rows and the committed counters agree: a worker killed mid-transaction rolls back both.
Drift can only come from outside that path (a hand-made ``UPDATE`` of a counter, a ``TRUNCATE`` of one side, a
trigger disabled during a restore).

:func:`repair` finds it and fixes it without stopping the writers:

1. *Find*, in one statement (so one snapshot): the counts of every level computed from ``claims`` (one scan of
   the program's claims, grouped once per employer row, then summed up to districts and provinces; the claims, their
   VND and, of them, those paid in cash) and from the failed and returned ``payments`` against the four counter
   tables; the rows that differ are written to ``rollup_repairs`` with what was expected and found.
2. *Fix*, in the same transaction, by adding the difference (``claims = claims + expected − found``) with the same
   key-ordered upserts as the triggers (failures, then employer, district, province level; key order), never by
   overwriting. A transaction that commits between the two steps changes rows and counters by the same amount, so
   the difference seen in step 1 is still the right correction; overwriting with the snapshot's count would lose
   it. Holding no lock while counting, the sweep never makes writers wait longer than its few upserts.

Two repairs of one program at once would add the correction twice, so each takes the program's advisory lock for
its transaction first (the beat task's Redis lock is not enough: it can expire or be lost with Redis). The second
waits, then counts after the first's correction has committed, and finds nothing left to add.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text

from disburse.claims.states import ClaimState
from disburse.extensions import db
from disburse.reports.dashboard import CHECKING_STATES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Drift:
    """One rollup row that disagrees with ``claims``."""

    level: str  # employer, district, province, or failures (state: the provider's code; claims: payment attempts)
    area_code: str  # the district's code (employer and district levels) or the province's
    employer_id: int | None
    state: str
    expected_claims: int
    found_claims: int
    expected_amount_vnd: int
    found_amount_vnd: int
    #: Of the claims, those paid in cash at the office, and their VND (0 for ``failures``).
    expected_cash_claims: int = 0
    found_cash_claims: int = 0
    expected_cash_amount_vnd: int = 0
    found_cash_amount_vnd: int = 0


# Expected (from claims) minus found (from the counters) for every level, in one statement and one snapshot: the
# claims and their VND, and of them those paid in cash (``c``: the cash columns). An employer row is keyed by
# district and employer (NULL for applicants without a unit: GROUP BY groups NULLs). The failures have no cash columns.
_DRIFT = """
    WITH expected AS (
        SELECT district_code, employer_id, state, count(*) AS n, sum(amount_vnd) AS amount,
               count(*) FILTER (WHERE payout = 'cash') AS cn,
               coalesce(sum(amount_vnd) FILTER (WHERE payout = 'cash'), 0) AS camount
        FROM claims WHERE program_id = :program_id GROUP BY district_code, employer_id, state
    ), keyed AS (
        SELECT 'employer' AS level, district_code AS area_code, employer_id, state, n, amount, cn, camount,
               0 AS fn, 0 AS famount, 0 AS fcn, 0 AS fcamount
        FROM expected
        UNION ALL
        SELECT 'employer', district_code, employer_id, state, 0, 0, 0, 0, claims, amount_vnd, cash_claims,
               cash_amount_vnd
        FROM claim_counters WHERE program_id = :program_id
        UNION ALL
        SELECT 'district', district_code, NULL, state, n, amount, cn, camount, 0, 0, 0, 0 FROM expected
        UNION ALL
        SELECT 'district', district_code, NULL, state, 0, 0, 0, 0, claims, amount_vnd, cash_claims, cash_amount_vnd
        FROM district_counters WHERE program_id = :program_id
        UNION ALL
        SELECT 'province', x.province_code, NULL, e.state, e.n, e.amount, e.cn, e.camount, 0, 0, 0, 0
        FROM expected e JOIN districts x ON x.code = e.district_code
        UNION ALL
        SELECT 'province', province_code, NULL, state, 0, 0, 0, 0, claims, amount_vnd, cash_claims, cash_amount_vnd
        FROM province_counters WHERE program_id = :program_id
        UNION ALL
        SELECT 'failures', c.district_code, NULL, coalesce(p.failure_code, ''), 1, p.amount_vnd, 0, 0, 0, 0, 0, 0
        FROM payments p JOIN claims c ON c.id = p.claim_id
        WHERE c.program_id = :program_id AND p.state IN ('failed', 'returned')
        UNION ALL
        SELECT 'failures', district_code, NULL, failure_code, 0, 0, 0, 0, payments, amount_vnd, 0, 0
        FROM failure_counters WHERE program_id = :program_id
    )
    SELECT level, area_code, employer_id, state,
           sum(n) AS expected_claims, sum(fn) AS found_claims, sum(amount) AS expected_amount_vnd,
           sum(famount) AS found_amount_vnd, sum(cn) AS expected_cash_claims, sum(fcn) AS found_cash_claims,
           sum(camount) AS expected_cash_amount_vnd, sum(fcamount) AS found_cash_amount_vnd
    FROM keyed GROUP BY level, area_code, employer_id, state
    HAVING sum(n) <> sum(fn) OR sum(amount) <> sum(famount) OR sum(cn) <> sum(fcn) OR sum(camount) <> sum(fcamount)
"""

_RECORD = text(
    f"""INSERT INTO rollup_repairs (program_id, level, area_code, employer_id, state, expected_claims, found_claims,
                                    expected_amount_vnd, found_amount_vnd, expected_cash_claims, found_cash_claims,
                                    expected_cash_amount_vnd, found_cash_amount_vnd)
        SELECT :program_id, level, area_code, employer_id, state, expected_claims, found_claims,
               expected_amount_vnd, found_amount_vnd, expected_cash_claims, found_cash_claims,
               expected_cash_amount_vnd, found_cash_amount_vnd
        FROM ({_DRIFT}) AS drift
        RETURNING id"""
)

#: A claim counter's correction, added to the row (the claim counters' three levels): the claims, their VND, and of
#: them those paid in cash.
_ADD = """claims = c.claims + EXCLUDED.claims, amount_vnd = c.amount_vnd + EXCLUDED.amount_vnd,
              cash_claims = c.cash_claims + EXCLUDED.cash_claims,
              cash_amount_vnd = c.cash_amount_vnd + EXCLUDED.cash_amount_vnd"""
_CASH_DIFFERENCE = "expected_cash_claims - found_cash_claims, expected_cash_amount_vnd - found_cash_amount_vnd"

# The corrections, as the triggers do it: by level, in key order, adding. The payment failures first: the payments'
# status path changes a payment (its failure row) before its claim (the claim counters).
_FIX = (
    text(
        """INSERT INTO failure_counters AS f (program_id, district_code, failure_code, payments, amount_vnd)
           SELECT program_id, area_code, state, expected_claims - found_claims, expected_amount_vnd - found_amount_vnd
           FROM rollup_repairs WHERE id = ANY(:ids) AND level = 'failures'
           ORDER BY program_id, area_code, state
           ON CONFLICT (program_id, district_code, failure_code)
           DO UPDATE SET payments = f.payments + EXCLUDED.payments, amount_vnd = f.amount_vnd + EXCLUDED.amount_vnd"""
    ),
    text(
        f"""INSERT INTO claim_counters AS c (program_id, district_code, employer_id, state, claims, amount_vnd,
                                            cash_claims, cash_amount_vnd)
           SELECT program_id, area_code, employer_id, state, expected_claims - found_claims,
                  expected_amount_vnd - found_amount_vnd, {_CASH_DIFFERENCE}
           FROM rollup_repairs WHERE id = ANY(:ids) AND level = 'employer'
           ORDER BY program_id, area_code, employer_id, state
           ON CONFLICT (program_id, district_code, employer_id, state)
           DO UPDATE SET {_ADD}"""
    ),
    text(
        f"""INSERT INTO district_counters AS c (program_id, district_code, state, claims, amount_vnd, cash_claims,
                                               cash_amount_vnd)
           SELECT program_id, area_code, state, expected_claims - found_claims, expected_amount_vnd - found_amount_vnd,
                  {_CASH_DIFFERENCE}
           FROM rollup_repairs WHERE id = ANY(:ids) AND level = 'district'
           ORDER BY program_id, area_code, state
           ON CONFLICT (program_id, district_code, state)
           DO UPDATE SET {_ADD}"""
    ),
    text(
        f"""INSERT INTO province_counters AS c (program_id, province_code, state, claims, amount_vnd, cash_claims,
                                               cash_amount_vnd)
           SELECT program_id, area_code, state, expected_claims - found_claims, expected_amount_vnd - found_amount_vnd,
                  {_CASH_DIFFERENCE}
           FROM rollup_repairs WHERE id = ANY(:ids) AND level = 'province'
           ORDER BY program_id, area_code, state
           ON CONFLICT (program_id, province_code, state)
           DO UPDATE SET {_ADD}"""
    ),
)


def drift(program_id: int) -> list[Drift]:
    """Every rollup row of the program, at every level, that differs from a direct count over ``claims`` (empty when
    the rollups are exact). Reads only; one statement, so one consistent snapshot."""
    rows = db.session.execute(text(_DRIFT + " ORDER BY 1, 2, 3, 4"), {"program_id": program_id}).all()
    return [
        Drift(
            level=row.level,
            area_code=row.area_code,
            employer_id=row.employer_id,
            state=row.state,
            expected_claims=int(row.expected_claims),
            found_claims=int(row.found_claims),
            expected_amount_vnd=int(row.expected_amount_vnd),
            found_amount_vnd=int(row.found_amount_vnd),
            expected_cash_claims=int(row.expected_cash_claims),
            found_cash_claims=int(row.found_cash_claims),
            expected_cash_amount_vnd=int(row.expected_cash_amount_vnd),
            found_cash_amount_vnd=int(row.found_cash_amount_vnd),
        )
        for row in rows
    ]


_REPAIR_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('disburse.rollups.repair'), :program_id)")


def repair(program_id: int) -> int:
    """Find the program's drifted rollup rows, record each in ``rollup_repairs`` and correct it (see the module's
    note); returns how many rows were wrong. Holds the program's repair lock until the caller commits."""
    db.session.execute(_REPAIR_LOCK, {"program_id": program_id})
    ids = list(db.session.scalars(_RECORD, {"program_id": program_id}))
    if not ids:
        return 0
    for statement in _FIX:
        db.session.execute(statement, {"ids": ids})
    log.warning("rollups of program %d: %d rows drifted, repaired (see rollup_repairs)", program_id, len(ids))
    return len(ids)


# ---------------------------------------------------------------------------------------------- reductions

_REDUCTION_TOTALS = (
    text("DELETE FROM reduction_totals WHERE program_id = :program_id"),
    text(
        """INSERT INTO reduction_totals (program_id, district_code, employers, employees, amount_vnd)
           SELECT :program_id, e.district_code, count(*), sum(u.most), sum(u.amount)
           FROM (SELECT employer_id, max(ui_participants) AS most, sum(amount_vnd) AS amount
                 FROM reductions WHERE program_id = :program_id GROUP BY employer_id) u
           JOIN employers e ON e.id = u.employer_id
           GROUP BY e.district_code
           ORDER BY e.district_code"""
    ),
)


def refresh_reduction_totals(program_id: int) -> None:
    """Recount the program's ``reduction_totals`` (per district: units with a reduction, the most participants of
    each in any month summed, VND) from ``reductions``, set-based: one scan of the program's reduction rows
    (4.4 million at national size). The reductions' booking calls it in its transaction, so the totals follow every
    booking; the repair sweeper calls it too (an employer moved to another district). The caller commits."""
    for statement in _REDUCTION_TOTALS:
        db.session.execute(statement, {"program_id": program_id})


# ------------------------------------------------------------------------------------------------ snapshots

_S = ClaimState
_CHECKING = ", ".join(f"'{state}'" for state in CHECKING_STATES)
#: The figures of an area's snapshot, as :func:`disburse.reports.dashboard.figures_of` counts them from the same
#: rollup rows (tests/reports/test_dashboard.py holds every level to it): completion, the refused, and where the
#: eligible not yet paid are, in payment split into the bank's and the offices' cash lists by the rows' cash columns.
#: Each figure's column of ``completion_snapshots`` and the SQL that counts it: the one list of the snapshot's
#: figures, which the statements below and the readers of the snapshots (the monthly report) take their names from.
_SNAPSHOT_SQL = {
    "claims": "sum(claims)",
    "eligible": f"sum(claims) FILTER (WHERE state NOT IN ('{_S.REJECTED}', '{_S.DECLINED}', '{_S.REMOVED}'))",
    "paid": f"sum(claims) FILTER (WHERE state = '{_S.PAID}')",
    "paid_amount_vnd": f"sum(amount_vnd) FILTER (WHERE state = '{_S.PAID}')",
    "needs_review": f"sum(claims) FILTER (WHERE state = '{_S.NEEDS_REVIEW}')",
    "rejected": f"sum(claims) FILTER (WHERE state = '{_S.REJECTED}')",
    "declined": f"sum(claims) FILTER (WHERE state = '{_S.DECLINED}')",
    "awaiting_details": f"sum(claims) FILTER (WHERE state = '{_S.AWAITING_PAYMENT_DETAILS}')",
    "checking": f"sum(claims) FILTER (WHERE state IN ({_CHECKING}))",
    "approved": f"sum(claims) FILTER (WHERE state = '{_S.APPROVED}')",
    "payment_pending_bank": f"sum(claims - cash_claims) FILTER (WHERE state = '{_S.PAYMENT_PENDING}')",
    "payment_pending_bank_amount_vnd": (
        f"sum(amount_vnd - cash_amount_vnd) FILTER (WHERE state = '{_S.PAYMENT_PENDING}')"
    ),
    "payment_pending_cash": f"sum(cash_claims) FILTER (WHERE state = '{_S.PAYMENT_PENDING}')",
    "payment_pending_cash_amount_vnd": f"sum(cash_amount_vnd) FILTER (WHERE state = '{_S.PAYMENT_PENDING}')",
    "payment_failed": f"sum(claims) FILTER (WHERE state = '{_S.PAYMENT_FAILED}')",
}
#: The snapshot's figures after its key (its columns but ``program_id``, ``level``, ``area_code``, ``day`` and
#: ``taken_at``), in the order of :data:`_SNAPSHOT_SQL`.
SNAPSHOT_FIGURES = tuple(_SNAPSHOT_SQL)
_SNAPSHOT_COLUMNS = ",".join(f"\n    {sql} AS {name}" for name, sql in _SNAPSHOT_SQL.items())

_SNAPSHOT = (
    """
    INSERT INTO completion_snapshots AS s (program_id, level, area_code, day, """
    + ", ".join(SNAPSHOT_FIGURES)
    + """)
    SELECT :program_id, '{level}', {code}, :day, """
    + ", ".join(f"coalesce({name}, 0)" for name in SNAPSHOT_FIGURES)
    + """
    FROM (SELECT {group} {columns} FROM {table} WHERE program_id = :program_id {group_by}) AS figures
    ON CONFLICT (program_id, level, area_code, day) DO UPDATE SET """
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in SNAPSHOT_FIGURES)
    + """, taken_at = now()
"""
)

_SNAPSHOTS = [
    text(
        _SNAPSHOT.format(
            level="country", code="''", group="", columns=_SNAPSHOT_COLUMNS, table="province_counters", group_by=""
        )
    ),
    text(
        _SNAPSHOT.format(
            level="province",
            code="area",
            group="province_code AS area,",
            columns=_SNAPSHOT_COLUMNS,
            table="province_counters",
            group_by="GROUP BY province_code",
        )
    ),
    text(
        _SNAPSHOT.format(
            level="district",
            code="area",
            group="district_code AS area,",
            columns=_SNAPSHOT_COLUMNS,
            table="district_counters",
            group_by="GROUP BY district_code",
        )
    ),
]


def take_snapshots(program_id: int, day: date) -> int:
    """The program's completion on ``day`` for the country, every province and every district, from the province
    and district levels of the rollups (a few thousand rows): its claims, eligible, paid and their VND, the refused,
    and where the eligible not yet paid are, each as :func:`disburse.reports.dashboard.figures_of` counts it (in
    payment at a bank and on an office's cash list, each with its VND); taking the same day again replaces that
    day's rows. Returns the rows written. The caller commits."""
    written = 0
    for statement in _SNAPSHOTS:
        result = db.session.execute(statement, {"program_id": program_id, "day": day})
        written += result.rowcount  # type: ignore[attr-defined]
    return written
