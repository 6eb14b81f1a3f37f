"""Background work as the app sees it: the Celery app's configuration, the named queues, the stable task names,
and :func:`enqueue_after_commit`, the one way the app asks for work.

The app never imports a task: it sends work by the task's stable name (``celery.send_task``), and the routing
table :data:`TASK_QUEUES` puts each name on its queue. The task modules live in ``workers/``, which imports
``disburse`` and never the reverse; ``workers.celery_app`` adds them to this Celery app for the worker process.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask, current_app
from kombu import Queue
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from disburse.extensions import db, redis_client, redis_client_options
from disburse.runtime import celery_redis

log = logging.getLogger(__name__)


class QueueNames:
    """Named queues. Every task routes to one of these and the worker consumes them all (a test checks)."""

    IMPORTS = "imports"
    VERIFICATION = "verification"
    PAYMENTS = "payments"
    PROVIDER_EVENTS = "provider-events"
    REPORTS = "reports"
    NOTIFICATIONS = "notifications"
    PERIODIC = "periodic"

    @classmethod
    def all(cls) -> list[str]:
        return [
            cls.IMPORTS,
            cls.VERIFICATION,
            cls.PAYMENTS,
            cls.PROVIDER_EVENTS,
            cls.REPORTS,
            cls.NOTIFICATIONS,
            cls.PERIODIC,
        ]


#: Every task by its stable name, and its queue. The worker's tasks carry exactly these names (a test checks both
#: ways), so renaming a task module never breaks a message already in Redis.
TASK_QUEUES: dict[str, str] = {
    "health.ping": QueueNames.PERIODIC,
    "imports.run": QueueNames.IMPORTS,
    "forms.form_02": QueueNames.IMPORTS,
    "lists.build": QueueNames.REPORTS,
    "notices.district_day": QueueNames.REPORTS,
    "verification.verify": QueueNames.VERIFICATION,
    "sweepers.verification": QueueNames.PERIODIC,
    "sweepers.employer_overdue": QueueNames.PERIODIC,
    "sweepers.application_sla": QueueNames.PERIODIC,
    "sweepers.payment_sla": QueueNames.PERIODIC,
    "sweepers.close_out": QueueNames.PERIODIC,
    "payments.batch": QueueNames.PAYMENTS,
    "payments.send": QueueNames.PAYMENTS,
    "payments.apply_events": QueueNames.PROVIDER_EVENTS,
    "sweepers.payments": QueueNames.PERIODIC,
    "payments.reconcile": QueueNames.PERIODIC,
    "sweepers.idempotency_keys": QueueNames.PERIODIC,
    "sweepers.rollups": QueueNames.PERIODIC,
    "sweepers.snapshots": QueueNames.PERIODIC,
    "sweepers.backlog": QueueNames.PERIODIC,
    "sweepers.jobs": QueueNames.PERIODIC,
    "sweepers.files": QueueNames.PERIODIC,
    "exports.dashboard": QueueNames.REPORTS,
    "notifications.send": QueueNames.NOTIFICATIONS,
    "notifications.reminders": QueueNames.NOTIFICATIONS,
    "notifications.digests": QueueNames.NOTIFICATIONS,
}

#: What beat sends, and how often (seconds, or a crontab in Celery's timezone, Asia/Ho_Chi_Minh). The sweeps are
#: idempotent and take a Redis lock each, so a sweep that runs long is not doubled by the next beat; deadlines are
#: days, so a quarter of an hour is prompt enough. The reconciliation runs at 01:30 for the day before.
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "verification-waiting": {"task": "sweepers.verification", "schedule": 5 * 60.0},
    "employer-overdue": {"task": "sweepers.employer_overdue", "schedule": 15 * 60.0},
    "application-sla": {"task": "sweepers.application_sla", "schedule": 15 * 60.0},
    "payment-sla": {"task": "sweepers.payment_sla", "schedule": 15 * 60.0},
    # After a programme's last payable day, the claims nobody will pay any more to a caseworker.
    "close-out": {"task": "sweepers.close_out", "schedule": 15 * 60.0},
    # Approved claims into batches, every minute (DISBURSE_PAYMENT_BATCH_EVERY_S; the demo's 15 s): a claim approved
    # waits at most that long for its batch.
    "payment-batches": {"task": "payments.batch", "schedule": 60.0},
    # Payments unanswered, batches whose send was lost, callbacks whose task was lost.
    "payment-status": {"task": "sweepers.payments", "schedule": 5 * 60.0},
    # Idempotency keys are kept for a day.
    "idempotency-keys": {"task": "sweepers.idempotency_keys", "schedule": 60 * 60.0},
    # Yesterday's payments against the provider's statement, at 01:30 in Vietnam (Celery's timezone).
    "payments-reconcile": {"task": "payments.reconcile", "schedule": crontab(hour=1, minute=30)},
    # The dashboards' rollups against a count over claims, drift reported and repaired: hourly (a scan of claims).
    "rollup-repair": {"task": "sweepers.rollups", "schedule": 60 * 60.0},
    # The day's completion per area for "completion over time": every hour, so that today's point follows the day
    # (the same day again replaces its rows; the last run of the day is what stays).
    "completion-snapshots": {"task": "sweepers.snapshots", "schedule": crontab(minute=5)},
    # The backlog pages' figures (open cases by age, SLA breaches, review queue) for every area, counted from claims
    # in one pass: every 5 minutes (DISBURSE_BACKLOG_EVERY_S; the demo's 60 s).
    "backlog-figures": {"task": "sweepers.backlog", "schedule": 5 * 60.0},
    # Background jobs whose process died (or whose task was lost) failed with a message, for an admin to run again.
    "abandoned-jobs": {"task": "sweepers.jobs", "schedule": 5 * 60.0},
    # Uploaded and exported files past DISBURSE_FILE_RETENTION_DAYS deleted: hourly.
    "old-files": {"task": "sweepers.files", "schedule": 60 * 60.0},
    # E-mails to units whose time has come (new ones, and those retried after a temporary failure), every minute:
    # a lost notifications.send never leaves a message waiting for ever.
    "notifications-send": {"task": "notifications.send", "schedule": 60.0},
    # The Form 02 reminders, hourly (once per unit and deadline whatever the count of runs).
    "notifications-reminders": {"task": "notifications.reminders", "schedule": 60 * 60.0},
    # Each unit's daily digest of its people awaiting new payment details: on the hour from 08:00 to 17:00 in
    # Vietnam, once a day per unit whatever the count of runs (a lost run is made up by the next hour's).
    "notifications-digests": {"task": "notifications.digests", "schedule": crontab(minute=0, hour="8-17")},
}


#: The tasks beat sends; each run's end is recorded in :data:`LAST_RUNS_KEY`.
SCHEDULED_TASKS = frozenset(spec["task"] for spec in BEAT_SCHEDULE.values())
#: Redis hash: a scheduled task's name → its last run, JSON ``{"at": ISO time (UTC), "s": seconds, "error": the
#: exception's name or null}`` (the admins' health page reads it).
LAST_RUNS_KEY = "disburse:beat:last-runs"


def record_run(config: Mapping[str, Any], task: str, started: datetime, seconds: float, error: str | None) -> None:
    """Write ``task``'s last run; best effort (a Redis that cannot take it is logged, never raised: the task's own
    outcome stands)."""
    run = json.dumps({"at": started.isoformat(), "s": round(seconds, 3), "error": error})
    try:
        client = redis_client(config, **redis_client_options(config))
        try:
            client.hset(LAST_RUNS_KEY, task, run)
        finally:
            client.close()
    except Exception as exc:  # Redis down or slow: the next run records again
        log.warning("could not record the run of %s: %s", task, exc)


def last_runs(config: Mapping[str, Any]) -> dict[str, dict[str, Any]] | None:
    """Every scheduled task's last run as :func:`record_run` wrote it, ``at`` as a datetime; None when Redis did not
    answer."""
    try:
        client = redis_client(config, **redis_client_options(config))
        try:
            raw = client.hgetall(LAST_RUNS_KEY)
        finally:
            client.close()
    except Exception:  # Redis down or slow: the page says Redis did not answer
        return None
    runs = {}
    for task, value in raw.items():
        try:
            run = json.loads(value)
            runs[task.decode() if isinstance(task, bytes) else task] = {**run, "at": datetime.fromisoformat(run["at"])}
        except (ValueError, KeyError, TypeError):
            continue  # not ours to read: left out
    return runs


def beat_schedule(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """:data:`BEAT_SCHEDULE` with the payment batches' interval from ``DISBURSE_PAYMENT_BATCH_EVERY_S`` and the
    backlog figures' from ``DISBURSE_BACKLOG_EVERY_S``."""
    schedule = {name: dict(entry) for name, entry in BEAT_SCHEDULE.items()}
    schedule["payment-batches"]["schedule"] = float(config.get("DISBURSE_PAYMENT_BATCH_EVERY_S", 60.0))
    schedule["backlog-figures"]["schedule"] = float(config.get("DISBURSE_BACKLOG_EVERY_S", 5 * 60.0))
    return schedule


