"""The outbox's two halves: finding the news (set-based: one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` for every
unit at once, never a query per unit) and delivering what is due (:func:`deliver_due`).

Recipients of a unit's news: the unit's e-mail in the registry (no language: Vietnamese first) and every active
employer user of the unit (their own ``locale`` first); an address both have is told once, in the user's order.

Delivery, at least once, recognisably: the sender takes due rows ``FOR UPDATE SKIP LOCKED`` and moves their
``next_attempt_at`` on by :data:`LEASE` in the same short transaction (so no other sender takes them), then sends
them one by one, committing each outcome. A sender that dies between the SMTP server's acceptance and the commit
leaves the row ``queued``: after the lease it is sent again with the same ``Message-ID`` (made from the row's key and
address), which the receiving side can recognise as the same message.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from flask import current_app
from sqlalchemy import select, text, update

from disburse.background import enqueue_after_commit
from disburse.bulk import analyze_if_stale, session_connection
from disburse.extensions import db
from disburse.notifications import messages
from disburse.notifications.models import Notification
from disburse.notifications.transport import (
    FileTransport,
    PermanentFailure,
    SmtpTransport,
    TemporaryFailure,
    Transport,
)
from disburse.programs.calendar import add_working_days
from disburse.programs.models import Program

log = logging.getLogger(__name__)

#: How long a sender holds the rows it took; a sender that died leaves them due again after this. It stops sending
#: its batch after half of it (the rest are handed back), so the lease never runs out under a live sender.
LEASE = timedelta(minutes=10)

#: The recipients of each unit in ``units`` (a CTE with ``employer_id``): its registry address and its active
#: employer users, one row per address (any case), a user's row (and language) before the registry's.
_RECIPIENTS = """
    recipients AS (
        SELECT DISTINCT ON (r.employer_id, lower(r.address)) r.employer_id, r.address, r.locale
        FROM (
            SELECT e.id AS employer_id, btrim(e.email) AS address, 'vi' AS locale, 1 AS rank
            FROM employers e WHERE e.id IN (SELECT employer_id FROM units)
            UNION ALL
            SELECT u.employer_id, btrim(u.email), u.locale, 0 AS rank
            FROM users u
            WHERE u.role = 'employer' AND u.active AND u.employer_id IN (SELECT employer_id FROM units)
        ) r
        WHERE r.address ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND length(r.address) <= 254
        ORDER BY r.employer_id, lower(r.address), r.rank
    )"""

#: One row per recipient of every unit in ``units`` (``employer_id``, ``people``, ``due_on``), keyed ``:kind/
#: programme/unit/:day``, linking to the unit's ``:page``.
_INSERT = """
    INSERT INTO notifications (key, kind, program_id, employer_id, recipient, locale, params)
    SELECT :kind || '/' || p.code || '/' || e.unit_code || '/' || :day, :kind, p.id, e.id, r.address, r.locale,
           jsonb_build_object('unit_code', e.unit_code, 'unit_name', e.name, 'program_code', p.code,
                              'people', u.people, 'due_on', u.due_on,
                              'path', '/employers/' || e.unit_code || '/' || :page)
    FROM units u
    JOIN employers e ON e.id = u.employer_id
    JOIN programs p ON p.id = :program_id
    JOIN recipients r ON r.employer_id = u.employer_id
    ON CONFLICT (key, lower(recipient)) DO NOTHING"""

#: The units a list build has just listed people of: everyone on their list, and the Form 02 deadline of those
#: still listed (the earliest, as the unit's deadline banner shows it: :func:`disburse.claims.unit.unit_deadlines`).
_LIST_READY = text(
    f"""
    WITH listed AS (SELECT DISTINCT unnest(CAST(:employer_ids AS bigint[])) AS employer_id),
    units AS (
        -- Joined, not "employer_id = ANY(:employer_ids)": that tests every claim against the whole array, which for a
        -- first build (every unit listed) grows as claims × units (9.9 s for 18,364 units and 331,823 claims).
        SELECT c.employer_id, count(*) AS people,
               min(c.review_due_on) FILTER (WHERE c.state = 'listed') AS due_on
        FROM claims c JOIN listed l ON l.employer_id = c.employer_id
        WHERE c.program_id = :program_id AND c.track = 'A'
        GROUP BY c.employer_id
        HAVING min(c.review_due_on) FILTER (WHERE c.state = 'listed') IS NOT NULL
    ),
    {_RECIPIENTS}
    {_INSERT}"""
)

#: The units whose Form 02 deadline (the earliest of their people still listed, not yet passed) falls within the
#: reminder's working days, and how many of their people wait for it. Claims still ``listed`` are exactly those the
#: overdue sweeper moves once their ``review_due_on`` passes (disburse.verification.sweepers).
_REMINDERS = text(
    f"""
    WITH units AS (
        SELECT c.employer_id, count(*) AS people, min(c.review_due_on) AS due_on
        FROM claims c
        WHERE c.program_id = :program_id AND c.track = 'A' AND c.state = 'listed' AND c.confirmed_on IS NULL
          AND c.review_due_on >= :today
        GROUP BY c.employer_id
        HAVING min(c.review_due_on) <= :until
    ),
    {_RECIPIENTS}
    {_INSERT.replace("|| :day", "|| to_char(u.due_on, 'YYYY-MM-DD')")}"""
)


#: The units with people of track A waiting for new payment details (a payment failed for the account: closed,
#: blocked, unknown, or a name not the holder's), the corrections the unit sends on Form 03 until the adjustment
#: deadline (:due_on).
_DETAILS_NEEDED = text(
    f"""
    WITH units AS (
        SELECT c.employer_id, count(*) AS people, CAST(:due_on AS date) AS due_on
        FROM claims c
        WHERE c.program_id = :program_id AND c.track = 'A' AND c.state = 'awaiting_payment_details'
          AND c.employer_id IS NOT NULL
        GROUP BY c.employer_id
    ),
    {_RECIPIENTS}
    {_INSERT}"""
)


def enabled() -> bool:
    """Whether notifications are on: SMTP configured, or the file transport of Development and Test."""
    return bool(current_app.config.get("DISBURSE_MAIL_TRANSPORT", "off") != "off")


def queue_list_ready(program: Program, employer_ids: list[int] | set[int], listed_on: date) -> int:
    """Queue "your Form 01 list is ready" for each unit of ``employer_ids`` (those a list build has just listed
    people of), once per unit and listing day; in the caller's transaction, the sender asked for after its commit.
    Returns the rows queued."""
    if not employer_ids or not enabled():
        return 0
    _fresh_claim_statistics()  # the build has just written them
    queued = _rowcount(
        db.session.execute(
            _LIST_READY,
            {
                "program_id": program.id,
                "employer_ids": sorted(employer_ids),
                "kind": "form_01_ready",
                "day": listed_on.isoformat(),
                "page": "form-02",
            },
        )
    )
    _send_soon(queued)
    return queued


def _fresh_claim_statistics() -> None:
    """ANALYZE claims if a bulk load changed them since (:func:`disburse.bulk.analyze_if_stale`): with the statistics
    of an empty table the planner takes the units for one row and joins them to their recipients by a nested loop,
    units × units (74 s for 18,364 units; 0.75 s once analysed)."""
    analyze_if_stale(session_connection(), "claims")


def queue_reminders(program: Program, today: date) -> int:
    """Queue the Form 02 reminder for every unit whose deadline is at most ``DISBURSE_REMINDER_WORKING_DAYS`` working
    days away and whose people are still listed (no Form 02 yet); once per unit and deadline. Returns the rows
    queued."""
    if not enabled():
        return 0
    until = add_working_days(today, int(current_app.config["DISBURSE_REMINDER_WORKING_DAYS"]))
    _fresh_claim_statistics()
    queued = _rowcount(
        db.session.execute(
            _REMINDERS,
            {
                "program_id": program.id,
                "today": today,
                "until": until,
                "kind": "form_02_reminder",
                "page": "form-02",
            },
        )
    )
    _send_soon(queued)
    return queued


def queue_details_needed(program: Program, today: date) -> int:
    """Queue today's digest for every unit with people waiting for new payment details: how many, the Form 03
    deadline, the link to Form 03; once per unit and day. Nothing once Form 03 is no longer taken (the unit can do
    nothing more; the office corrects the details on the case page). Returns the rows queued."""
    if not enabled() or not program.takes_adjustments(today):
        return 0
    _fresh_claim_statistics()
    queued = _rowcount(
        db.session.execute(
            _DETAILS_NEEDED,
            {
                "program_id": program.id,
                "due_on": program.adjustment_deadline,
                "kind": "details_needed",
                "day": today.isoformat(),
                "page": "form-03",
            },
        )
    )
    _send_soon(queued)
    return queued


#: A message whose deadline (``due_on``, when it tells of one) has not passed by ``:today``: it may be sent again.
_IN_TIME = "coalesce(CAST(n.params->>'due_on' AS date) >= :today, true)"

#: The failed messages chosen (``:ids``, or every failed one when NULL) whose deadline has not passed: each sent again
#: to its address if that is still one of its unit's, and to each address the unit has now and the message had not
#: (a corrected e-mail in the registry, a new employer user); the same key, so each address is still told once.
_RETRY = text(
    f"""
    WITH chosen AS (
        SELECT n.id, n.key, n.kind, n.program_id, n.employer_id, n.recipient, n.params
        FROM notifications n
        WHERE n.state = 'failed' AND (CAST(:ids AS bigint[]) IS NULL OR n.id IN (SELECT unnest(CAST(:ids AS bigint[]))))
          AND {_IN_TIME}
        FOR UPDATE
    ),
    units AS (SELECT DISTINCT employer_id FROM chosen),
    {_RECIPIENTS},
    again AS (
        UPDATE notifications n
        SET state = 'queued', attempts = 0, last_error = NULL, next_attempt_at = now()
        FROM chosen c JOIN recipients r ON r.employer_id = c.employer_id AND lower(r.address) = lower(c.recipient)
        WHERE n.id = c.id
        RETURNING n.id
    ),
    added AS (
        INSERT INTO notifications (key, kind, program_id, employer_id, recipient, locale, params)
        SELECT DISTINCT ON (c.key, lower(r.address)) c.key, c.kind, c.program_id, c.employer_id, r.address, r.locale,
               c.params
        FROM chosen c JOIN recipients r ON r.employer_id = c.employer_id
        ORDER BY c.key, lower(r.address)
        ON CONFLICT (key, lower(recipient)) DO NOTHING
        RETURNING id
    )
    SELECT (SELECT count(*) FROM chosen), (SELECT count(*) FROM again), (SELECT count(*) FROM added)"""
)


#: The ids asked for that :data:`_RETRY` passes over, and why: no such message (``state`` NULL), not failed, or
#: failed with its deadline gone (``due_on``).
_PASSED_OVER = text(
    f"""
    SELECT asked.id, n.state, CAST(n.params->>'due_on' AS date) AS due_on
    FROM unnest(CAST(:ids AS bigint[])) AS asked (id) LEFT JOIN notifications n ON n.id = asked.id
    WHERE n.id IS NULL OR n.state <> 'failed' OR NOT {_IN_TIME}
    ORDER BY asked.id"""
)


@dataclass(frozen=True)
class PassedOver:
    """A message asked for that :func:`retry_failed` left as it was."""

    id: int
    #: None: there is no such message.
    state: str | None
    #: The deadline it tells of, gone (a failed message's), or None.
    due_on: date | None


@dataclass(frozen=True)
class Retried:
    """What :func:`retry_failed` did."""

    #: Failed messages chosen whose deadline has not passed.
    chosen: int
    #: Of those, queued again to the same address (still one of the unit's).
    again: int
    #: New rows: the same messages to the unit's addresses they had not been sent to.
    added: int
    #: The ids asked for that were not chosen, each with why.
    passed_over: tuple[PassedOver, ...] = ()


def retry_failed(ids: list[int] | None, today: date) -> Retried:
    """Send failed messages again (``ids``, or every failed one): to their address if it is still the unit's, and to
    the unit's current addresses they were not sent to (once its e-mail is corrected in the registry, or a user is
    added). A message whose deadline has passed (``due_on`` before ``today``) stays failed: it would tell of a
    deadline gone. The ids asked for that are not chosen come back with why (:class:`PassedOver`). In the caller's
    transaction; the sender is asked for after its commit."""
    params = {"ids": ids, "today": today}
    passed_over = tuple(PassedOver(*row) for row in db.session.execute(_PASSED_OVER, params)) if ids else ()
    chosen, again, added = db.session.execute(_RETRY, params).one()
    _send_soon(int(again) + int(added))
    return Retried(int(chosen), int(again), int(added), passed_over)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _send_soon(queued: int) -> None:
    if queued:
        # Best effort: beat's every-minute run finds them anyway.
        enqueue_after_commit("notifications.send", best_effort=True)


# --------------------------------------------------------------------------------------------------- delivery


def message_id(key: str, recipient: str, mail_from: str) -> str:
    """The same ``Message-ID`` for every attempt at one row: a resend after a crash is recognisably the same
    message."""
    digest = hashlib.sha256(f"{key}\n{recipient.lower()}".encode()).hexdigest()[:40]
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "disburse.invalid"
    return f"<{digest}.notify@{domain}>"


def build_message(row: Notification) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["DISBURSE_MAIL_FROM"]
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Message-ID"] = message_id(row.key, row.recipient, config["DISBURSE_MAIL_FROM"])
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Content-Language"] = "vi, en" if row.locale == "vi" else "en, vi"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body or "")
    return message


def transport() -> Transport:
    config = current_app.config
    if config["DISBURSE_MAIL_TRANSPORT"] == "smtp":
        return SmtpTransport(config["DISBURSE_SMTP_URL"], float(config["DISBURSE_SMTP_TIMEOUT_S"]))
    return FileTransport(config["DISBURSE_MAIL_DIR"])


def retry_wait(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th temporary failure: the base, doubled at each further one, up to the cap."""
    config = current_app.config
    base, cap = int(config["DISBURSE_MAIL_RETRY_BASE_S"]), int(config["DISBURSE_MAIL_RETRY_CAP_S"])
    return timedelta(seconds=min(cap, base * 2 ** min(max(attempts - 1, 0), 30)))


