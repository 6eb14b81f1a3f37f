"""The dashboards' backlog figures: the open cases by age in working days, the SLA breaches and the review queue by
reason, computed for every district at once by a beat sweep (``sweepers.backlog``) and read as a few rows per area.

These figures cannot be rollups kept by the claims' triggers: an age and an SLA breach change with the day, not with
a write, and the claims' write path already carries three levels of statement-level rollups. Counted from
``claims`` on each page view they cost 1 s (ageing) and 3.3 s (backlog) for the country at the national point, a
scan of every open case. So :func:`refresh` counts them **for every district in one statement** (one snapshot),
sums them up to the provinces and the country in the same statement (``GROUPING SETS``), and replaces the program's
rows of ``backlog_counters`` in one transaction; a page reads the rows of its area only (country, province or
district: a few dozen rows) and says when they were computed (``backlog_sweeps.computed_at``).

**Ages are counted on the sweep's day.** A row holds the claims of a district, state and age bucket as of the
programme day of the sweep (``backlog_sweeps.as_of``), not per received-on date: the page shows figures "as of"
the sweep, states included (a claim decided since is still counted until the next sweep), so ages as of the same
moment are the consistent choice; dates would multiply the rows (districts × states × every received-on and
payment-due date: hundreds of thousands at national size) and make every page view bucket them in Python. A sweep
every ``DISBURSE_BACKLOG_EVERY_S`` seconds (300 by default) keeps the figures at most that old, across midnight
too.

**One rule.** :func:`by_district_sql` is the only SQL that says which claims count where: the sweep runs it over
every district, :func:`live` over one area (the reference the tests hold the stored figures to, and what the
dashboards read before this module). Its age buckets are date ranges (:func:`age_limits`, computed once per sweep
with :func:`~disburse.programs.calendar.working_days_between`'s calendar: weekends, public holidays and Tết), so
the bucketing runs inside PostgreSQL.

Two sweeps of one program at once take turns on an advisory lock held until commit (each replaces the whole set of
rows; the second counts again after the first has committed); the beat task also holds the sweepers' Redis lock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from disburse.claims.states import CLOSED_STATES, ClaimState
from disburse.extensions import db
from disburse.programs.calendar import is_working_day
from disburse.reports.service import Area, district_filter

log = logging.getLogger(__name__)

S = ClaimState

#: The cases somebody must act on, whose age the dashboards chart.
OPEN_CASE_STATES = (S.NEEDS_REVIEW, S.PAYMENT_FAILED, S.AWAITING_PAYMENT_DETAILS)
#: Ageing buckets in working days since the claim was received: (label, first day, last day or None). Contiguous
#: from 0; a claim received after today (the programme clock set back) counts in the first.
AGE_BUCKETS = (("0–5", 0, 5), ("6–10", 6, 10), ("11–20", 11, 20), ("> 20", 21, None))
#: The states whose claims can breach the payment SLA: every state but the closed ones.
SLA_STATES = tuple(s for s in ClaimState if s not in CLOSED_STATES)
#: What ``backlog_counters.kind`` holds: the open cases by age bucket (``key``: the bucket's label) per state;
#: the claims past ``payment_due_on`` per state (``key`` ''); the claims needing review per reason (``key``: the
#: reason; a claim with two reasons counts under each); after the programme's last payable day, the claims not paid
#: by then and still open (every state but the closed ones), per state (``key`` ''): each owes the person a written
#: answer.
KINDS = ("ageing", "sla_breach", "review_reason", "unpaid_at_end")

assert AGE_BUCKETS[0][1] == 0 and AGE_BUCKETS[-1][2] is None
assert all(AGE_BUCKETS[i][2] == AGE_BUCKETS[i + 1][1] - 1 for i in range(len(AGE_BUCKETS) - 1))

#: The day a claim was received: Form 04, else Form 02, else listed (as the review queue counts it), on Vietnam's
#: calendar whatever the database session's time zone (a claim listed at 06:00 in Hà Nội is listed that day).
RECEIVED_ON = "coalesce(c.applied_on, c.confirmed_on, CAST(c.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh' AS date))"

_ONE_DAY = timedelta(days=1)


def age_limits(today: date) -> list[date]:
    """For each age bucket but the last, the earliest received-on date whose age on ``today`` (working days in
    ``(received, today]``, as :func:`~disburse.programs.calendar.working_days_between`) is at most the bucket's last
    day: a claim falls in the first bucket whose limit it is on or after, else in the last."""
    limits = []
    day, age = today, 0  # age = working days in (day, today]
    for _, _, last in AGE_BUCKETS[:-1]:
        assert last is not None
        # Going back one day adds ``day`` itself to (day - 1, today].
        while age + is_working_day(day) <= last:
            age += is_working_day(day)
            day -= _ONE_DAY
        limits.append(day)
    return limits


def by_district_sql(where: str) -> str:
    """The rule, as one SQL query: per district of the claims that ``where`` keeps (a filter on ``c.district_code``
    from :func:`~disburse.reports.service.district_filter`; ``true`` for all), ``district_code``, ``kind``
    (:data:`KINDS`), ``state``, ``key``, ``claims`` and ``amount_vnd``. Parameters: :func:`rule_params`."""
    bucket = (
        "CASE "
        + " ".join(f"WHEN {RECEIVED_ON} >= :since_{i} THEN :bucket_{i}" for i in range(len(AGE_BUCKETS) - 1))
        + f" ELSE :bucket_{len(AGE_BUCKETS) - 1} END"
    )
    return f"""
        SELECT c.district_code, 'ageing' AS kind, c.state, {bucket} AS key, count(*) AS claims,
               sum(c.amount_vnd) AS amount_vnd
        FROM claims c WHERE c.program_id = :program_id AND c.state = ANY(:case_states) AND {where}
        GROUP BY 1, 3, 4
        UNION ALL
        SELECT c.district_code, 'sla_breach', c.state, '', count(*), sum(c.amount_vnd)
        FROM claims c
        WHERE c.program_id = :program_id AND c.state = ANY(:sla_states) AND c.payment_due_on < :today AND {where}
        GROUP BY 1, 3
        UNION ALL
        SELECT c.district_code, 'review_reason', c.state, r.reason, count(*), sum(c.amount_vnd)
        FROM claims c CROSS JOIN LATERAL unnest(c.reasons) AS r(reason)
        WHERE c.program_id = :program_id AND c.state = 'needs_review' AND {where}
        GROUP BY 1, 3, 4
        UNION ALL
        SELECT c.district_code, 'unpaid_at_end', c.state, '', count(*), sum(c.amount_vnd)
        FROM claims c
        WHERE c.program_id = :program_id AND c.state = ANY(:sla_states) AND {where}
          AND :today > (SELECT coalesce(p.extension_until, p.payment_deadline) FROM programs p WHERE p.id = :program_id)
        GROUP BY 1, 3"""  # where: our own filter; values are bound


def rule_params(program_id: int, today: date) -> dict[str, Any]:
    """The parameters of :func:`by_district_sql` for ``today``."""
    params: dict[str, Any] = {
        "program_id": program_id,
        "today": today,
        "case_states": [s.value for s in OPEN_CASE_STATES],
        "sla_states": [s.value for s in SLA_STATES],
    }
    for i, since in enumerate(age_limits(today)):
        params[f"since_{i}"] = since
    for i, (label, _, _) in enumerate(AGE_BUCKETS):
        params[f"bucket_{i}"] = label
    return params


Counts = dict[tuple[str, str, str], tuple[int, int]]


def live(program_id: int, area: Area, today: date) -> Counts:
    """The area's figures counted now from ``claims`` by the rule: (kind, state, key) → (claims, amount_vnd). What
    the sweep stores, for one area; a scan of the area's open cases (the tests' and the bench's reference)."""
    where, params = district_filter(area)
    rows = db.session.execute(
        text(
            f"""SELECT f.kind, f.state, f.key, sum(f.claims), sum(f.amount_vnd)
                FROM ({by_district_sql(where)}) f GROUP BY 1, 2, 3"""
        ),
        {**rule_params(program_id, today), **params},
    ).all()
    return {(kind, state, key): (int(n), int(amount)) for kind, state, key, n, amount in rows}


