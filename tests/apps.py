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


#: The settings that name where a Celery app sends and keeps results: the rest is copied by :func:`celery_on`.
_WHERE = ("broker_url", "broker_read_url", "broker_write_url", "result_backend")


def celery_on(app: Flask, broker_url: str, name: str) -> Celery:
    """A Celery app configured as ``app``'s in every setting (routes, queues, timeouts, send retries, time zone, beat
    schedule) but one: it sends to, and keeps results in, the Redis at ``broker_url``. For a test to send where it
    chooses; never made the current app."""
    celery: Celery = app.extensions["celery"]
    other = Celery(name, set_as_current=False)
    url = celery_broker_url(broker_url)
    other.conf.update(
        {setting: value for setting, value in celery.conf.items() if setting not in _WHERE},
        broker_url=url,
        result_backend=url,
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