_TAKE = text(
    """
    UPDATE notifications SET next_attempt_at = now() + :lease
    WHERE id IN (SELECT id FROM notifications
                 WHERE state = 'queued' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at, id LIMIT :batch
                 FOR UPDATE SKIP LOCKED)
    RETURNING id"""
)


@dataclass
class Delivered:
    taken: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    handed_back: int = 0


def take_due(batch: int, lease: timedelta = LEASE) -> list[int]:
    """Take up to ``batch`` due rows for this sender (their lease begins) and commit; their ids, oldest due first."""
    ids = sorted(db.session.execute(_TAKE, {"lease": lease, "batch": batch}).scalars())
    db.session.commit()
    return ids


def deliver_due(*, batch: int | None = None, lease: timedelta = LEASE) -> Delivered:
    """Deliver one batch of due messages; each outcome committed as it happens. Off: nothing."""
    result = Delivered()
    if not enabled():
        return result
    ids = take_due(batch or int(current_app.config["DISBURSE_MAIL_BATCH"]), lease)
    result.taken = len(ids)
    if not ids:
        return result
    started = time.monotonic()
    with transport() as sending:
        for n, row_id in enumerate(ids):
            if time.monotonic() - started > lease.total_seconds() / 2:
                result.handed_back += _hand_back(ids[n:], timedelta(0))
                break
            row = db.session.get(Notification, row_id)
            if row is None or row.state != "queued":
                continue
            if row.subject is None or row.body is None:
                try:
                    row.subject, row.body = messages.render(
                        row.kind, row.params, row.locale, current_app.config["DISBURSE_BASE_URL"]
                    )
                except (KeyError, TypeError, ValueError) as exc:  # a row its kind cannot say: never sendable
                    log.exception("notification %s cannot be rendered", row.key)
                    row.attempts += 1
                    row.state, row.last_error = "failed", f"cannot render the message: {exc!r}"[:2000]
                    result.failed += 1
                    db.session.commit()
                    continue
            try:
                sending.send(build_message(row))
            except TemporaryFailure as exc:
                _failed_for_now(row, str(exc))
                result.failed += row.state == "failed"
                result.retrying += row.state == "queued"
                db.session.commit()
                if exc.connection:  # the server cannot be reached: the others wait as long, untried
                    result.handed_back += _hand_back(ids[n + 1 :], retry_wait(1))
                    break
                continue
            except PermanentFailure as exc:
                row.attempts += 1
                row.state, row.last_error = "failed", str(exc)[:2000]
                result.failed += 1
                log.warning("notification %s to %s failed: %s", row.key, row.recipient, exc)
                db.session.commit()
                continue
            except Exception as exc:  # not the server's answer (a bug, a message that cannot be encoded)
                log.exception("notification %s to %s could not be sent", row.key, row.recipient)
                _failed_for_now(row, f"could not send: {exc!r}")
                result.failed += row.state == "failed"
                result.retrying += row.state == "queued"
                db.session.commit()
                continue
            row.attempts += 1
            row.state, row.sent_at, row.last_error = "sent", datetime.now(UTC), None
            db.session.commit()
            result.sent += 1
    return result


