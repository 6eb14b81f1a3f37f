"""Entry point for ``celery -A workers.worker worker|beat``."""

from workers.celery_app import make_celery

celery = make_celery()
