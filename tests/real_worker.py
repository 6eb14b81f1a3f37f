"""A real Celery worker, in its own process, consuming real Redis and talking to the test database.

The fixture is imported once, by tests/conftest.py, for every package: a test module that imported it for itself
would get a second session-wide worker under the same node name, and the broadcast replies of the two (``inspect``,
``ping``) collided (``DuplicateNodenameWarning`` in the worker tests after the admin's browser test).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import pytest
from flask import Flask

from disburse.background import QueueNames
from tests.celery_workers import stop, worker_command


@pytest.fixture(scope="session")
def celery_worker(app: Flask, database_url: str, redis_url: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "DISBURSE_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    proc = subprocess.Popen(worker_command(",".join(QueueNames.all()), "test"), env=env)  # noqa: S603 - ours
    celery = app.extensions["celery"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the Celery worker exited with code {proc.returncode}")
        if celery.control.ping(timeout=0.5):
            break
    else:
        proc.terminate()
        pytest.fail("the Celery worker did not answer a ping within 60 s")
    yield proc
    stop(proc)