def init_celery(app: Flask) -> Celery:
    """The Celery app bound to ``app`` (Flask's "Background Tasks with Celery"): every task runs in an app context."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                if self.name not in SCHEDULED_TASKS:
                    return self.run(*args, **kwargs)
                started, clock, error = datetime.now(UTC), time.monotonic(), None
                try:
                    return self.run(*args, **kwargs)
                except BaseException as exc:
                    error = type(exc).__name__
                    raise
                finally:
                    record_run(app.config, self.name, started, time.monotonic() - clock, error)

    broker, sentinel_options = celery_redis(app.config)  # sentinel_options: the master's name, with Sentinel
    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=broker,
        result_backend=broker,
        task_ignore_result=True,
        task_default_queue=QueueNames.PERIODIC,
        task_queues=[Queue(name) for name in QueueNames.all()],
        task_routes={name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
        task_serializer="json",
        accept_content=["json"],
        timezone="Asia/Ho_Chi_Minh",
        enable_utc=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # A Redis that is down or hangs must cost a web request seconds, not minutes: every socket operation gives
        # up after REDIS_TIMEOUT_S (kombu and redis-py would otherwise wait for ever on a dead connection), and a
        # send retries briefly (CELERY_SEND_RETRY_POLICY). The workers' consuming is not affected: it polls with
        # BRPOP through the event loop, and reconnects under its own broker_connection_max_retries.
        broker_connection_timeout=app.config["REDIS_TIMEOUT_S"],
        broker_transport_options={
            "visibility_timeout": app.config["CELERY_VISIBILITY_TIMEOUT_S"],
            "socket_timeout": app.config["REDIS_TIMEOUT_S"],
            "socket_connect_timeout": app.config["REDIS_TIMEOUT_S"],
            **app.config["CELERY_SEND_RETRY_POLICY"],
            **sentinel_options,
        },
        task_publish_retry_policy=app.config["CELERY_SEND_RETRY_POLICY"],
        redis_socket_timeout=app.config["REDIS_TIMEOUT_S"],
        redis_socket_connect_timeout=app.config["REDIS_TIMEOUT_S"],
        result_backend_transport_options={
            "visibility_timeout": app.config["CELERY_VISIBILITY_TIMEOUT_S"],
            "retry_policy": app.config["CELERY_SEND_RETRY_POLICY"],
            **sentinel_options,
        },
        beat_schedule=beat_schedule(app.config),
    )
    if app.testing:
        celery.conf.worker_hijack_root_logger = False
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


# ----------------------------------------------------------------------------------------- enqueue after commit

#: Tasks asked for inside a transaction wait for its outcome in ``session.info[_PENDING][transaction]``.
_PENDING = "disburse_pending_tasks"
#: How the transaction that is ending ended: SQLAlchemy fires after_commit / after_rollback, then
#: after_transaction_end for the same transaction (a savepoint's too).
_OUTCOME = "disburse_transaction_outcome"


class UnknownTask(ValueError):
    """A task name that is not in :data:`TASK_QUEUES`: a typo would otherwise wait in Redis for ever."""


def enqueue_after_commit(
    name: str, *args: Any, session: Session | None = None, best_effort: bool = False, **kwargs: Any
) -> None:
    """Send the task ``name`` with ``args``/``kwargs`` once the current transaction commits; never if it rolls back.

    Inside a savepoint the task follows the savepoint: released, it waits for the outer commit; rolled back, it is
    dropped. Arguments must be JSON (ids, not ORM objects: the task reloads them). With ``best_effort``, a broker
    that cannot take the task is logged, not raised: for work a sweeper finds anyway (the commit has happened).
    """
    if name not in TASK_QUEUES:
        raise UnknownTask(f"no task named {name!r}; known: {', '.join(sorted(TASK_QUEUES))}")
    session = session if session is not None else db.session()
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_PENDING, {}).setdefault(transaction, []).append((name, args, kwargs, best_effort))


def queued_messages(queue: str) -> int:
    """Messages waiting in ``queue`` of the app's broker (those a worker has taken are not counted)."""
    with current_app.extensions["celery"].connection_for_write() as connection:
        return int(connection.default_channel.queue_declare(queue=queue).message_count)


