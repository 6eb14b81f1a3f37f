"""What the worker tests share: the session-wide worker held still while a module's own workers run.

The session-wide Celery worker (:mod:`tests.real_worker`) works on the same test database as the workers a module
starts on its own broker, but with the test configuration's timings, which are production's (a claim failed on the
bank's side is paid again after ``DISBURSE_PAYMENT_RETRY_BASE_S``, 300 s, where the payment worker tests give their
workers 1 s), and it runs whatever its broker holds. Its broker held much: a test on a rolled-back session
(``db_session``) commits through savepoints, and each of those commits sent the tasks it asked for, as a real one
would (about 150 ``payments.apply_events`` from ``tests/payments/test_callbacks.py`` and ``test_status.py`` alone).
They waited until a test started the session worker, which then ran them, possibly while the next module runs. Each
``payments.apply_events`` applies every stored callback in the database: a payment worker test's own callbacks too,
with the session worker's wait, so a claim failed on the bank's side was not paid again for 5 minutes, and the test
ran out of time with that claim ``approved``. The tests that run no worker now send their tasks where no worker
reads (``_tasks_where_no_worker_reads`` in tests/conftest.py), which dries that source up; the pause stays for what
the worker tests of other modules send and have not seen run.

:func:`session_worker_paused` holds the session worker still for a module: it consumes none of its queues, and has
nothing left to run, until the module is done; then it takes up its queues again, the messages where they were.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psutil
import pytest
from celery import Celery
from celery.utils.nodenames import host_format
from flask import Flask

#: The name ``tests.real_worker`` gives the session worker (its node is ``test-<pid of this process>@<host>``).
SESSION_WORKER = "test"
#: Tasks that act on one payment batch they name (a batch of the test that sent them, never one made later): the
#: only ones the session worker may still hold for their countdown while it is paused.
BY_ID_ONLY = frozenset({"payments.send"})


def session_worker_node() -> str | None:
    """The session worker's node name when it runs (a child process of this one), else None."""
    hostname = f"{SESSION_WORKER}-{os.getpid()}@%h"
    for child in psutil.Process().children():
        with suppress(psutil.Error):
            if hostname in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                return host_format(hostname)
    return None


def _answered(replies: list[dict[str, Any]] | None, node: str, what: str, timeout: float) -> None:
    if not any(node in reply for reply in replies or []):
        pytest.fail(f"the session worker {node} did not answer {what} within {timeout} s")


def _asked(celery: Celery, node: str, what: str, timeout: float) -> Any:
    """What ``node`` answers to the inspect command ``what``; a failure when it does not answer."""
    inspect = celery.control.inspect(destination=[node], timeout=timeout, limit=1)
    answer = (getattr(inspect, what)() or {}).get(node)
    if answer is None:
        pytest.fail(f"the session worker {node} did not answer {what} within {timeout} s")
    return answer


def _idle(celery: Celery, node: str, timeout: float) -> bool:
    """Nothing running, nothing taken ahead, and nothing waiting for its countdown but tasks on one batch by id."""
    held = [*_asked(celery, node, "active", timeout), *_asked(celery, node, "reserved", timeout)]
    waiting = [entry["request"]["name"] for entry in _asked(celery, node, "scheduled", timeout)]
    return not held and set(waiting) <= BY_ID_ONLY


@contextmanager
def paused(celery: Celery, node: str, *, timeout: float = 60.0) -> Iterator[None]:
    """``node`` consumes none of its queues while the block runs, and runs nothing in it (what it was running or had
    taken ahead is done first); after it, it consumes them all again. ``timeout``: how long a worker busy with a
    task may take to answer (a solo worker answers between tasks), and to become idle."""
    queues = [queue["name"] for queue in _asked(celery, node, "active_queues", timeout)]
    cancelled: list[str] = []
    try:
        for queue in queues:
            cancelled.append(queue)  # given back afterwards even if its answer is lost
            replies = celery.control.cancel_consumer(queue, destination=[node], reply=True, timeout=timeout, limit=1)
            _answered(replies, node, f"cancel_consumer {queue}", timeout)
        deadline = time.monotonic() + timeout
        while not _idle(celery, node, timeout):
            if time.monotonic() > deadline:
                pytest.fail(f"the session worker {node} still had tasks to run after {timeout} s")
            time.sleep(0.2)
        yield
    finally:
        for queue in cancelled:
            replies = celery.control.add_consumer(queue, destination=[node], reply=True, timeout=timeout, limit=1)
            _answered(replies, node, f"add_consumer {queue}", timeout)


@pytest.fixture(scope="module")
def session_worker_paused(app: Flask) -> Iterator[None]:
    """The session worker, if it runs, held still (:func:`paused`) for the whole module: the module's own workers are
    the only ones at work on the database. Set up before any test of the module makes a row."""
    node = session_worker_node()
    if node is None:  # not started (yet): nothing runs what waits on its broker
        yield
        return
    with paused(app.extensions["celery"], node):
        yield