# ------------------------------------------------------------------------------------------------------ sweep

_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('disburse.backlog'), :program_id)")
_CLEAR = text("DELETE FROM backlog_counters WHERE program_id = :program_id")
_FILL = text(
    f"""INSERT INTO backlog_counters (program_id, level, area_code, kind, state, key, claims, amount_vnd)
        SELECT :program_id,
               CASE WHEN GROUPING(f.district_code) = 0 THEN 'district'
                    WHEN GROUPING(d.province_code) = 0 THEN 'province' ELSE 'country' END,
               coalesce(f.district_code, d.province_code, ''), f.kind, f.state, f.key, sum(f.claims),
               sum(f.amount_vnd)
        FROM ({by_district_sql("true")}) f JOIN districts d ON d.code = f.district_code
        GROUP BY GROUPING SETS ((f.kind, f.state, f.key, d.province_code, f.district_code),
                                (f.kind, f.state, f.key, d.province_code),
                                (f.kind, f.state, f.key))"""
)
_STAMP = text(
    """INSERT INTO backlog_sweeps AS s (program_id, computed_at, as_of, took_ms, row_count)
       VALUES (:program_id, :computed_at, :as_of, :took_ms, :row_count)
       ON CONFLICT (program_id) DO UPDATE SET computed_at = EXCLUDED.computed_at, as_of = EXCLUDED.as_of,
           took_ms = EXCLUDED.took_ms, row_count = EXCLUDED.row_count"""
)


