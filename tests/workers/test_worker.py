"""A real worker consumes every named queue and runs tasks sent through real Redis."""

from __future__ import annotations

from disburse.background import TASK_QUEUES, QueueNames
from workers.celery_app import TASK_MODULES
from workers.health import ping


def test_worker_runs_a_task_through_redis(app, celery_worker):
    result = ping.apply_async(args=["hello"])
    assert result.get(timeout=30) == "pong:hello"


def test_worker_consumes_every_named_queue(app, celery_worker):
    active = app.extensions["celery"].control.inspect(timeout=2).active_queues() or {}
    consumed = {queue["name"] for queues in active.values() for queue in queues}
    assert set(QueueNames.all()) <= consumed


def test_every_task_has_a_stable_name_routed_to_a_named_queue(app):
    """The app sends work by name (disburse.background.TASK_QUEUES): every task the worker has is in that table, on
    a named queue, and every name in the table is a task the worker has."""
    celery = app.extensions["celery"]
    for module in TASK_MODULES:
        __import__(module)
    ours = {name for name in celery.tasks if not name.startswith("celery.")}
    assert ours == set(TASK_QUEUES)
    for name, queue in TASK_QUEUES.items():
        assert queue in QueueNames.all(), f"task {name} routes to {queue}, which no worker consumes"
        assert celery.amqp.router.route({}, name)["queue"].name == queue


def test_health_reports_a_live_worker(client, celery_worker):
    body = client.get("/api/v1/health").get_json()
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert body["workers"]["count"] >= 1
    assert body["status"] == "ok"
