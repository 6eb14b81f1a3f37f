"""A ping task: lets the health check and the worker tests prove a real worker consumes real Redis."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="health.ping", ignore_result=False)
def ping(value: str) -> str:
    return f"pong:{value}"