def refresh(program_id: int, today: date) -> int:
    """Count the program's backlog figures for every district, province and the country as of ``today`` (the
    programme day) and replace its ``backlog_counters`` rows with them; returns the rows written. Waits for a sweep of
    the same program that is running (an advisory lock until commit). The caller commits: until then pages read the
    previous figures."""
    db.session.execute(_LOCK, {"program_id": program_id})
    started = time.monotonic()
    computed_at: datetime = db.session.execute(text("SELECT clock_timestamp()")).scalar_one()
    db.session.execute(_CLEAR, {"program_id": program_id})
    written = db.session.execute(_FILL, rule_params(program_id, today)).rowcount  # type: ignore[attr-defined]
    took_ms = round((time.monotonic() - started) * 1000)
    db.session.execute(
        _STAMP,
        {
            "program_id": program_id,
            "computed_at": computed_at,
            "as_of": today,
            "took_ms": took_ms,
            "row_count": written,
        },
    )
    log.info("backlog figures of program %d as of %s: %d rows in %d ms", program_id, today, written, took_ms)
    return int(written)


# ------------------------------------------------------------------------------------------------------- read


@dataclass(frozen=True)
class Stored:
    """An area's figures as the last sweep stored them: ``counts`` as :func:`live` returns them, ``computed_at`` (when
    the sweep counted) and ``as_of`` (the programme day the ages and breaches are counted on); both None before the
    program's first sweep, with no counts."""

    counts: Counts
    computed_at: datetime | None
    as_of: date | None


def stored(program_id: int, area: Area) -> Stored:
    """The area's figures from ``backlog_counters`` (its own rows: a few dozen whatever the area's size), and when
    they were computed. Read in one statement, so the rows and the moment belong to the same sweep."""
    rows = db.session.execute(
        text(
            """SELECT s.computed_at, s.as_of, b.kind, b.state, b.key, b.claims, b.amount_vnd
               FROM backlog_sweeps s
               LEFT JOIN backlog_counters b ON b.program_id = s.program_id AND b.level = :level
                                           AND b.area_code = :code
               WHERE s.program_id = :program_id"""
        ),
        {"program_id": program_id, "level": area.level, "code": area.district_code or area.province_code or ""},
    ).all()
    if not rows:
        return Stored({}, None, None)
    counts = {
        (row.kind, row.state, row.key): (int(row.claims), int(row.amount_vnd)) for row in rows if row.kind is not None
    }
    return Stored(counts, rows[0].computed_at, rows[0].as_of)


__all__ = [
    "AGE_BUCKETS",
    "KINDS",
    "OPEN_CASE_STATES",
    "RECEIVED_ON",
    "SLA_STATES",
    "Counts",
    "Stored",
    "age_limits",
    "by_district_sql",
    "live",
    "refresh",
    "rule_params",
    "stored",
]
