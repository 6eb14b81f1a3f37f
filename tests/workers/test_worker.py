"""A real worker consumes every named queue and runs tasks sent through real Redis."""

from __future__ import annotations

from workers.celery_app import TASK_MODULES
from workers.health import ping
from workers.queues import QueueNames


def test_worker_runs_a_task_through_redis(app, celery_worker):
    result = ping.apply_async(args=["hello"])
    assert result.get(timeout=30) == "pong:hello"


def test_worker_consumes_every_named_queue(app, celery_worker):
    active = app.extensions["celery"].control.inspect(timeout=2).active_queues() or {}
    consumed = {queue["name"] for queues in active.values() for queue in queues}
    assert set(QueueNames.all()) <= consumed


def test_every_task_routes_to_a_named_queue(app):
    celery = app.extensions["celery"]
    celery.loader.import_default_modules()
    for module in TASK_MODULES:
        __import__(module)
    ours = {name: task for name, task in celery.tasks.items() if not name.startswith("celery.")}
    assert ours, "no disburse tasks registered"
    for name, task in ours.items():
        assert task.queue in QueueNames.all(), f"task {name} has no named queue"


def test_health_reports_a_live_worker(client, celery_worker):
    body = client.get("/api/v1/health").get_json()
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert body["workers"]["count"] >= 1
    assert body["status"] == "ok"
