"""Helpers for the tests that build a second app (another database, Redis, replica or sentinel) beside the session's."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
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


def celery_on(app: Flask, broker_url: str, name: str) -> Celery:
    """A Celery app that sends as ``app``'s does (its routes, queues, serializer, timeouts and send retries) to the
    Redis at ``broker_url`` instead: for a test to send where it chooses. Never made the current app."""
    celery: Celery = app.extensions["celery"]
    other = Celery(name, broker=celery_broker_url(broker_url), set_as_current=False)
    other.conf.update(
        {
            setting: celery.conf[setting]
            for setting in (
                "task_routes",
                "task_queues",
                "task_serializer",
                "broker_connection_timeout",
                "broker_transport_options",
                "task_publish_retry_policy",
            )
        }
    )
    return other


@contextmanager
def broker_down(app: Flask, dead_redis_url: str) -> Iterator[None]:
    """The app's Celery, with the app's timeouts and send retries, on a Redis where nothing listens: every task sent
    fails (the broker went down). The rate limiter keeps its own Redis, which works."""
    celery: Celery = app.extensions["celery"]
    app.extensions["celery"] = celery_on(app, dead_redis_url, "test-dead-broker")
    try:
        yield
    finally:
        app.extensions["celery"] = celery


def waiting(client: redis.Redis, queue: str) -> list[tuple[str, list[Any], dict[str, Any]]]:
    """(task name, positional arguments, keyword arguments) of each message waiting in ``queue`` of the Redis broker
    ``client`` talks to, oldest first (Celery's message protocol 2: the body is base64 JSON ``[args, kwargs, embed]``;
    the Redis transport keeps a queue as a list of its name, newest first)."""
    messages = [json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))]
    bodies = [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))) for m in messages]
    return [(name, body[0], body[1]) for name, body in bodies]
