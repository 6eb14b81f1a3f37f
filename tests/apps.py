"""Helpers for the tests that build a second app (another database, Redis, replica or sentinel) beside the session's."""

from __future__ import annotations

from flask import Flask


def restore_celery(app: Flask) -> None:
    """Make ``app``'s Celery app the current and the default one again.

    Building another app makes its Celery app the current one of this thread (Celery's ``set_as_current``), and the
    tasks' proxies send through the current app: after a test whose app pointed at a sentinel that has stopped, the
    next tests' tasks went there and failed. Restoring only the default is not enough."""
    celery = app.extensions["celery"]
    celery.set_current()
    celery.set_default()
