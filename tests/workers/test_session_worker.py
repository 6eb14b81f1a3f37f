"""The session worker held still (:func:`tests.workers.conftest.paused`): while it is paused, what is sent to it waits
in Redis and nothing runs; afterwards it consumes every queue it consumed before and runs what waited."""

from __future__ import annotations

import pytest
from celery.exceptions import TimeoutError as ResultTimeout

from tests.workers.conftest import paused, session_worker_node


def test_the_session_worker_runs_nothing_while_paused_and_what_waited_after(app, celery_worker):
    node = session_worker_node()
    assert node is not None, "the session worker is a child process of this one"
    celery = app.extensions["celery"]
    queues = {queue["name"] for queue in celery.control.inspect(destination=[node], timeout=30).active_queues()[node]}

    with paused(celery, node):
        assert celery.control.inspect(destination=[node], timeout=30).active_queues() == {node: []}
        held = celery.send_task("health.ping", args=["held"])
        with pytest.raises(ResultTimeout):
            held.get(timeout=2)

    assert held.get(timeout=30) == "pong:held"
    after = celery.control.inspect(destination=[node], timeout=30).active_queues()[node]
    assert {queue["name"] for queue in after} == queues
