"""GET /api/v1/health: is the database reachable, is Redis, and how many Celery workers answer."""

from __future__ import annotations

from typing import Any

import redis
from flask import current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from disburse.api import bp
from disburse.auth.permissions import public
from disburse.extensions import db


def _check_database() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:  # any failure means "not healthy"; the reason is reported, not raised
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}


def _check_redis() -> dict[str, Any]:
    try:
        client = redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=1, socket_connect_timeout=1)
        client.ping()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": type(exc).__name__}


def _check_workers() -> dict[str, Any]:
    celery = current_app.extensions["celery"]
    try:
        replies = celery.control.ping(timeout=0.5) or []
    except Exception as exc:  # broker unreachable: already reported under redis
        return {"ok": False, "count": 0, "error": type(exc).__name__}
    names = sorted(name for reply in replies for name in reply)
    return {"ok": bool(names), "count": len(names), "names": names}


@bp.get("/health")
@public
def health() -> ResponseReturnValue:
    database, redis_status, workers = _check_database(), _check_redis(), _check_workers()
    healthy = database["ok"] and redis_status["ok"]
    body = {
        "status": "ok" if healthy and workers["ok"] else ("degraded" if healthy else "down"),
        "database": database,
        "redis": redis_status,
        "workers": workers,
    }
    return jsonify(body), 200 if healthy else 503
