"""The sandbox bank's work: take batches, settle them after a delay (some fail, a few settled ones come back later),
book every movement in the ledger, and tell the sender by signed callbacks, retried until they arrive.

Every decision is a function of (seed, reference, what is decided), so a seeded sandbox decides the same way
whatever the order in which it meets transfers; without a seed it draws from the operating system.

G2P Connect statuses: ``rcvd`` (taken), ``pdng`` (on its way), ``succ`` (credited), ``rjct`` (not paid, with a
reason code).

**Bulk mode** (``Sandbox(..., bulk=True)``, ``DISBURSE_SANDBOX_BULK=1``; for rehearsals at national scale): the same
decisions (the same seeded :meth:`Sandbox.draw`, taken in Python), applied set-based: a pass takes thousands of
transfers, moves them with one ``UPDATE … FROM unnest(…)``, books their ledger rows with one ``INSERT … SELECT`` and
writes one callback per batch. The guarantees are the database's in both modes (the UNIQUE reference, the ledger's
UNIQUE (transfer, kind, direction), rows locked ``FOR UPDATE SKIP LOCKED``), so a reference never moves twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import ssl
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select
from standardwebhooks.webhooks import Webhook

from disburse.bulk import any_of, may_skip_reference_triggers
from disburse.sandbox.messages import DisburseRequest
from disburse.sandbox.models import batches, callbacks, ledger, transfers

log = logging.getLogger(__name__)

#: Take a batch's transfers unless their reference is already there, in one statement: the request's transfers as
#: one JSON array of rows (``jsonb_array_elements``, in the request's order, so transfer ids follow it; a JSON
#: document costs PostgreSQL less to read than six text arrays cost the driver to write), ``ON CONFLICT DO NOTHING``
#: on the UNIQUE reference deciding, also between concurrent requests (the second waits for the first to commit,
#: then takes nothing) and within one request (a reference given twice is taken once). Returns the references taken.
_TAKE = text(
    """
    INSERT INTO sandbox.transfers (batch_id, reference_id, payer_fa, payee_fa, payee_name, amount_vnd, currency_code,
                                   note, status, received_at)
    SELECT :batch_id, d.item ->> 0, d.item ->> 1, d.item ->> 2, d.item ->> 3, CAST(d.item ->> 4 AS bigint), 'VND',
           d.item ->> 5, 'rcvd', :now
    FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS d(item, n)
    ORDER BY d.n
    ON CONFLICT (reference_id) DO NOTHING
    RETURNING reference_id
    """
)

#: The realistic ways a transfer to a Vietnamese bank account fails, with what the bank says.
FAILURES = (
    ("rjct.payee_fa.closed", "The payee's account is closed"),
    ("rjct.payee_name.mismatch", "The payee's name does not match the account holder's"),
    ("rjct.payee_fa.invalid", "No such account at the payee's bank"),
    ("rjct.bank.timeout", "The payee's bank did not answer in time"),
)
DUPLICATE = "rjct.reference_id.duplicate"
#: G2P Connect has no "returned" status: a settled transfer that the payee's bank sends back is reported as ``rjct``
#: with this reason code (after an earlier ``succ``), and booked as a reversing ledger entry.
RETURNED = "rjct.returned"
#: Statement days are Vietnam's days.
BANK_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: Callback retries: 1 s, 2 s, 4 s … capped at 10 minutes, then the sandbox gives up after MAX_ATTEMPTS.
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 600.0
MAX_ATTEMPTS = 15
#: While one deliverer is calling a URL, others leave the callback alone for this long.
DELIVERY_LEASE_S = 30.0
#: Transfers a pass takes: row by row in the normal mode, set-based in bulk mode.
PASS_LIMIT = 500
BULK_PASS_LIMIT = 10_000
#: At most this many statuses in one callback (about 1.5 MB of JSON), whatever the pass size.
BULK_CALLBACK_ITEMS = 10_000

#: Bulk mode: the transfers decided in Python, moved by one statement, their ledger rows by ``INSERT … SELECT`` from
#: the rows it moved (payer debited and payee credited for a settlement, the reverse for a return), in transfer id
#: order, payer side first, as the normal mode books them.
_BULK_MOVE = text(
    """
    WITH decided AS (
        SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:codes AS text[]),
                             CAST(:messages AS text[]), CAST(:checked AS boolean[]))
            AS d(id, status, code, message, checked)
    ),
    moved AS (
        UPDATE sandbox.transfers t
        SET status = d.status, reason_code = d.code, reason_message = d.message,
            settled_at = CASE WHEN :kind = 'settlement' THEN CASE WHEN d.status = 'succ' THEN :now END
                              ELSE t.settled_at END,
            returned_at = CASE WHEN :kind = 'return' THEN :now ELSE t.returned_at END,
            return_checked = d.checked
        FROM decided d
        WHERE t.id = d.id
        RETURNING t.id, t.reference_id, t.status, t.payer_fa, t.payee_fa, t.amount_vnd
    )
    INSERT INTO sandbox.ledger (transfer_id, reference_id, kind, account, direction, amount_vnd, booked_at)
    SELECT m.id, m.reference_id, :kind, side.account, side.direction, m.amount_vnd, :now
    FROM moved m
    CROSS JOIN LATERAL (VALUES (1, m.payer_fa, CASE WHEN :kind = 'settlement' THEN 'debit' ELSE 'credit' END),
                               (2, m.payee_fa, CASE WHEN :kind = 'settlement' THEN 'credit' ELSE 'debit' END))
        AS side(n, account, direction)
    WHERE :kind = 'return' OR m.status = 'succ'
    ORDER BY m.id, side.n
    """
)


_REPLICA = text("SET LOCAL session_replication_role = replica")
_ORIGIN = text("SET LOCAL session_replication_role = origin")

#: For the settlement pass's one read: no bitmap scan and no sort, so the only plan left is the open transfers'
#: index in id order (``ix_transfers_open_by_id``); then back to the planner's own choices for the writes.
_WALK_THE_INDEX = text("SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true)")
_PLAN_FREELY = text("SELECT set_config('enable_bitmapscan', 'on', true), set_config('enable_sort', 'on', true)")


@cache
def _tls() -> ssl.SSLContext:
    """The callbacks' TLS settings (httpx's defaults), made once: building them for each delivery pass cost more
    than the deliveries (a CA bundle read and parsed, about 5 ms)."""
    return httpx.create_ssl_context()


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


#: How often a pass starts its walk from the first transfer again (see ``_Walk``).
WALK_RESET_S = 30.0
_LAST_ID = text("SELECT max(id) FROM sandbox.transfers")


@dataclass
class _Walk:
    """Where a settlement or return pass starts its walk of a partial index in id order: at the lowest id the last
    pass took. The transfers before it were taken, and the index still holds their entries until no transaction
    older than the move is running (a bank that settles thousands a second while a long statement runs elsewhere
    keeps hundreds of thousands of them), each a visit to the table to find it gone: walked from the first id every
    half second, that was most of a pass. Every ``WALK_RESET_S`` a pass starts from the first id again, for a
    transfer another settler skipped past and then gave back, or one that came in late with a lower id; and at once
    when the ids started again (the tables emptied, as the tests do between examples)."""

    start: int = 0
    restart_at: float = 0.0

    def begin(self, conn: Connection) -> int:
        restarted = self.start > 0 and (conn.execute(_LAST_ID).scalar() or 0) < self.start
        if restarted or monotonic() >= self.restart_at:
            self.start, self.restart_at = 0, monotonic() + WALK_RESET_S
        return self.start

    def took(self, ids: Sequence[int]) -> None:
        if ids:
            self.start = max(self.start, min(ids))


@dataclass
class Sandbox:
    """One sandbox bank: its database and its behaviour."""

    engine: Engine
    delay_s: float
    failure_rate: float
    return_rate: float
    #: One or more ``whsec_…`` secrets; every callback carries a signature with each (key rotation).
    webhook_secrets: Sequence[str]
    seed: int | None = None
    sender_id: str = "sandbox-bank"
    callback_timeout_s: float = 5.0
    backoff_base_s: float = BACKOFF_BASE_S
    #: Settle, return and build callbacks set-based (see the module's docstring); the same decisions.
    bulk: bool = False
    #: The payer's limit per transfer, in VND (None: none but the format's): a message with a transfer above it is
    #: refused whole, naming the item's amount, as a real bank refuses a transfer over the fund account's limit. The
    #: sender's fault, not the payee's: disburse holds such an order back (it stays sent) and tries it again later.
    #: May be changed while the bank runs (the fund had its limit raised).
    max_amount_vnd: int | None = None
    _signers: list[Webhook] = field(init=False, repr=False)
    _settle_walk: _Walk = field(default_factory=_Walk, init=False, repr=False)
    _return_walk: _Walk = field(default_factory=_Walk, init=False, repr=False)
    _skip_checks: bool | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.webhook_secrets:
            raise ValueError("the sandbox needs a webhook secret (whsec_…) to sign its callbacks")
        self._signers = [Webhook(secret) for secret in self.webhook_secrets]

    # ------------------------------------------------------------------------------------------ decisions

    def draw(self, reference_id: str, purpose: str) -> float:
        """A number in [0, 1) for this reference and purpose: fixed by the seed, else random."""
        if self.seed is None:
            return secrets.randbelow(2**53) / 2**53
        digest = hashlib.sha256(f"{self.seed}:{purpose}:{reference_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def outcome(self, reference_id: str) -> tuple[str, str | None, str | None]:
        """``succ`` or ``rjct`` with a reason, for a transfer being settled."""
        if self.draw(reference_id, "fail") >= self.failure_rate:
            return "succ", None, None
        code, message = FAILURES[int(self.draw(reference_id, "reason") * len(FAILURES))]
        return "rjct", code, message

    def will_return(self, reference_id: str, status: str) -> bool:
        """Whether a transfer being settled with ``status`` will come back later (``return_rate`` of the settled
        ones). Decided once, at settlement: the others are never looked at again by the return passes."""
        return status == "succ" and self.draw(reference_id, "return") < self.return_rate

    # --------------------------------------------------------------------------------------------- intake

    def accept(self, request: DisburseRequest, now: datetime | None = None) -> tuple[str, list[str]]:
        """Keep a checked batch: its transfers ``rcvd``, except references the sandbox already has, which are never
        taken again (the UNIQUE reference and ``ON CONFLICT DO NOTHING`` decide, also between concurrent requests)
        and are reported ``rjct.reference_id.duplicate`` by callback. Returns the correlation id and the duplicates."""
        now = now or _now()
        correlation_id = f"sbx-{uuid.uuid4().hex}"
        with self.engine.begin() as conn:
            batch_id = conn.execute(
                insert(batches)
                .values(
                    transaction_id=request.transaction_id,
                    correlation_id=correlation_id,
                    message_id=request.message_id,
                    sender_id=request.sender_id,
                    sender_uri=request.sender_uri,
                    received_at=now,
                )
                .returning(batches.c.id)
            ).scalar_one()
            rows = [
                (d.reference_id, d.payer_fa, d.payee_fa, d.payee_name, d.amount_vnd, d.note)
                for d in request.disbursements
            ]
            params = {"batch_id": batch_id, "now": now, "rows": json.dumps(rows, ensure_ascii=False)}
            taken = set(conn.scalars(_TAKE, params).all())
            duplicates = []
            seen: set[str] = set()
            for d in request.disbursements:
                if d.reference_id in taken and d.reference_id not in seen:
                    seen.add(d.reference_id)
                else:
                    duplicates.append(d.reference_id)
            if duplicates:
                items = [
                    {
                        "reference_id": ref,
                        "timestamp": _iso(now),
                        "status": "rjct",
                        "status_reason_code": DUPLICATE,
                        "status_reason_message": (
                            "The bank already has a transfer with this reference; it is not moved again"
                        ),
                    }
                    for ref in duplicates
                ]
                self._enqueue(conn, request.sender_uri, request.transaction_id, correlation_id, items, now)
        return correlation_id, duplicates

    # ------------------------------------------------------------------------------------------- settling

    def _limit(self, limit: int | None) -> int:
        return limit if limit is not None else BULK_PASS_LIMIT if self.bulk else PASS_LIMIT

    def settle_due(self, now: datetime | None = None, *, limit: int | None = None) -> int:
        """Settle the transfers received more than ``delay_s`` ago: each one's status, its ledger entries (payer
        debited, payee credited, for a success) and its callback, in one transaction. Rows another settler holds are
        skipped. Returns how many were settled."""
        now = now or _now()
        cutoff = now - timedelta(seconds=self.delay_s)
        with self.engine.begin() as conn:
            conn.execute(
                update(transfers)
                .where(transfers.c.status == "rcvd", transfers.c.received_at > cutoff)
                .values(status="pdng")
            )
            # The oldest open transfers, walked in id order through their own index. Left to its estimates, the
            # planner read every open transfer and sorted them to keep the first few thousand: the bank's statistics
            # go stale as fast as it takes transfers, and a backlog of 500,000 made each pass 2 s instead of 20 ms.
            conn.execute(_WALK_THE_INDEX)
            due = conn.execute(
                select(transfers, batches.c.sender_uri, batches.c.transaction_id, batches.c.correlation_id)
                .join(batches, batches.c.id == transfers.c.batch_id)
                .where(
                    transfers.c.status.in_(("rcvd", "pdng")),
                    transfers.c.received_at <= cutoff,
                    transfers.c.id >= self._settle_walk.begin(conn),
                )
                .order_by(transfers.c.id)
                .limit(self._limit(limit))
                .with_for_update(of=transfers, skip_locked=True)
            ).all()
            conn.execute(_PLAN_FREELY)
            self._settle_walk.took([row.id for row in due])
            if self.bulk:
                decided = [(row, *self.outcome(row.reference_id)) for row in due]
                self._move_bulk(conn, decided, "settlement", now)
                return len(due)
            per_batch: dict[int, list[dict[str, Any]]] = {}
            for row in due:
                status, code, message = self.outcome(row.reference_id)
                conn.execute(
                    update(transfers)
                    .where(transfers.c.id == row.id)
                    .values(
                        status=status,
                        reason_code=code,
                        reason_message=message,
                        settled_at=now if status == "succ" else None,
                        return_checked=not self.will_return(row.reference_id, status),
                    )
                )
                if status == "succ":
                    self._book(conn, row, "settlement", now)
                per_batch.setdefault(row.batch_id, []).append(self._item(row, status, code, message, now))
            self._enqueue_per_batch(conn, due, per_batch, now)
        return len(due)

    def return_due(self, now: datetime | None = None, *, limit: int | None = None) -> int:
        """Send back the transfers that settlement marked to come back (:meth:`will_return`, ``return_rate`` of the
        settled ones) once they have been settled ``delay_s``: a reversing ledger entry and an ``rjct`` /
        ``rjct.returned`` callback each, and never again. Returns how many came back."""
        now = now or _now()
        cutoff = now - timedelta(seconds=self.delay_s)
        with self.engine.begin() as conn:
            due = conn.execute(returns_due(cutoff, self._return_walk.begin(conn), self._limit(limit))).all()
            self._return_walk.took([row.id for row in due])
            per_batch: dict[int, list[dict[str, Any]]] = {}
            returned = list(due)
            if self.bulk:
                message = "The payee's bank sent the money back"
                self._move_bulk(conn, [(row, "rjct", RETURNED, message) for row in returned], "return", now)
                return len(returned)
            for row in returned:
                message = "The payee's bank sent the money back"
                conn.execute(
                    update(transfers)
                    .where(transfers.c.id == row.id)
                    .values(
                        status="rjct",
                        reason_code=RETURNED,
                        reason_message=message,
                        returned_at=now,
                        return_checked=True,
                    )
                )
                self._book(conn, row, "return", now)
                per_batch.setdefault(row.batch_id, []).append(self._item(row, "rjct", RETURNED, message, now))
            self._enqueue_per_batch(conn, returned, per_batch, now)
        return len(returned)

    def _move_bulk(
        self, conn: Connection, decided: Sequence[tuple[Any, str, str | None, str | None]], kind: str, now: datetime
    ) -> None:
        """Bulk mode: the decided transfers moved by one statement with their ledger rows (:data:`_BULK_MOVE`), and
        one callback per batch (at most :data:`BULK_CALLBACK_ITEMS` statuses each), in the caller's transaction."""
        if not decided:
            return
        # Each ledger row books a transfer this statement moves (and holds locked): its per-row foreign-key check
        # would only repeat that, twice for every transfer settled. Skipped as our own bulk moves skip theirs, when
        # the role may; the ledger's append-only guard is ENABLE ALWAYS and still fires.
        replica = self._may_skip_checks(conn)
        if replica:
            conn.execute(_REPLICA)
        conn.execute(
            _BULK_MOVE,
            {
                "ids": [row.id for row, *_ in decided],
                "statuses": [status for _, status, _, _ in decided],
                "codes": [code for _, _, code, _ in decided],
                "messages": [message for _, _, _, message in decided],
                "checked": [
                    kind == "return" or not self.will_return(row.reference_id, status) for row, status, _, _ in decided
                ],
                "kind": kind,
                "now": now,
            },
        )
        if replica:
            conn.execute(_ORIGIN)
        per_batch: dict[int, list[dict[str, Any]]] = {}
        for row, status, code, message in decided:
            per_batch.setdefault(row.batch_id, []).append(self._item(row, status, code, message, now))
        firsts = {row.batch_id: row for row, *_ in reversed(decided)}
        for batch_id, items in per_batch.items():
            row = firsts[batch_id]
            for start in range(0, len(items), BULK_CALLBACK_ITEMS):
                chunk = items[start : start + BULK_CALLBACK_ITEMS]
                self._enqueue(conn, row.sender_uri, row.transaction_id, row.correlation_id, chunk, now)

    def _may_skip_checks(self, conn: Connection) -> bool:
        """Whether the bulk move may run under ``session_replication_role = replica``
        (:func:`disburse.bulk.may_skip_reference_triggers` for the bank's two tables), asked once."""
        if self._skip_checks is None:
            raw = conn.connection.driver_connection
            self._skip_checks = may_skip_reference_triggers(raw, "sandbox.transfers", "sandbox.ledger")  # type: ignore[arg-type]
        return self._skip_checks

    @staticmethod
    def _book(conn: Connection, row: Any, kind: str, now: datetime) -> None:
        """Two ledger entries: a settlement debits the payer and credits the payee; a return the reverse. The
        ledger's UNIQUE (transfer, kind, direction) refuses a second booking of the same thing."""
        payer, payee = ("debit", "credit") if kind == "settlement" else ("credit", "debit")
        conn.execute(
            insert(ledger),
            [
                {
                    "transfer_id": row.id,
                    "reference_id": row.reference_id,
                    "kind": kind,
                    "account": account,
                    "direction": direction,
                    "amount_vnd": row.amount_vnd,
                    "booked_at": now,
                }
                for account, direction in ((row.payer_fa, payer), (row.payee_fa, payee))
            ],
        )

    @staticmethod
    def _item(row: Any, status: str, code: str | None, message: str | None, now: datetime) -> dict[str, Any]:
        item: dict[str, Any] = {
            "reference_id": row.reference_id,
            "timestamp": _iso(now),
            "status": status,
            "amount": str(row.amount_vnd),
            "currency_code": row.currency_code,
        }
        if code:
            item["status_reason_code"] = code
            item["status_reason_message"] = message
        return item

    def _enqueue_per_batch(
        self, conn: Connection, rows: Sequence[Any], per_batch: dict[int, list[dict[str, Any]]], now: datetime
    ) -> None:
        firsts = {row.batch_id: row for row in reversed(rows)}
        for batch_id, items in per_batch.items():
            row = firsts[batch_id]
            self._enqueue(conn, row.sender_uri, row.transaction_id, row.correlation_id, items, now)

    def _enqueue(
        self,
        conn: Connection,
        url: str,
        transaction_id: str,
        correlation_id: str,
        items: list[dict[str, Any]],
        now: datetime,
    ) -> None:
        """Put an ``on-disburse`` callback in the outbox, in the caller's transaction: it exists exactly when the
        statuses it reports do."""
        event_id = f"msg_{uuid.uuid4().hex}"
        body = {
            "signature": None,
            "header": {
                "version": "1.0.0",
                "message_id": event_id,
                "message_ts": _iso(now),
                "action": "on-disburse",
                "status": "succ",
                "total_count": len(items),
                "completed_count": len(items),
                "sender_id": self.sender_id,
            },
            "message": {
                "transaction_id": transaction_id,
                "correlation_id": correlation_id,
                "disbursements_status": items,
            },
        }
        conn.execute(
            insert(callbacks).values(
                event_id=event_id,
                url=url,
                body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                next_attempt_at=now,
                created_at=now,
            )
        )

    # ----------------------------------------------------------------------------------------- callbacks

    def sign(self, event_id: str, body: str, moment: datetime | None = None) -> dict[str, str]:
        """Standard Webhooks headers: ``v1,<base64 HMAC-SHA256 of id.timestamp.body>`` with every secret."""
        moment = moment or _now()
        signatures = " ".join(signer.sign(event_id, moment, body) for signer in self._signers)
        return {
            "webhook-id": event_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signatures,
            "content-type": "application/json",
        }

    def deliver_due(self, now: datetime | None = None, *, limit: int = 50) -> int:
        """Send the callbacks that are due (at least once: a callback is marked delivered only after a 2xx). A
        failure is tried again later, 1 s, 2 s, 4 s … apart. Returns how many were delivered."""
        now = now or _now()
        with self.engine.begin() as conn:
            due = conn.execute(
                select(callbacks.c.id, callbacks.c.event_id, callbacks.c.url, callbacks.c.body, callbacks.c.attempts)
                .where(
                    callbacks.c.delivered_at.is_(None),
                    callbacks.c.abandoned_at.is_(None),
                    callbacks.c.next_attempt_at <= now,
                )
                .order_by(callbacks.c.next_attempt_at, callbacks.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if due:  # a lease: another deliverer leaves them alone while this one calls
                conn.execute(
                    update(callbacks)
                    .where(callbacks.c.id.in_([r.id for r in due]))
                    .values(next_attempt_at=now + timedelta(seconds=DELIVERY_LEASE_S))
                )
        if not due:
            return 0
        delivered = 0
        with httpx.Client(timeout=self.callback_timeout_s, follow_redirects=False, verify=_tls()) as client:
            for row in due:
                error = self._post(client, row.event_id, row.url, row.body)
                self._record(row, error)
                delivered += error is None
        return delivered

    def _post(self, client: httpx.Client, event_id: str, url: str, body: str) -> str | None:
        try:
            response = client.post(url, content=body.encode(), headers=self.sign(event_id, body))
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        return None if response.is_success else f"HTTP {response.status_code}"

    def _record(self, row: Any, error: str | None) -> None:
        now = _now()
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_error": error}
        if error is None:
            values["delivered_at"] = now
        elif attempts >= MAX_ATTEMPTS:
            values["abandoned_at"] = now
            log.warning("sandbox: callback %s abandoned after %d attempts: %s", row.event_id, attempts, error)
        else:
            wait = min(self.backoff_base_s * 2 ** (attempts - 1), BACKOFF_CAP_S)
            values["next_attempt_at"] = now + timedelta(seconds=wait)
        with self.engine.begin() as conn:
            conn.execute(update(callbacks).where(callbacks.c.id == row.id).values(**values))

    # ---------------------------------------------------------------------------------------------- reads

    def statuses(self, *, transaction_id: str | None = None, references: Sequence[str] | None = None) -> list[Any]:
        query = select(transfers, batches.c.transaction_id).join(batches, batches.c.id == transfers.c.batch_id)
        if transaction_id is not None:
            query = query.where(batches.c.transaction_id == transaction_id)
        else:
            query = query.where(any_of(transfers.c.reference_id, references or []))
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(transfers.c.id)).all())

    def statement(self, day: date) -> list[Any]:
        """The payer side of every ledger entry booked that day (Vietnam's day): each settlement and each return."""
        start = datetime.combine(day, time.min, BANK_TZ)
        end = start + timedelta(days=1)
        query = (
            select(ledger, transfers.c.payee_fa, transfers.c.payee_name, batches.c.transaction_id)
            .join(transfers, transfers.c.id == ledger.c.transfer_id)
            .join(batches, batches.c.id == transfers.c.batch_id)
            .where(
                ledger.c.booked_at >= start,
                ledger.c.booked_at < end,
                ledger.c.account == transfers.c.payer_fa,
            )
            .order_by(ledger.c.id)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).all())

    def balances(self) -> dict[str, int]:
        """Each account's balance (credits minus debits), from the ledger."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    ledger.c.account,
                    func.coalesce(func.sum(ledger.c.amount_vnd).filter(ledger.c.direction == "credit"), 0)
                    - func.coalesce(func.sum(ledger.c.amount_vnd).filter(ledger.c.direction == "debit"), 0),
                ).group_by(ledger.c.account)
            ).all()
        return {account: int(balance or 0) for account, balance in rows}


def returns_due(cutoff: datetime, start: int, limit: int) -> Select[Any]:
    """The return pass's read: settled transfers marked to come back, settled before ``cutoff``, from id ``start`` in
    id order, through ``ix_transfers_return_due``. Its condition is the index's predicate as written
    (``NOT return_checked``): PostgreSQL does not take ``return_checked IS false`` to imply it, and then read every
    transfer the bank ever took, twice a second (2.7 s a pass at 1.8 million)."""
    return (
        select(transfers, batches.c.sender_uri, batches.c.transaction_id, batches.c.correlation_id)
        .join(batches, batches.c.id == transfers.c.batch_id)
        .where(
            transfers.c.status == "succ",
            ~transfers.c.return_checked,
            transfers.c.settled_at <= cutoff,
            transfers.c.id >= start,
        )
        .order_by(transfers.c.id)
        .limit(limit)
        .with_for_update(of=transfers, skip_locked=True)
    )


class Settler:
    """The sandbox's clock: a daemon thread that settles, returns and delivers every ``interval_s``, until stopped."""

    def __init__(self, sandbox: Sandbox, interval_s: float = 0.5) -> None:
        self.sandbox = sandbox
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-settler", daemon=True)

    def start(self) -> Settler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def tick(self) -> None:
        self.sandbox.settle_due()
        self.sandbox.return_due()
        self.sandbox.deliver_due()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a database hiccup must not end the bank's clock: log it and go on
                log.exception("sandbox: settle pass failed")
            self._stop.wait(self.interval_s)


__all__ = ["DUPLICATE", "FAILURES", "RETURNED", "Sandbox", "Settler"]
