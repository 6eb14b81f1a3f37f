"""Reconciliation: our payments of one provider on one Vietnam day against the provider's statement of that day.

Our side, for ``provider`` and the day (Asia/Ho_Chi_Minh, midnight to midnight):

- **settlements**: payments whose ``settled_at`` fell on the day, ``paid`` or since ``returned`` (they settled that
  day and came back later);
- **returns**: payments that had settled and whose return (the ``payment_events`` row to ``returned``) happened
  that day.

Both at the provider's time, as its statement books them: ``settled_at`` is the provider's time of the settlement,
and a return's time is its event's ``at`` (the time the provider gave, see
:func:`disburse.payments.service.transition_many`), else when the event was written (a return recorded by hand, or
news without a time). A booking of yesterday that we heard of today is yesterday's on both sides.

Their side is the statement's entries (:class:`~disburse.payments.providers.StatementEntry`), by reference and
kind; the same reference twice in one kind counts with the sum of its amounts (a transfer booked twice shows as an
amount that differs). Every difference is ``ours_only`` (we say it settled or came back, the statement does not
have it), ``theirs_only`` or ``amount_differs``, for a settlement or a return, with both amounts; and
``beyond_owed``: a return on the statement brought back more than its recovery still owed (a refund recorded at the
office before, or a write-off), so the fund holds money nobody is owed (ours: what the return recovered).

Set-based: the statement goes into a temporary table with ``COPY`` and one statement compares, counts and writes
the :class:`~disburse.payments.models.Reconciliation` row; a day of a million payments is never a million ORM
objects. In the same transaction, each owed :class:`~disburse.payments.models.Recovery` whose payment's return is on
the statement becomes ``recovered`` (the money is back in the fund's account). Runs of the same provider and day
take turns (an advisory lock); running again records another row and changes nothing else.

Flush, never commit: the caller commits (the CLI, the nightly task).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from disburse.extensions import db
from disburse.payments.adapters import provider_for
from disburse.payments.providers import StatementEntry

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
#: The providers whose statement disburse can fetch itself; the others' comes as a file (``camt.053``) or not at all.
FETCHABLE = ("sandbox",)
KINDS = ("ours_only", "theirs_only", "amount_differs", "beyond_owed")

_TEMP = "pg_temp.reconcile_statement"

_OURS_AND_THEIRS = f"""
WITH ours AS (
    SELECT p.provider_reference AS reference, 'settlement' AS entry, p.amount_vnd
    FROM payments p
    WHERE p.provider = :provider AND p.state IN ('paid', 'returned')
      AND p.settled_at >= :start AND p.settled_at < :end
    UNION ALL
    SELECT p.provider_reference, 'return', p.amount_vnd
    FROM payments p
    WHERE p.provider = :provider AND p.state = 'returned' AND p.settled_at IS NOT NULL
      AND EXISTS (
          SELECT 1 FROM payment_events e
          WHERE e.payment_id = p.id AND e.to_state = 'returned'
            AND coalesce(CAST(e.data ->> 'at' AS timestamptz), e.created_at) >= :start
            AND coalesce(CAST(e.data ->> 'at' AS timestamptz), e.created_at) < :end
      )
),
theirs AS (
    SELECT reference, kind AS entry, sum(amount_vnd)::bigint AS amount_vnd FROM {_TEMP} GROUP BY reference, kind
),
compared AS (
    SELECT coalesce(o.reference, t.reference) AS reference, coalesce(o.entry, t.entry) AS entry,
           o.amount_vnd AS ours_vnd, t.amount_vnd AS theirs_vnd,
           CASE WHEN t.amount_vnd IS NULL THEN 'ours_only' WHEN o.amount_vnd IS NULL THEN 'theirs_only'
                WHEN o.amount_vnd <> t.amount_vnd THEN 'amount_differs' END AS kind
    FROM ours o FULL JOIN theirs t ON t.reference = o.reference AND t.entry = o.entry
    UNION ALL
    -- Money back in the fund beyond what its recovery still owed (after a refund recorded at the office, or a
    -- write-off): this statement's return less what this statement recovered (this run, or an earlier one of it).
    SELECT p.provider_reference, 'return', coalesce(taken.vnd, 0), t.amount_vnd, 'beyond_owed'
    FROM recoveries r
    JOIN payments p ON p.id = r.payment_id
    JOIN theirs t ON t.reference = p.provider_reference AND t.entry = 'return'
    LEFT JOIN LATERAL (
        SELECT sum(e.recovered_vnd)::bigint AS vnd FROM recovery_events e
        WHERE e.recovery_id = r.id AND e.statement = :statement
    ) taken ON true
    WHERE p.provider = :provider AND t.amount_vnd > coalesce(taken.vnd, 0)
),
found AS (
    SELECT count(*) FILTER (WHERE kind IS NULL) AS matched,
           coalesce(
               jsonb_agg(
                   jsonb_build_object('kind', kind, 'entry', entry, 'reference', reference,
                                      'ours_vnd', ours_vnd, 'theirs_vnd', theirs_vnd)
                   ORDER BY kind, entry DESC, reference
               ) FILTER (WHERE kind IS NOT NULL),
               '[]'::jsonb
           ) AS details
    FROM compared
)
INSERT INTO reconciliations (provider, day, matched, differences, details)
SELECT :provider, :day, matched, jsonb_array_length(details), details FROM found
RETURNING id, ran_at, matched, details
"""

#: An owed recovery whose payment's return is on the statement: what came back is added to what was recovered, up to
#: what is owed (all of it: recovered; part of it, a bank that returned less or in parts over several days: the rest
#: stays owed). Each statement's return is counted once per recovery (its event names the statement), however often
#: the statement is read.
_RECOVERED = f"""
WITH returned AS (
    SELECT reference, sum(amount_vnd)::bigint AS amount_vnd FROM {_TEMP} WHERE kind = 'return' GROUP BY reference
), hit AS (
    SELECT r.id, least(r.amount_vnd - r.recovered_vnd, s.amount_vnd) AS step
    FROM recoveries r
    JOIN payments p ON p.id = r.payment_id
    JOIN returned s ON s.reference = p.provider_reference
    WHERE p.provider = :provider AND r.state = 'owed'
      AND NOT EXISTS (SELECT 1 FROM recovery_events e WHERE e.recovery_id = r.id AND e.statement = :statement)
    FOR UPDATE OF r
), moved AS (
    UPDATE recoveries r
    SET recovered_vnd = r.recovered_vnd + h.step,
        state = CASE WHEN r.recovered_vnd + h.step >= r.amount_vnd THEN 'recovered' ELSE r.state END,
        updated_at = now()
    FROM hit h
    WHERE r.id = h.id AND h.step > 0
    RETURNING r.id, r.state, h.step
), recorded AS (
    INSERT INTO recovery_events (recovery_id, from_state, to_state, recovered_vnd, note, statement)
    SELECT id, 'owed', state, step, CAST(:note AS text), CAST(:statement AS text) FROM moved
)
SELECT id, state FROM moved
"""


class NoStatement(LookupError):
    """The provider has no statement disburse can fetch (bank files: bring the bank's ``camt.053``; cash: none)."""

    def __init__(self, provider: str) -> None:
        self.message_vi = (
            f"Không lấy được sao kê của '{provider}' tự động; với tệp ngân hàng, dùng --file với tệp camt.053."
        )
        self.message_en = f"The '{provider}' provider has no statement to fetch; for bank files, give --file camt.053."
        super().__init__(f"{self.message_vi} / {self.message_en}")


#: (kind, entry) → what it means, Vietnamese and English.
DIFFERENCE_LABELS: dict[tuple[str, str], tuple[str, str]] = {
    ("ours_only", "settlement"): ("Ta ghi đã chi, sao kê không có", "Paid here, not on the statement"),
    ("theirs_only", "settlement"): ("Sao kê có, ta không ghi đã chi", "On the statement, not paid here"),
    ("amount_differs", "settlement"): ("Số tiền chi khác nhau", "Settled amounts differ"),
    ("ours_only", "return"): ("Ta ghi bị trả lại, sao kê không có", "Returned here, not on the statement"),
    ("theirs_only", "return"): ("Sao kê có khoản trả lại, ta không ghi", "Returned on the statement, not here"),
    ("amount_differs", "return"): ("Số tiền trả lại khác nhau", "Returned amounts differ"),
    ("beyond_owed", "return"): (
        "Tiền trả lại về Quỹ vượt số còn phải thu (đã thu tại cơ quan hoặc đã xoá nợ): hoàn lại cho người lao động "
        "hoặc ghi nhận lại khoản thu hồi",
        "Money back in the fund beyond what was still owed (refunded at the office, or written off): pay it back to "
        "the person or record the recovery again",
    ),
}


@dataclass(frozen=True)
class Difference:
    #: ours_only | theirs_only | amount_differs
    kind: str
    #: settlement | return
    entry: str
    reference: str
    ours_vnd: int | None
    theirs_vnd: int | None

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> Difference:
        return cls(
            detail["kind"], detail["entry"], detail["reference"], detail.get("ours_vnd"), detail.get("theirs_vnd")
        )


@dataclass(frozen=True)
class ReconcileResult:
    #: The ``reconciliations`` row this run recorded.
    id: int
    provider: str
    day: date
    ran_at: datetime
    #: Settlements and returns found alike on both sides.
    matched: int
    differences: list[Difference]
    #: Entries on the statement, and recoveries this run marked recovered.
    statement_entries: int
    recovered: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "provider": self.provider,
            "day": self.day.isoformat(),
            "matched": self.matched,
            "differences": len(self.differences),
            "statement_entries": self.statement_entries,
            "recovered": self.recovered,
        }


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Vietnam day, as aware datetimes."""
    start = datetime.combine(day, time.min, VIETNAM)
    return start, start + timedelta(days=1)


def fetch_statement(provider: str, day: date) -> list[StatementEntry]:
    """The provider's statement of ``day``, asked over its API. Raises :class:`NoStatement` for a provider without
    one, and the provider's :class:`~disburse.payments.providers.RetryableError` /
    :class:`~disburse.payments.providers.PermanentError`."""
    fetch = getattr(provider_for(provider), "statement", None) if provider in FETCHABLE else None
    if fetch is None:
        raise NoStatement(provider)
    entries: list[StatementEntry] = fetch(day)
    return entries


def _load(entries: Iterable[StatementEntry]) -> int:
    """The statement into a temporary table of this transaction, by ``COPY``; returns how many entries."""
    db.session.execute(text(f"DROP TABLE IF EXISTS {_TEMP}"))
    db.session.execute(
        text(
            f"CREATE TEMPORARY TABLE {_TEMP.split('.')[1]} (reference text NOT NULL, kind text NOT NULL, "
            "amount_vnd bigint NOT NULL, booked_at timestamptz NOT NULL) ON COMMIT DROP"
        )
    )
    raw: Any = db.session.connection().connection.driver_connection  # psycopg's own connection, for COPY
    count = 0
    columns = "reference, kind, amount_vnd, booked_at"
    with raw.cursor() as cursor, cursor.copy(f"COPY {_TEMP} ({columns}) FROM STDIN") as copy:
        for entry in entries:
            copy.write_row((entry.reference, entry.kind, entry.amount_vnd, entry.booked_at))
            count += 1
    db.session.execute(text(f"ANALYZE {_TEMP}"))
    return count


def reconcile(provider: str, day: date, *, statement: Iterable[StatementEntry] | None = None) -> ReconcileResult:
    """Compare ``provider``'s payments of ``day`` with its statement (``statement``, else fetched from the
    provider), record the run and mark the recoveries whose money came back; flush, never commit."""
    entries = fetch_statement(provider, day) if statement is None else statement
    db.session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"disburse.reconcile:{provider}:{day}"}
    )
    count = _load(entries)
    note = f"Sao kê {provider} ngày {day:%d/%m/%Y} / {provider} statement of {day:%d/%m/%Y}"
    recovered = db.session.execute(
        text(_RECOVERED), {"provider": provider, "note": note, "statement": f"{provider}:{day.isoformat()}"}
    ).all()
    start, end = day_bounds(day)
    row = db.session.execute(
        text(_OURS_AND_THEIRS),
        {"provider": provider, "day": day, "start": start, "end": end, "statement": f"{provider}:{day.isoformat()}"},
    ).one()
    db.session.execute(text(f"DROP TABLE {_TEMP}"))
    db.session.expire_all()  # recoveries changed under the ORM's feet
    return ReconcileResult(
        id=row.id,
        provider=provider,
        day=day,
        ran_at=row.ran_at,
        matched=row.matched,
        differences=[Difference.from_detail(detail) for detail in row.details],
        statement_entries=count,
        recovered=sum(1 for _id, state in recovered if state == "recovered"),
    )


__all__ = ["FETCHABLE", "Difference", "NoStatement", "ReconcileResult", "day_bounds", "fetch_statement", "reconcile"]
