"""Real Celery worker processes for the tests: the one command line every test starts a worker with."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from flask import Flask


def worker_command(queues: str, name: str, loglevel: str = "WARNING", *extra: str) -> list[str]:
    """``celery worker`` on ``queues`` (comma-separated), one process (solo pool), named ``<name>-<pid of this test
    run>@<host>`` so that two test runs on one Redis never answer for each other, with ``extra`` options."""
    return [
        *(sys.executable, "-m", "celery", "-A", "workers.worker", "worker", "--loglevel", loglevel),
        *("--pool", "solo", "-Q", queues, "--hostname", f"{name}-{os.getpid()}@%h"),
        *("--without-mingle", "--without-gossip", *extra),
    ]


def start_worker(database_url: str, redis_url: str, queues: str, name: str) -> subprocess.Popen[bytes]:
    """A worker of the test environment on this database and Redis (not waited for: ping it)."""
    env = {**os.environ, "DISBURSE_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    return subprocess.Popen(worker_command(queues, name), env=env)  # noqa: S603 - our interpreter, fixed arguments


def wait_for_ping(app: Flask, proc: subprocess.Popen[bytes], name: str) -> None:
    """Until the worker named ``name`` answers ``app``'s ping (60 s at most; a worker that exits fails the test)."""
    celery = app.extensions["celery"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"worker {name} exited with code {proc.returncode}")
        replies = celery.control.ping(timeout=0.5) or []
        if any(name in host for reply in replies for host in reply):
            return
    pytest.fail(f"worker {name} did not answer a ping within 60 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 20 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
