"""Helpers for the tests that build a second app (another database, Redis, replica or sentinel) beside the session's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery
from flask import Flask

from disburse.runtime import celery_broker_url


def restore_celery(app: Flask) -> None:
    """Make ``app``'s Celery app the current and the default one again.

    Building another app makes its Celery app the current one of this thread (Celery's ``set_as_current``), and the
    tasks' proxies send through the current app: after a test whose app pointed at a sentinel that has stopped, the
    next tests' tasks went there and failed. Restoring only the default is not enough."""
    celery = app.extensions["celery"]
    celery.set_current()
    celery.set_default()


@contextmanager
def broker_down(app: Flask, dead_redis_url: str) -> Iterator[None]:
    """The app's Celery, with the app's timeouts and send retries, on a Redis where nothing listens: every task sent
    fails (the broker went down). The rate limiter keeps its own Redis, which works."""
    celery: Celery = app.extensions["celery"]
    dead = Celery("test-dead-broker", broker=celery_broker_url(dead_redis_url), set_as_current=False)
    dead.conf.update(
        {
            name: celery.conf[name]
            for name in (
                "task_routes",
                "task_queues",
                "task_serializer",
                "broker_connection_timeout",
                "broker_transport_options",
                "task_publish_retry_policy",
            )
        }
    )
    app.extensions["celery"] = dead
    try:
        yield
    finally:
        app.extensions["celery"] = celery
