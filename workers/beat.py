"""Beat's scheduler for ``disburse beat``: Celery's own (the schedule's state in a file) that keeps beat's Redis lock
(:mod:`disburse.deployment`) for as long as it runs.

``disburse beat`` takes the lock and hands its token over in ``DISBURSE_BEAT_LOCK_TOKEN``; started otherwise (``celery
beat --scheduler workers.beat:LockedScheduler``), the scheduler takes it itself. Every ``BEAT_LOCK_TTL_S / 3`` seconds
the lock's time is renewed (every ``RETRY_S`` while Redis is down). A lock found taken by another beat (this one stalled
past the lock's life, or Redis lost the key and another beat took it) stops this beat with exit code 2; a lock that
simply vanished (Redis restarted empty) is taken again. On a normal stop the lock is released.

A stop (SIGTERM, SIGINT) that arrives while the scheduler is being built waits until it is built and beat ticks:
Celery's stop handler asks beat for its scheduler, and asked before there is one it builds a second one in the middle of
the first (an import cut in half, exit 1, the lock left held for its whole life). ``disburse beat`` holds stops back
from before it takes the lock (the mask survives its exec into Celery), so no stop kills beat with the lock held.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from typing import Any

import redis
from celery.beat import PersistentScheduler

from config import load_config
from disburse.deployment import (
    BEAT_LOCK_TTL_S,
    BEAT_TOKEN_ENV,
    Refused,
    beat_lock,
    beat_token,
    lock_client,
    settings,
)

log = logging.getLogger(__name__)

#: Renew the lock this often (seconds): three times within its life.
RENEW_EVERY_S = BEAT_LOCK_TTL_S / 3
#: With Redis down, try to renew again this soon (seconds).
RETRY_S = 5.0
#: Signals held back while the scheduler is built (delivered at the first tick).
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class LockedScheduler(PersistentScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        self._stops_held = True
        self._client: redis.Redis | None = None
        self._lock: Any = None
        self._next_renewal = 0.0
        self._lost = False
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        self._client = lock_client(settings(load_config()))
        token = os.environ.get(BEAT_TOKEN_ENV)
        if token:
            self._lock = beat_lock(self._client, token)
        else:
            self._lock = beat_lock(self._client)
            if not self._lock.acquire(blocking=False, token=beat_token()):
                raise SystemExit(
                    str(Refused("Đã có một beat đang chạy trên Redis này.", "Another beat runs on this Redis."))
                )
        self._renew()
        super().setup_schedule()

    def _renew(self) -> None:
        try:
            self._lock.reacquire()
        except redis.exceptions.LockNotOwnedError:
            # Gone (Redis restarted empty) or someone else's: take it again if nobody holds it.
            token = self._lock.local.token
            if not self._lock.acquire(blocking=False, token=token):
                self._lost = True
                log.critical(
                    "%s",
                    Refused(
                        "Một beat khác đang giữ khóa của beat: beat này dừng lại (mã thoát 2).",
                        "Another beat holds the beat lock now: this one stops (exit code 2).",
                    ),
                )
                raise SystemExit(2) from None
            log.warning("the beat lock had vanished (Redis restarted?): taken again")
        except redis.RedisError as exc:
            # Redis down: nothing can be scheduled anyway; try again at the next tick.
            log.warning("could not renew the beat lock: %s", exc)
            self._next_renewal = time.monotonic() + RETRY_S
            return
        self._next_renewal = time.monotonic() + RENEW_EVERY_S

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if self._stops_held:  # built: a stop that came meanwhile is delivered now, and any later one at once
            self._stops_held = False
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        if time.monotonic() >= self._next_renewal:
            self._renew()
        interval: float = super().tick(*args, **kwargs)
        # Wake for the renewal itself: a tick that fell just short of it (woken early for a task) and then slept a
        # whole period would renew at nearly twice the period, past the test's and the lock's patience.
        return max(0.0, min(interval, self._next_renewal - time.monotonic()))

    def close(self) -> None:
        try:
            super().close()
        finally:
            # Once: Celery closes the scheduler more than once on a stop (a second release would say "not owned").
            lock, self._lock = self._lock, None
            if lock is not None and not self._lost:
                try:
                    lock.release()
                except redis.RedisError as exc:  # expired, or Redis down: it expires by itself
                    log.info("beat lock not released: %s", exc)
            if self._client is not None:
                self._client.close()
        if self._lost:
            raise SystemExit(2)
