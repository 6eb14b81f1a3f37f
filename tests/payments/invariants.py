"""Never twice, never lost: the payment invariants, checked against our tables and the sandbox bank's own ledger and
statement, for the claims of one program. Shared by the real-worker fault tests and the property test.

The sandbox keeps its tables in the schema ``sandbox`` of the same database, so the bank's ledger is read with
plain SQL beside ours; its statement is asked for over HTTP, compared with this program's payments directly, and
handed to :func:`disburse.payments.reconcile.reconcile` for every day the bank or we booked anything on, which must
find nothing (every payment of the provider on those days: the tests that use this keep no others).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from disburse.extensions import db
from disburse.payments.reconcile import reconcile
from disburse.payments.sandbox_client import SandboxProvider
from disburse.reports import dashboard, rollups
from disburse.reports.service import Area
from tests.sandbox_bank import PAYER, SECRET, TOKEN

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
#: Where a claim may end once the sweepers have run: paid once, refused, or waiting for corrected details.
END_STATES = frozenset({"paid", "rejected", "awaiting_payment_details"})


@dataclass
class Money:
    """Our money out (payments that settled) and recoveries, and the bank's net debit of the fund's account."""

    settled: int
    recovered: int
    bank_net_debit: int


def _rows(query: str, **params: Any) -> list[Any]:
    return list(db.session.execute(text(query), params).all())


def claim_states(program_id: int) -> Counter[str]:
    return Counter(dict(_rows("SELECT state, count(*) FROM claims WHERE program_id = :p GROUP BY state", p=program_id)))


def money(program_id: int) -> Money:
    settled = _rows(
        """SELECT coalesce(sum(p.amount_vnd), 0) FROM payments p JOIN claims c ON c.id = p.claim_id
           WHERE c.program_id = :p AND p.settled_at IS NOT NULL""",
        p=program_id,
    )[0][0]
    recovered = _rows(
        """SELECT coalesce(sum(r.amount_vnd), 0) FROM recoveries r JOIN claims c ON c.id = r.claim_id
           WHERE c.program_id = :p""",
        p=program_id,
    )[0][0]
    net = _rows(
        """SELECT coalesce(sum(CASE WHEN l.direction = 'debit' THEN l.amount_vnd ELSE -l.amount_vnd END), 0)
           FROM sandbox.ledger l JOIN payments p ON p.provider_reference = l.reference_id
           JOIN claims c ON c.id = p.claim_id
           WHERE c.program_id = :p AND l.account = :payer""",
        p=program_id,
        payer=PAYER,
    )[0][0]
    return Money(int(settled), int(recovered), int(net))


def rollups_equal_a_direct_count(program_id: int) -> bool:
    drift = _rows(
        """SELECT count(*) FROM (
             (SELECT program_id, district_code, employer_id, state, count(*), sum(amount_vnd) FROM claims
              WHERE program_id = :p GROUP BY 1, 2, 3, 4
              EXCEPT
              SELECT program_id, district_code, employer_id, state, claims, amount_vnd FROM claim_counters
              WHERE program_id = :p AND claims <> 0)
             UNION ALL
             (SELECT program_id, district_code, employer_id, state, claims, amount_vnd FROM claim_counters
              WHERE program_id = :p AND claims <> 0
              EXCEPT
              SELECT program_id, district_code, employer_id, state, count(*), sum(amount_vnd) FROM claims
              WHERE program_id = :p GROUP BY 1, 2, 3, 4)) d""",
        p=program_id,
    )[0][0]
    # Every level the dashboards read (employer, district, province), as the repair sweeper counts it.
    return int(drift) == 0 and rollups.drift(program_id) == []


def recoveries_unlike_their_history(program_id: int) -> list[Any]:
    """Recoveries whose events do not add up to them: each opened once, its last event's state its state, the sums
    its events recovered its ``recovered_vnd``."""
    return _rows(
        """SELECT r.id, r.state, r.recovered_vnd, count(e.id) FILTER (WHERE e.from_state IS NULL) AS opened,
                  (array_agg(e.to_state ORDER BY e.id DESC))[1] AS last, sum(e.recovered_vnd) AS recovered
           FROM recoveries r JOIN claims c ON c.id = r.claim_id LEFT JOIN recovery_events e ON e.recovery_id = r.id
           WHERE c.program_id = :p GROUP BY r.id
           HAVING count(e.id) FILTER (WHERE e.from_state IS NULL) <> 1
               OR (array_agg(e.to_state ORDER BY e.id DESC))[1] IS DISTINCT FROM r.state
               OR sum(e.recovered_vnd) IS DISTINCT FROM r.recovered_vnd""",
        p=program_id,
    )


def failures_equal_a_direct_count(program_id: int) -> bool:
    """The dashboards' payment failures by reason, nationally and per province, equal a count over payments."""
    direct = _rows(
        """SELECT d.province_code, p.failure_code, count(*), sum(p.amount_vnd)
           FROM payments p JOIN claims c ON c.id = p.claim_id JOIN districts d ON d.code = c.district_code
           WHERE c.program_id = :p AND p.state IN ('failed', 'returned') GROUP BY 1, 2""",
        p=program_id,
    )
    national: Counter[tuple[str | None, str]] = Counter()
    provinces: dict[str, set[tuple[str | None, int, int]]] = {}
    for province, code, n, amount in direct:
        national[(code, "n")] += int(n)
        national[(code, "amount")] += int(amount)
        provinces.setdefault(province, set()).add((code, int(n), int(amount)))
    got = {(f["code"], f["payments"], f["amount_vnd"]) for f in dashboard.failures_by_reason(program_id, Area())}
    if got != {(code, national[(code, "n")], national[(code, "amount")]) for code, _ in national}:
        return False
    return all(
        {(f["code"], f["payments"], f["amount_vnd"]) for f in dashboard.failures_by_reason(program_id, Area(code))}
        == rows
        for code, rows in provinces.items()
    )