def _failed_for_now(row: Notification, reason: str) -> None:
    row.attempts += 1
    row.last_error = reason[:2000]
    if row.attempts >= int(current_app.config["DISBURSE_MAIL_MAX_ATTEMPTS"]):
        row.state = "failed"
        log.warning("notification %s to %s failed after %d attempts: %s", row.key, row.recipient, row.attempts, reason)
    else:
        row.next_attempt_at = datetime.now(UTC) + retry_wait(row.attempts)


def _hand_back(ids: list[int], wait: timedelta) -> int:
    """Rows taken and not tried: due again after ``wait`` (their attempts unchanged)."""
    if not ids:
        return 0
    handed = _rowcount(
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.state == "queued")
            .values(next_attempt_at=datetime.now(UTC) + wait)
        )
    )
    db.session.commit()
    return int(handed)


def deliver_all(*, budget_s: float = 50.0, lease: timedelta = LEASE) -> Delivered:
    """Batches until nothing is due or ``budget_s`` has passed (beat runs again in a minute)."""
    total = Delivered()
    started = time.monotonic()
    while True:
        done = deliver_due(lease=lease)
        for field in ("taken", "sent", "retrying", "failed", "handed_back"):
            setattr(total, field, getattr(total, field) + getattr(done, field))
        if not done.taken or done.handed_back or time.monotonic() - started > budget_s:
            return total


