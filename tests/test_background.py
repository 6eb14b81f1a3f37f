"""Work is sent to Redis only when the transaction that asked for it commits (real Redis, real Celery).

The messages go to a Redis database no worker reads (the ``broker`` fixture), through a Celery app configured as the
app's, so that the test can count them without a worker taking them first."""

from __future__ import annotations

import pytest
import redis

from disburse.background import TASK_QUEUES, QueueNames, UnknownTask, enqueue_after_commit
from disburse.jobs import service as jobs
from disburse.jobs.models import Job
from tests.apps import waiting


def _waiting(client: redis.Redis, queue: str) -> list[tuple[str, list]]:
    """(task name, positional arguments) of each message waiting in ``queue``, oldest first."""
    return [(name, args) for name, args, _kwargs in waiting(client, queue)]


def test_sent_when_the_transaction_commits(db_session, broker):
    enqueue_after_commit("lists.build", "NQ116", 42)
    assert broker.llen(QueueNames.REPORTS) == 0, "nothing is sent before the commit"
    db_session.commit()
    assert _waiting(broker, QueueNames.REPORTS) == [("lists.build", ["NQ116", 42])]


def test_nothing_sent_when_the_transaction_rolls_back(db_session, broker):
    enqueue_after_commit("lists.build", "NQ116", 42)
    db_session.rollback()
    db_session.commit()  # a later commit does not revive what was rolled back
    assert broker.llen(QueueNames.REPORTS) == 0


def test_a_savepoint_decides_for_the_tasks_asked_inside_it(db_session, broker):
    enqueue_after_commit("health.ping", "outer")
    with db_session.begin_nested():
        enqueue_after_commit("health.ping", "kept")
    try:
        with db_session.begin_nested():
            enqueue_after_commit("health.ping", "dropped")
            raise RuntimeError
    except RuntimeError:
        pass
    assert broker.llen(QueueNames.PERIODIC) == 0, "a released savepoint waits for the outer commit"
    db_session.commit()
    assert sorted(_waiting(broker, QueueNames.PERIODIC)) == [("health.ping", ["kept"]), ("health.ping", ["outer"])]


def test_an_unknown_task_name_is_refused_at_once(db_session, broker):
    with pytest.raises(UnknownTask, match=r"imports\.rnu"):
        enqueue_after_commit("imports.rnu", 1)
    db_session.commit()
    assert all(broker.llen(queue) == 0 for queue in set(TASK_QUEUES.values()))


def test_a_submitted_job_is_sent_with_its_id_after_the_commit_only(db_session, broker):
    job = jobs.submit("lists.build", {"program": "NQ116"}, "lists.build", "NQ116")
    assert broker.llen(QueueNames.REPORTS) == 0
    db_session.commit()
    assert _waiting(broker, QueueNames.REPORTS) == [("lists.build", ["NQ116", job.id])]

    dropped = jobs.submit("lists.build", {"program": "NQ116"}, "lists.build", "NQ116")
    dropped_id = dropped.id
    db_session.rollback()
    assert broker.llen(QueueNames.REPORTS) == 1
    assert db_session.get(Job, dropped_id) is None


def test_a_test_that_runs_no_worker_sends_where_no_worker_reads(db_session, redis_url, idle_redis_url):
    """The suite's own guard (tests/conftest.py): a rolled-back test's commits send their tasks, and on the session
    worker's broker a later test's worker ran them against that test's rows. Here they wait where no worker reads."""
    session_broker, idle = redis.Redis.from_url(redis_url), redis.Redis.from_url(idle_redis_url)
    try:
        before = session_broker.llen(QueueNames.PROVIDER_EVENTS)
        enqueue_after_commit("payments.apply_events")
        db_session.commit()
        assert _waiting(idle, QueueNames.PROVIDER_EVENTS) == [("payments.apply_events", [])]
        assert session_broker.llen(QueueNames.PROVIDER_EVENTS) == before
    finally:
        session_broker.close()
        idle.close()