def statement_differences(bank_url: str, program_id: int) -> list[tuple[str, str, int | None, int | None]]:
    """Our settled and returned payments against the bank's statement of every day it booked them on: (kind,
    reference, ours, theirs) for each difference. (What ``disburse payments reconcile`` does for a day, done here
    directly.)"""
    ours: Counter[tuple[str, str]] = Counter()
    for reference, amount, state in _rows(
        """SELECT p.provider_reference, p.amount_vnd, p.state FROM payments p JOIN claims c ON c.id = p.claim_id
           WHERE c.program_id = :p AND p.settled_at IS NOT NULL""",
        p=program_id,
    ):
        ours[("settlement", reference)] += int(amount)
        if state == "returned":
            ours[("return", reference)] += int(amount)
    booked: list[datetime] = [
        moment for (moment,) in _rows("SELECT DISTINCT date_trunc('hour', booked_at) FROM sandbox.ledger")
    ]
    days: set[date] = {moment.astimezone(VIETNAM).date() for moment in booked}
    theirs: Counter[tuple[str, str]] = Counter()
    references = {reference for _kind, reference in ours} | {
        reference
        for (reference,) in _rows(
            "SELECT provider_reference FROM payments p JOIN claims c ON c.id = p.claim_id WHERE c.program_id = :p",
            p=program_id,
        )
    }
    with httpx.Client(base_url=bank_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as client:
        for day in sorted(days):
            answer = client.get("/statement", params={"date": day.isoformat()})
            assert answer.status_code == 200, answer.text
            for entry in answer.json()["entries"]:
                if entry["reference_id"] in references:
                    theirs[(entry["type"], entry["reference_id"])] += int(entry["amount"])
    return [
        (kind, reference, ours.get((kind, reference)), theirs.get((kind, reference)))
        for kind, reference in sorted(set(ours) | set(theirs))
        if ours.get((kind, reference)) != theirs.get((kind, reference))
    ]


def booking_days() -> list[date]:
    """The Vietnam days on which the bank booked anything, or we say a payment settled or came back (at the bank's
    time, as :mod:`disburse.payments.reconcile` reads it: a booking just before midnight that we applied just after
    is the earlier day's on both sides, so the invariant does not depend on when the test runs)."""
    moments = _rows(
        """SELECT DISTINCT date_trunc('hour', booked_at) FROM sandbox.ledger
           UNION SELECT DISTINCT date_trunc('hour', settled_at) FROM payments WHERE settled_at IS NOT NULL
           UNION SELECT DISTINCT date_trunc('hour', coalesce(CAST(data ->> 'at' AS timestamptz), created_at))
                 FROM payment_events WHERE to_state = 'returned'"""
    )
    return sorted({moment.astimezone(VIETNAM).date() for (moment,) in moments})


def reconcile_differences(bank_url: str) -> list[Any]:
    """What ``disburse payments reconcile`` finds, for the sandbox, on every day anything was booked (its rows and
    the recoveries it marks are rolled back)."""
    provider = SandboxProvider(bank_url, token=TOKEN, webhook_secret=SECRET, callback_url="http://127.0.0.1:9/")
    try:
        found = [
            d
            for day in booking_days()
            for d in reconcile("sandbox", day, statement=provider.statement(day)).differences
        ]
    finally:
        provider.close()
        db.session.rollback()
    return found


def assert_never_twice_never_lost(bank_url: str, program_id: int, *, allowed: frozenset[str] = END_STATES) -> None:
    """Every claim of the program at an end (``allowed``), none paid twice by us or by the bank, our payments where
    the bank says they are, the rollups equal a direct count, the statement agrees with us, and money out minus
    recoveries is the bank's net debit of the fund's account."""
    db.session.rollback()  # a fresh snapshot (committed data) or a no-op savepoint rollback (the test transaction)
    states = claim_states(program_id)
    assert set(states) <= allowed, f"claims not at an end: {dict(states)}"

    # None stuck: no payment queued or sent, no batch open.
    live = _rows(
        """SELECT p.state, count(*) FROM payments p JOIN claims c ON c.id = p.claim_id
           WHERE c.program_id = :p AND p.state IN ('queued', 'sent') GROUP BY p.state""",
        p=program_id,
    )
    assert live == [], f"payments still on their way: {live}"
    open_batches = _rows("SELECT id FROM payment_batches WHERE program_id = :p AND state = 'open'", p=program_id)
    assert open_batches == [], f"batches never sent: {open_batches}"

    # Never twice, ours: a paid claim has exactly one paid payment, any other claim none; one live payment at most.
    wrong = _rows(
        """SELECT c.id, c.state, count(p.id) FILTER (WHERE p.state = 'paid') AS paid,
                  count(p.id) FILTER (WHERE p.state IN ('queued', 'sent', 'paid')) AS live
           FROM claims c LEFT JOIN payments p ON p.claim_id = c.id
           WHERE c.program_id = :p GROUP BY c.id, c.state
           HAVING count(p.id) FILTER (WHERE p.state = 'paid') <> CASE WHEN c.state = 'paid' THEN 1 ELSE 0 END
               OR count(p.id) FILTER (WHERE p.state IN ('queued', 'sent', 'paid')) > 1""",
        p=program_id,
    )
    assert wrong == [], f"claims whose payments do not match their state: {wrong[:10]}"

    # Never twice, the bank's own ledger: no reference settled twice, and per claim the fund's account is debited,
    # net of returns, the claim's amount if it is paid and nothing otherwise.
    twice = _rows(
        """SELECT reference_id, count(*) FROM sandbox.ledger
           WHERE kind = 'settlement' AND account = :payer GROUP BY reference_id HAVING count(*) > 1""",
        payer=PAYER,
    )
    assert twice == [], f"references the bank moved twice: {twice[:10]}"
    net = _rows(
        """SELECT c.id, c.state, c.amount_vnd,
                  coalesce(sum(CASE WHEN l.direction = 'debit' THEN l.amount_vnd ELSE -l.amount_vnd END), 0)
           FROM claims c
           LEFT JOIN payments p ON p.claim_id = c.id
           LEFT JOIN sandbox.ledger l ON l.reference_id = p.provider_reference AND l.account = :payer
           WHERE c.program_id = :p GROUP BY c.id, c.state, c.amount_vnd""",
        p=program_id,
        payer=PAYER,
    )
    off = [
        (cid, state, amount, debit) for cid, state, amount, debit in net if debit != (amount if state == "paid" else 0)
    ]
    assert off == [], f"claims the bank paid other than once (id, state, amount, net debit): {off[:10]}"

    # Our payments where the bank says they are (a payment the bank never saw failed as refused, or never left).
    disagree = _rows(
        """SELECT p.provider_reference, p.state, t.status, t.reason_code
           FROM payments p JOIN claims c ON c.id = p.claim_id
           LEFT JOIN sandbox.transfers t ON t.reference_id = p.provider_reference
           WHERE c.program_id = :p AND p.provider = 'sandbox' AND NOT (
                 (p.state = 'paid' AND t.status = 'succ')
              OR (p.state = 'returned' AND t.status = 'rjct' AND t.reason_code = 'rjct.returned')
              OR (p.state = 'failed' AND t.status = 'rjct' AND t.reason_code <> 'rjct.returned'))""",
        p=program_id,
    )
    assert disagree == [], f"payments where the bank says otherwise: {disagree[:10]}"

    assert rollups_equal_a_direct_count(program_id), "the rollups differ from a direct count"
    assert failures_equal_a_direct_count(program_id), "the dashboards' failures differ from a direct count"
    assert recoveries_unlike_their_history(program_id) == []
    assert statement_differences(bank_url, program_id) == []
    assert reconcile_differences(bank_url) == []
    out = money(program_id)
    assert out.settled - out.recovered == out.bank_net_debit, out
    assert booking_days() or not out.settled, "money moved, yet no day to reconcile"


__all__ = [
    "END_STATES",
    "Money",
    "assert_never_twice_never_lost",
    "booking_days",
    "claim_states",
    "failures_equal_a_direct_count",
    "money",
    "reconcile_differences",
    "rollups_equal_a_direct_count",
    "statement_differences",
]