def ping_workers(timeout: float) -> list[str]:
    """The node names of the Celery workers that answer a ping within ``timeout`` seconds, sorted.

    The ping gets a broker connection of its own, closed after it, never one of the pool: kombu's Redis transport
    collects the replies with a BRPOP on this ping's reply queue that outlives the collection (it blocks for the
    transport's ``brpop_timeout``, 1 s, against a ping's 0.5 s). A pooled connection went back to the pool with
    that BRPOP unanswered, and the next ping that took it within the second could not send a BRPOP for its own
    replies until the old one returned: it heard nothing, and "no worker answers" flipped with "ok" for pings close
    together. Here the BRPOP blocks no longer than the ping waits (``polling_interval``), so closing the connection
    does not wait for it either."""
    celery = current_app.extensions["celery"]
    with celery.connection_for_write(transport_options={"polling_interval": timeout}) as connection:
        replies = celery.control.ping(timeout=timeout, connection=connection) or []
    return sorted(name for reply in replies for name in reply)


def _send(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], best_effort: bool = False) -> None:
    try:
        current_app.extensions["celery"].send_task(name, args=list(args), kwargs=kwargs)
    except Exception:
        if not best_effort:
            raise
        log.warning("could not send task %s; a sweeper will find its work", name, exc_info=True)
        return
    log.info("sent task %s after commit", name, extra={"task_name": name})


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info[_OUTCOME] = "commit"


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info[_OUTCOME] = "rollback"


@event.listens_for(Session, "after_transaction_end")
def _settle_pending(session: Session, transaction: SessionTransaction) -> None:
    """A committed outermost transaction sends its tasks; a released savepoint hands them to its parent; anything
    else (a rollback, a close without commit) drops them."""
    committed = session.info.pop(_OUTCOME, None) == "commit"
    pending = session.info.get(_PENDING)
    if not pending:
        return
    tasks = pending.pop(transaction, [])
    if transaction.parent is not None:
        if committed and tasks:
            pending.setdefault(transaction.parent, []).extend(tasks)
        return
    session.info.pop(_PENDING, None)  # the outermost transaction ended: nothing else can still be waiting
    if not committed:
        return
    for name, args, kwargs, best_effort in tasks:
        _send(name, args, kwargs, best_effort)
