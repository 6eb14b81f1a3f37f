"""The Celery app for ``celery -A workers.worker``: the app's own Celery (configured in :mod:`disburse.background`)
with the task modules below added. The task names and their queues are fixed in
:data:`disburse.background.TASK_QUEUES`; each task is thin: load by id, call ``disburse.<feature>.service``,
commit, decide retry.
"""

from __future__ import annotations

from celery import Celery

TASK_MODULES = [
    "workers.health",
    "workers.imports",
    "workers.forms",
    "workers.lists",
    "workers.notices",
    "workers.verification",
    "workers.sweepers",
    "workers.payments",
    "workers.reconcile",
    "workers.exports",
    "workers.notifications",
]


def make_celery() -> Celery:
    from disburse import create_app

    app = create_app()
    celery: Celery = app.extensions["celery"]
    celery.conf.include = TASK_MODULES
    return celery
