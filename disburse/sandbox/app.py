"""The sandbox bank's HTTP API (G2P Connect disbursement shapes), a small Flask app of its own.

- ``POST /disburse``: a batch of transfers → an immediate acknowledgement (``ACK`` with a ``correlation_id``, or
  ``NACK`` / ``ERR`` naming what is wrong); results come later by signed callback to the header's ``sender_uri``.
- ``POST /disburse/txn/status``: the current status of references or of a transaction, answered at once.
- ``GET /statement?date=YYYY-MM-DD``: every settlement and return booked that day, for reconciliation.

Every endpoint needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy import create_engine

from disburse.runtime import connect_args, sqlalchemy_url
from disburse.sandbox.bank import Sandbox, Settler
from disburse.sandbox.messages import Refused, disburse_request, status_request
from disburse.sandbox.models import create_schema


def _ts() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _ack(status: str, *, correlation_id: str | None = None, error: Refused | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"ack_status": status, "timestamp": _ts(), "correlation_id": correlation_id}
    if error is not None:
        message["error"] = {"code": error.code, "message": error.message, "errors": error.errors}
    return {"message": message}


def _body() -> Any:
    """The request's JSON, or None (not JSON, or nested deeper than Python parses): the messages' checks refuse it."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def _sandbox() -> Sandbox:
    sandbox: Sandbox = current_app.extensions["sandbox"]
    return sandbox


def _authorised() -> bool:
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {current_app.config['SANDBOX_TOKEN']}"
    return hmac.compare_digest(given.encode(), expected.encode())


def _status_item(row: Any) -> dict[str, Any]:
    item = {
        "reference_id": row.reference_id,
        "transaction_id": row.transaction_id,
        "status": row.status,
        "amount": str(row.amount_vnd),
        "currency_code": row.currency_code,
        "timestamp": (row.returned_at or row.settled_at or row.received_at).isoformat(),
    }
    if row.reason_code:
        item["status_reason_code"] = row.reason_code
        item["status_reason_message"] = row.reason_message
    return item


def create_sandbox_app(
    database_url: str,
    *,
    delay_s: float,
    failure_rate: float,
    return_rate: float,
    webhook_secret: str | Sequence[str],
    seed: int | None = None,
    token: str,
    start_settler: bool = False,
    settle_interval_s: float = 0.5,
    bulk: bool = False,
    max_amount_vnd: int | None = None,
) -> Flask:
    """The sandbox bank on ``database_url`` (schema ``sandbox``, created here). ``start_settler`` starts the daemon
    thread that settles, returns and delivers callbacks (``app.extensions["sandbox_settler"]``; stop it with
    ``.stop()``); without it, call ``app.extensions["sandbox"].settle_due()`` and friends yourself (the tests do).
    ``bulk`` settles, returns and builds callbacks set-based (:mod:`disburse.sandbox.bank`). ``max_amount_vnd``: the
    payer's limit per transfer (:attr:`~disburse.sandbox.bank.Sandbox.max_amount_vnd`)."""
    if not token:
        raise ValueError("the sandbox needs a bearer token for its clients")
    secrets_ = [webhook_secret] if isinstance(webhook_secret, str) else list(webhook_secret)
    engine = create_engine(sqlalchemy_url(database_url), pool_pre_ping=True, pool_size=5, connect_args=connect_args(3))
    create_schema(engine)
    sandbox = Sandbox(
        engine=engine,
        delay_s=delay_s,
        failure_rate=failure_rate,
        return_rate=return_rate,
        webhook_secrets=secrets_,
        seed=seed,
        bulk=bulk,
        max_amount_vnd=max_amount_vnd,
    )
    app = Flask("disburse.sandbox")
    app.config.update(SANDBOX_TOKEN=token, MAX_CONTENT_LENGTH=16 * 1024 * 1024)
    app.extensions["sandbox"] = sandbox
    if start_settler:
        app.extensions["sandbox_settler"] = Settler(sandbox, settle_interval_s).start()

    @app.before_request
    def authenticate() -> Response | tuple[Response, int] | None:
        if not _authorised():
            response = jsonify({"error": "unauthorized", "message": "Authorization: Bearer <token> needed"})
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="sandbox"'
            return response
        return None

    @app.post("/disburse")
    def disburse() -> tuple[Response, int]:
        try:
            checked = disburse_request(_body(), max_amount_vnd=_sandbox().max_amount_vnd)
        except Refused as refused:
            return jsonify(_ack(refused.ack, error=refused)), 400
        correlation_id, _duplicates = _sandbox().accept(checked)
        return jsonify(_ack("ACK", correlation_id=correlation_id)), 200

    @app.post("/disburse/txn/status")
    def txn_status() -> tuple[Response, int]:
        body = _body()
        try:
            transaction_id, references = status_request(body)
        except Refused as refused:
            return jsonify(_ack(refused.ack, error=refused)), 400
        rows = _sandbox().statuses(transaction_id=transaction_id, references=references)
        answer = {
            "signature": None,
            "header": {
                "version": "1.0.0",
                "message_id": f"msg_{uuid.uuid4().hex}",
                "message_ts": _ts(),
                "action": "txn-status",
                "status": "succ",
                "total_count": len(rows),
                "sender_id": _sandbox().sender_id,
            },
            "message": {
                "transaction_id": (body or {}).get("message", {}).get("transaction_id"),
                "correlation_id": f"sbx-{uuid.uuid4().hex}",
                "txnstatus_response": {"txn_type": "disburse", "txn_status": [_status_item(r) for r in rows]},
            },
        }
        return jsonify(answer), 200

    @app.get("/statement")
    def statement() -> tuple[Response, int]:
        try:
            day = date.fromisoformat(request.args.get("date", ""))
        except ValueError:
            return jsonify({"error": "invalid", "message": "date=YYYY-MM-DD needed"}), 400
        if not date(2000, 1, 1) <= day <= date(2099, 12, 31):
            return jsonify({"error": "invalid", "message": "date between 2000-01-01 and 2099-12-31 needed"}), 400
        entries = [
            {
                "reference_id": row.reference_id,
                "transaction_id": row.transaction_id,
                "type": row.kind,
                "direction": row.direction,
                "amount": str(row.amount_vnd),
                "currency_code": "VND",
                "payer_fa": row.account,
                "payee_fa": row.payee_fa,
                "payee_name": row.payee_name,
                "booked_at": row.booked_at.isoformat(),
            }
            for row in _sandbox().statement(day)
        ]
        settled = sum(int(e["amount"]) for e in entries if e["type"] == "settlement")
        returned = sum(int(e["amount"]) for e in entries if e["type"] == "return")
        totals = {"settled": str(settled), "returned": str(returned), "net_debit": str(settled - returned)}
        return jsonify({"date": day.isoformat(), "currency_code": "VND", "entries": entries, "totals": totals}), 200

    return app
