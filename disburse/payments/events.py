"""Provider callbacks: kept exactly as received, then applied by the ``provider-events`` queue.

The endpoint (:mod:`disburse.payments.api`) only checks the signature and stores the callback
(:func:`store_event`): fast, so the provider is answered at once. A callback whose signature does not check out is
kept too, never applied, for audit, for ``DISBURSE_REFUSED_CALLBACK_DAYS`` (:func:`delete_refused`, by the payments
sweeper; how many are kept at most is the endpoint's rate limit on refusals). A worker applies the stored callbacks
in batches (:func:`apply_stored`): their updates together, through :func:`disburse.payments.status.apply_updates`,
which is safe in any order and any number of times; the event id, unique per provider among signed callbacks,
makes a redelivered callback a no-op.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from disburse.extensions import db
from disburse.payments.adapters import provider_for
from disburse.payments.models import ProviderEvent
from disburse.payments.providers import CallbackProvider, PermanentError, ProviderError, StatusUpdate
from disburse.payments.status import Applied, apply_updates

log = logging.getLogger(__name__)

#: What is kept of a refused callback: enough to see what it was, not a way to fill the database.
MAX_REFUSED_BODY = 4096
#: Headers worth keeping (the rest may hold a proxy's cookies or tokens).
KEPT_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent")

_TAKE_TURNS = text("SELECT pg_advisory_xact_lock(hashtext('disburse.payments.apply_events'))")

_INSERT_SIGNED = text(
    """INSERT INTO provider_events (provider, event_id, payload, body, headers, signature_ok)
       VALUES (:provider, :event_id, CAST(:payload AS jsonb), :body, CAST(:headers AS jsonb), true)
       ON CONFLICT (provider, event_id) WHERE signature_ok DO NOTHING
       RETURNING id"""
)


#: The longest ``webhook-id`` a signed callback may carry (``provider_events.event_id``): a longer one is refused
#: (:func:`event_id_too_long`), never cut, since two callbacks whose ids share their first characters would be taken
#: for one, and the second answered "duplicate" and never applied.
MAX_EVENT_ID = 100


def _kept(headers: Mapping[str, str]) -> dict[str, str]:
    plain = {key.lower(): value for key, value in headers.items()}
    return {key: plain[key][:1000] for key in KEPT_HEADERS if key in plain}


def _webhook_id(headers: Mapping[str, str]) -> str:
    return next((value for key, value in headers.items() if key.lower() == "webhook-id"), "")


def event_id_too_long(headers: Mapping[str, str]) -> bool:
    return len(_webhook_id(headers)) > MAX_EVENT_ID


def store_event(provider: str, payload: Any, body: bytes, headers: Mapping[str, str]) -> int | None:
    """Keep a verified callback; flush. Its id, or None when the provider sent this event before. A ``webhook-id``
    over :data:`MAX_EVENT_ID` is the caller's to refuse first (a ValueError here)."""
    if event_id_too_long(headers):
        raise ValueError(f"a webhook-id has at most {MAX_EVENT_ID} characters")
    kept = _kept(headers)
    event_id = _webhook_id(headers)
    return cast(
        "int | None",
        db.session.execute(
            _INSERT_SIGNED,
            {
                "provider": provider,
                "event_id": event_id,
                "payload": json.dumps(payload, ensure_ascii=False),
                "body": body.decode("utf-8", "replace"),
                "headers": json.dumps(kept),
            },
        ).scalar(),
    )


def store_refused(provider: str, body: bytes, headers: Mapping[str, str], error: str) -> None:
    """Keep a callback whose signature did not check out (never applied); flush."""
    kept = _kept(headers)
    db.session.add(
        ProviderEvent(
            provider=provider,
            event_id=kept.get("webhook-id", "")[:MAX_EVENT_ID],  # for audit only: never compared
            payload=None,
            body=body[:MAX_REFUSED_BODY].decode("utf-8", "replace"),
            headers=kept,
            signature_ok=False,
            processed_at=datetime.now(UTC),
            error=error[:1000],
        )
    )
    db.session.flush()


#: Days a refused callback is kept for audit unless the config says otherwise (DISBURSE_REFUSED_CALLBACK_DAYS).
REFUSED_KEPT_DAYS = 30

_DELETE_REFUSED = text(
    """DELETE FROM provider_events WHERE id IN (
           SELECT id FROM provider_events WHERE NOT signature_ok AND received_at < :cutoff LIMIT :limit)"""
)


