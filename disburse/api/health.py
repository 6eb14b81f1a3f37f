"""GET /api/v1/health: is the database reachable, is Redis, and how many Celery workers answer.

Public, for load balancers: what anyone gets is the state of each and the number of workers, and for a check that
failed, how (``Timeout``, ``RedisDown``, else ``Unavailable``). The workers' names (node names carry internal
hostnames, ``disburse-7856@vm``) and the failures' exception names (``MasterNotFoundError``: the software behind) are
for signed-in admins only; anyone else gets ``"names": null`` and the plain words.

It answers within ``BUDGET_S`` whatever is down or hangs: a load balancer's check must be quick to say "take this
node out". The database and the Redis-then-workers checks run side by side in threads; a check that has not
finished when the budget is spent is reported as ``{"ok": false, "error": "Timeout"}`` and left to end on its own
timeouts (REDIS_TIMEOUT_S, the database's connect_timeout), which keep such threads short-lived.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import redis
from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user
from pydantic import ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from disburse.api import bp
from disburse.api.schemas import ResponseModel, endpoint
from disburse.auth.permissions import public
from disburse.background import ping_workers
from disburse.extensions import db, redis_client, redis_client_options

#: The whole answer's time budget, in seconds (the promise is "within 2 s"; the rest is for the HTTP round trip).
BUDGET_S = 1.5
#: How long workers have to answer a ping.
WORKER_PING_S = 0.5

Check = Callable[[], dict[str, Any]]


def _check_database() -> dict[str, Any]:
    try:
        # Its own connection, not the request's session: this runs in a thread of its own.
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:  # any failure means "not healthy"; the reason is reported, not raised
        return {"ok": False, "error": type(exc).__name__}


def _check_redis() -> dict[str, Any]:
    client = redis_client(current_app.config, **redis_client_options(current_app.config))
    try:
        client.ping()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": type(exc).__name__}
    finally:
        client.close()


def _check_workers() -> dict[str, Any]:
    try:
        names = ping_workers(WORKER_PING_S)
    except Exception as exc:  # broker unreachable: already reported under redis
        return {"ok": False, "count": 0, "names": [], "error": type(exc).__name__}
    return {"ok": bool(names), "count": len(names), "names": names}


def _in_app(app: Flask, check: Check) -> dict[str, Any]:
    with app.app_context():
        return check()


def _outcome(future: Future[dict[str, Any]], deadline: float, late: dict[str, Any]) -> dict[str, Any]:
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        return late


#: Failures named in our own words, shown to anyone; any other (an exception's name) is "Unavailable" but to admins.
PLAIN_ERRORS = frozenset({"Timeout", "RedisDown"})


def _plain(check: dict[str, Any]) -> dict[str, Any]:
    error = check.get("error")
    return check if error is None or error in PLAIN_ERRORS else {**check, "error": "Unavailable"}


def _caller_is_admin(database_ok: bool) -> bool:
    """Whether a signed-in admin asks (session or token). Finding the caller reads the database, so it is asked only
    when the database answered (a hanging one would cost the answer its time budget); a load balancer sends neither
    cookie nor token, and costs nothing here."""
    if not database_ok:
        return False
    try:
        return bool(current_user.is_authenticated and current_user.role == "admin")
    except SQLAlchemyError:
        db.session.rollback()
        return False


class ServiceCheck(ResponseModel):
    """One service's state; when not ok, ``error`` says how: Timeout, RedisDown (workers), or Unavailable; for signed-in
    admins, the exception's name instead of Unavailable."""

    model_config = ConfigDict(extra="allow")
    ok: bool


class WorkersCheck(ServiceCheck):
    count: int = Field(description="Celery workers that answered a ping.")
    names: list[str] | None = Field(
        description="The workers' node names (they carry internal hostnames): for signed-in admins only, null for "
        "anyone else."
    )


class Health(ResponseModel):
    status: str = Field(description="ok; degraded (no worker answers); down (the database or Redis is down: 503).")
    database: ServiceCheck
    redis: ServiceCheck
    workers: WorkersCheck


@bp.get("/health")
@public
@endpoint(
    tag="Health",
    summary="Are the database, Redis and the workers there (answers within 2 s)",
    response=Health,
    error_models={503: Health},
    errors={503: "The database or Redis is down (the same body, status down)."},
    any_query=True,
)
def health() -> ResponseReturnValue:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    deadline = time.monotonic() + BUDGET_S
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="health")
    try:
        database_future = pool.submit(_in_app, app, _check_database)
        timeout = {"ok": False, "error": "Timeout"}
        redis_status = _outcome(pool.submit(_in_app, app, _check_redis), deadline, timeout)
        # The workers are reached through Redis: asked only once it answered, and on their own, so that workers slow
        # to answer a ping make the answer "degraded", never Redis "down".
        if redis_status["ok"]:
            workers = _outcome(
                pool.submit(_in_app, app, _check_workers), deadline, {**timeout, "count": 0, "names": []}
            )
        else:
            workers = {"ok": False, "count": 0, "names": [], "error": "RedisDown"}
        database = _outcome(database_future, deadline, timeout)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if not _caller_is_admin(database["ok"]):
        database, redis_status = _plain(database), _plain(redis_status)
        workers = {**_plain(workers), "names": None}
    healthy = database["ok"] and redis_status["ok"]
    body = {
        "status": "ok" if healthy and workers["ok"] else ("degraded" if healthy else "down"),
        "database": database,
        "redis": redis_status,
        "workers": workers,
    }
    return jsonify(body), 200 if healthy else 503
