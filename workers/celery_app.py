"""The Celery app, bound to a Flask app (Flask's "Background Tasks with Celery" pattern).

Task modules are listed in ``TASK_MODULES``; each task is thin: load by id, call ``disburse.<feature>.service``,
commit, decide retry.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask
from kombu import Queue

from disburse.runtime import celery_broker_url
from workers.queues import QueueNames

TASK_MODULES = ["workers.health", "workers.imports", "workers.lists"]


def init_celery(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    broker = celery_broker_url(app.config["REDIS_URL"])
    celery = Celery(app.name, task_cls=FlaskTask, include=TASK_MODULES)
    celery.conf.update(
        broker_url=broker,
        result_backend=broker,
        task_ignore_result=True,
        task_default_queue=QueueNames.PERIODIC,
        task_queues=[Queue(name) for name in QueueNames.all()],
        task_serializer="json",
        accept_content=["json"],
        timezone="Asia/Ho_Chi_Minh",
        enable_utc=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": app.config["CELERY_VISIBILITY_TIMEOUT_S"]},
        result_backend_transport_options={"visibility_timeout": app.config["CELERY_VISIBILITY_TIMEOUT_S"]},
        beat_schedule={},
    )
    if app.testing:
        celery.conf.worker_hijack_root_logger = False
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def make_celery() -> Celery:
    from disburse import create_app

    app = create_app()
    return app.extensions["celery"]