def delete_refused(older_than: timedelta, *, limit: int = 10_000) -> int:
    """Delete up to ``limit`` refused callbacks (``signature_ok`` false) received before ``older_than`` ago; flush,
    never commit. How many were deleted. A signed callback is never deleted here, applied or not: it is the record
    of what the bank told us."""
    cutoff = datetime.now(UTC) - older_than
    result = db.session.execute(_DELETE_REFUSED, {"cutoff": cutoff, "limit": limit})
    return int(getattr(result, "rowcount", 0) or 0)


def refused_kept_for() -> timedelta:
    """How long refused callbacks are kept: ``DISBURSE_REFUSED_CALLBACK_DAYS`` (default :data:`REFUSED_KEPT_DAYS`)."""
    from flask import current_app

    return timedelta(days=int(current_app.config.get("DISBURSE_REFUSED_CALLBACK_DAYS", REFUSED_KEPT_DAYS)))


@dataclass
class Processed:
    events: int = 0
    unreadable: int = 0
    postponed: int = 0
    applied: Applied | None = None

    def as_dict(self) -> dict[str, Any]:
        applied = self.applied.as_dict() if self.applied else {}
        return {"events": self.events, "unreadable": self.unreadable, "postponed": self.postponed, **applied}


def apply_stored(*, limit: int = 500, older_than: timedelta | None = None) -> Processed:
    """Apply up to ``limit`` stored callbacks not applied yet (those another worker holds are skipped), their
    updates together; flush, never commit. ``older_than`` takes only callbacks that waited at least that long (the
    sweeper's way of finding the ones whose task was lost). Appliers take turns (a transaction-level advisory lock):
    two at once would move claims, and their rollup rows, in several statements each and could deadlock."""
    db.session.execute(_TAKE_TURNS)
    query = (
        select(ProviderEvent)
        .where(ProviderEvent.signature_ok, ProviderEvent.processed_at.is_(None))
        .order_by(ProviderEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if older_than is not None:
        query = query.where(ProviderEvent.received_at < datetime.now(UTC) - older_than)
    events = list(db.session.scalars(query))
    processed = Processed(events=len(events))
    per_provider: dict[str, list[StatusUpdate]] = defaultdict(list)
    now = datetime.now(UTC)
    for event in events:
        provider = cast(CallbackProvider, provider_for(event.provider))
        try:
            per_provider[event.provider].extend(provider.read_event(event.payload, event.event_id))
        except PermanentError as exc:
            event.error, event.processed_at = str(exc)[:1000], now
            processed.unreadable += 1
            continue
        except ProviderError as exc:  # the bank could not be asked about a duplicate: next time
            event.error = str(exc)[:1000]
            processed.postponed += 1
            continue
        except SQLAlchemyError:
            raise
        except Exception as exc:  # a reader's bug: this callback is set aside, never the ones after it
            log.exception("callback %s of %s could not be read; set aside", event.id, event.provider)
            event.error, event.processed_at = f"unreadable: {type(exc).__name__}: {exc}"[:1000], now
            processed.unreadable += 1
            continue
        event.processed_at, event.error = now, None
    for name, updates in per_provider.items():
        applied = apply_updates(name, updates, source="callback")
        processed.applied = _merge(processed.applied, applied)
        if applied.unknown or applied.mismatched:
            log.warning(
                "callbacks of %s named %d references we have no payment for and %d with another amount "
                "(reconciliation lists them): %s",
                name,
                len(applied.unknown),
                len(applied.mismatched),
                ", ".join([*applied.unknown, *applied.mismatched][:10]),
            )
    db.session.flush()
    return processed


def _merge(total: Applied | None, more: Applied) -> Applied:
    if total is None:
        return more
    for key in ("settled", "failed", "returned", "recoveries", "retried", "awaiting_details", "offered_cash"):
        setattr(total, key, getattr(total, key) + getattr(more, key))
    total.ignored += more.ignored
    total.held += more.held
    total.unknown += more.unknown
    total.mismatched += more.mismatched
    return total


__all__ = [
    "MAX_REFUSED_BODY",
    "REFUSED_KEPT_DAYS",
    "Processed",
    "apply_stored",
    "delete_refused",
    "refused_kept_for",
    "store_event",
    "store_refused",
]
