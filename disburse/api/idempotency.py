"""``Idempotency-Key`` on every POST of the API (the IETF draft "The Idempotency-Key HTTP Header Field").

A client that may send a POST twice (a timeout, a retry after a dropped connection) sends the same key both times:

- the first request runs, and its answer (status, body, content type) is kept against (caller, key) with a hash of
  what was asked (method, path, body; a JSON body as what it says, whatever its spacing or key order);
- a retry with the same key and the same request gets that answer again, without running anything;
- a retry while the first is still running gets 409; the same key with another request gets 422;
- a first request still "running" after ``DISBURSE_WEB_TIMEOUT_S`` (gunicorn's request timeout) was not: its web
  worker was killed (the timeout, out of memory) and its transaction rolled back; a retry with the same request
  takes the key and runs;
- an answer of 500 or more is not kept (the request did not happen as far as the client may assume): the key can be
  used again.

The caller is the signed-in user or the token's user; unauthenticated requests are left alone (they get 401 from
the route). Keys are kept for :data:`KEEP_FOR`, then purged (``sweepers.idempotency_keys``, hourly). The
rows are written on a connection of their own and committed at once, so that a concurrent retry sees the first
request running whatever its own transaction does. Provider callbacks are not covered: providers de-duplicate
by their ``webhook-id``.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from flask_login import current_user
from sqlalchemy import BigInteger, Index, LargeBinary, SmallInteger, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from disburse.api.errors import api_error, message, request_json
from disburse.api.schemas import repeated_keys
from disburse.extensions import db

HEADER = "Idempotency-Key"
#: Printable ASCII without spaces, as the draft's examples (UUIDs, ULIDs, random tokens).
_KEY = re.compile(r"[!-~]{1,255}")
KEEP_FOR = timedelta(hours=24)
#: Endpoints that de-duplicate otherwise (provider callbacks: by webhook-id).
EXEMPT = frozenset({"api.providers.provider_event"})


class IdempotencyKey(db.Model):  # type: ignore[name-defined]
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        Index("uq_idempotency_keys_caller_key", "caller", "key", unique=True),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: "user:<id>": whose key it is (two callers may choose the same key).
    caller: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(255))
    #: sha256 of method, path and body: the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    content_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    completed_at: Mapped[datetime | None]


#: The key for this request: a new row, or the row of the same request left "in progress" for longer than a request
#: may run (its worker was killed); ``created_at`` is when the request now holding the key took it.
_CLAIM = text(
    """INSERT INTO idempotency_keys (caller, key, request_hash) VALUES (:caller, :key, :hash)
       ON CONFLICT (caller, key) DO UPDATE SET created_at = now()
           WHERE idempotency_keys.status_code IS NULL AND idempotency_keys.request_hash = excluded.request_hash
             AND idempotency_keys.created_at < now() - make_interval(secs => :lease)
       RETURNING id"""
)
_EXISTING = text(
    """SELECT id, request_hash, status_code, content_type, body FROM idempotency_keys
       WHERE caller = :caller AND key = :key"""
)
_COMPLETE = text(
    """UPDATE idempotency_keys SET status_code = :status, content_type = :type, body = :body, completed_at = now()
       WHERE id = :id"""
)
_FORGET = text("DELETE FROM idempotency_keys WHERE id = :id")


def _request_hash() -> str:
    """The request a key was first used for: method, path, query string (``?program=`` picks the programme) and
    body; a JSON body as what it says (keys sorted, no spaces), so that a client that serialises the same request
    again (another key order, other spaces) retries it rather than being told the key was reused. A request without
    a query string hashes as it always did."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.full_path.rstrip('?')}\n".encode())
    body = request.get_data(cache=True)
    parsed = request_json() if request.is_json else None
    # A body giving a key twice is hashed as sent: parsed, it reads as its last value, the same as a body without the
    # first, which the validation refuses (a corrected retry must not get that refusal back, nor such a body the
    # answer of the request it resembles).
    if parsed is not None and not repeated_keys(body):
        body = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    digest.update(body)
    return digest.hexdigest()


def _before() -> Any:
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or request.endpoint in EXEMPT:
        return None
    if not current_user.is_authenticated:
        return None  # the route answers 401
    if not _KEY.fullmatch(key):
        return api_error(
            422,
            "invalid",
            message("Idempotency-Key không hợp lệ.", "The Idempotency-Key is not valid."),
            {HEADER: message("1 đến 255 ký tự in được, không dấu cách.", "1 to 255 printable characters, no spaces.")},
        )
    caller, hashed = f"user:{current_user.id}", _request_hash()
    with db.engine.begin() as conn:
        lease = current_app.config["DISBURSE_WEB_TIMEOUT_S"]
        claimed = conn.execute(_CLAIM, {"caller": caller, "key": key, "hash": hashed, "lease": lease}).scalar()
        existing = None if claimed is not None else conn.execute(_EXISTING, {"caller": caller, "key": key}).one()
    if claimed is not None:
        g.idempotency_id = claimed
        return None
    assert existing is not None
    return _replay(existing, hashed)


def _replay(existing: Any, hashed: str) -> Any:
    if existing.request_hash != hashed:
        return api_error(
            422,
            "idempotency_key_reused",
            message(
                "Idempotency-Key này đã dùng cho một yêu cầu khác.",
                "This Idempotency-Key was used for another request.",
            ),
        )
    if existing.status_code is None:
        return api_error(
            409,
            "in_progress",
            message("Yêu cầu với khoá này đang được xử lý.", "A request with this key is still being processed."),
        )
    response = Response(existing.body or b"", status=existing.status_code, content_type=existing.content_type)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _after(response: Response) -> Response:
    row_id = g.pop("idempotency_id", None)
    if row_id is None:
        return response
    with db.engine.begin() as conn:
        if response.status_code >= 500:
            conn.execute(_FORGET, {"id": row_id})
        else:
            body = response.get_data()
            conn.execute(
                _COMPLETE,
                {"id": row_id, "status": response.status_code, "type": response.content_type, "body": body},
            )
    return response


def _teardown(error: BaseException | None) -> None:
    """A request that died without an answer (an exception past every handler) frees its key."""
    row_id = g.pop("idempotency_id", None)
    if row_id is not None:
        with db.engine.begin() as conn:
            conn.execute(_FORGET, {"id": row_id})


def register_idempotency(api: Blueprint) -> None:
    api.before_request(_before)
    api.after_request(_after)
    api.teardown_request(_teardown)


def purge(now: datetime | None = None) -> int:
    """Forget keys older than :data:`KEEP_FOR` (on a connection of its own, committed, as every write of keys is).
    How many."""
    cutoff = (now or datetime.now(UTC)) - KEEP_FOR
    with db.engine.begin() as conn:
        result = conn.execute(text("DELETE FROM idempotency_keys WHERE created_at < :cutoff"), {"cutoff": cutoff})
    return int(result.rowcount or 0)


__all__ = ["HEADER", "IdempotencyKey", "purge", "register_idempotency"]