def outbox(limit: int = 50, state: str | None = None) -> list[Notification]:
    """The newest rows of the outbox, newest first (``disburse notifications list``)."""
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if state:
        query = query.where(Notification.state == state)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class Health:
    """What the admins' health page says of notifications."""

    #: ``smtp``, ``file`` or ``off`` (DISBURSE_MAIL_TRANSPORT).
    transport: str
    #: The SMTP server as host:port (never its user or password), or the .eml folder; "" when off.
    where: str
    #: Rows by state (every state present, 0 when none).
    counts: dict[str, int]
    #: When the longest-waiting due message became due (None: nothing is due): minutes ago means no sender runs.
    oldest_due: datetime | None


def health() -> Health:
    config = current_app.config
    kind = str(config.get("DISBURSE_MAIL_TRANSPORT", "off"))
    where = ""
    if kind == "smtp":
        sending = SmtpTransport(str(config["DISBURSE_SMTP_URL"]), 1.0)
        where = f"{sending.host}:{sending.port}"
    elif kind == "file":
        where = str(config["DISBURSE_MAIL_DIR"])
    counts = dict.fromkeys(("queued", "sent", "failed"), 0)
    for state, n in db.session.execute(text("SELECT state, count(*) FROM notifications GROUP BY state")):
        counts[state] = int(n)
    oldest = db.session.scalar(
        text("SELECT min(next_attempt_at) FROM notifications WHERE state = 'queued' AND next_attempt_at <= now()")
    )
    return Health(kind, where, counts, oldest)
