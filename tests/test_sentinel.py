"""Redis behind Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER): the configuration read, the URLs and options
given to Celery and the rate limiter, and, with a real ``redis-server`` and a real ``redis-server --sentinel`` on
free ports, the app's own client, the health check and a real worker (``disburse worker``) finding the master
through the sentinel."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from flask import Flask
from redis.backoff import NoBackoff
from redis.retry import Retry

import config
from disburse import create_app, runtime
from disburse.extensions import db, redis_client
from tests.apps import restore_celery
from tests.runtime.test_up import ROOT

MASTER = "disburse-test"


def test_sentinels_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("REDIS_SENTINELS", "10.0.0.1:26379, sentinel-b:26380")
    monkeypatch.setenv("REDIS_SENTINEL_MASTER", "bhxh")
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = config.Development()
    assert settings.REDIS_SENTINELS == (("10.0.0.1", 26379), ("sentinel-b", 26380))
    assert settings.REDIS_SENTINEL_MASTER == "bhxh"
    assert settings.REDIS_URL == "redis://bhxh/0", "no embedded Redis is started when sentinels are named"


@pytest.mark.parametrize("value", ["10.0.0.1", "10.0.0.1:port", "10.0.0.1:26379,", ":26379", "a:70000"])
def test_a_malformed_sentinel_list_stops_the_process(monkeypatch, value):
    monkeypatch.setenv("REDIS_SENTINELS", value)
    with pytest.raises(config.ConfigError, match="REDIS_SENTINELS must be host:port pairs"):
        config.Development()


def test_celery_and_the_limiter_ask_the_sentinels():
    settings = {
        "REDIS_URL": "redis://:s%40cret@ignored/4",
        "REDIS_SENTINELS": (("10.0.0.1", 26379), ("10.0.0.2", 26380)),
        "REDIS_SENTINEL_MASTER": "bhxh",
        "REDIS_TIMEOUT_S": 1.0,
    }
    # The sentinels are asked as every Redis call is: 1 s, no retries (redis-py's own: 5 s, three retries).
    asking = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0, "retry": Retry(NoBackoff(), 0)}
    assert runtime.celery_redis(settings) == (
        "sentinel://:s%40cret@10.0.0.1:26379/4;sentinel://:s%40cret@10.0.0.2:26380/4",
        {"master_name": "bhxh", "sentinel_kwargs": asking},
    )
    assert runtime.limiter_storage(settings) == (
        "redis+sentinel://10.0.0.1:26379,10.0.0.2:26380/bhxh",
        {"db": 4, "use_replicas": False, "password": "s@cret", "sentinel_kwargs": asking},
    )
    plain = {"REDIS_URL": "redis://127.0.0.1:6379/2", "REDIS_SENTINELS": ()}
    assert runtime.celery_redis(plain) == ("redis://127.0.0.1:6379/2", {})
    assert runtime.limiter_storage(plain) == ("redis://127.0.0.1:6379/2", {})


# ------------------------------------------------------------------------------------------ a real Sentinel


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{what} within {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """A private redis-server and a sentinel watching it as MASTER: (Redis port, sentinel port)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    folder: Path = tmp_path_factory.mktemp("sentinel")
    redis_port, sentinel_port = _free_port(), _free_port()
    server = subprocess.Popen(  # noqa: S603 - the installed binary, fixed arguments
        [binary, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        cwd=folder,
    )
    conf = folder / "sentinel.conf"  # the sentinel rewrites its file: a writable copy of its own
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {folder}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {redis_port} 1\n"
        f"sentinel down-after-milliseconds {MASTER} 5000\n"
    )
    watcher = subprocess.Popen(  # noqa: S603 - the installed binary, fixed arguments
        [binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL, cwd=folder
    )
    try:
        # The master answering first: the sentinel names it from its file at once, before it listens (a test asking
        # then was refused, under load).
        master = redis.Redis(port=redis_port, socket_timeout=1)
        _wait(lambda: bool(master.ping()), "the master did not answer")
        master.close()
        asker = redis.Redis(port=sentinel_port, socket_timeout=1, decode_responses=True)
        named = ["127.0.0.1", str(redis_port)]
        _wait(
            lambda: asker.execute_command("SENTINEL", "get-master-addr-by-name", MASTER) == named,
            "the sentinel did not name the master",
        )
        asker.close()
        yield redis_port, sentinel_port
    finally:
        _stop(watcher)
        _stop(server)


def _app_on_sentinel(app: Flask, database_url: str, sentinel_port: int) -> Iterator[Flask]:
    """Another app whose Redis is MASTER as the sentinel at ``sentinel_port`` names it; the session's app bound back
    afterwards."""
    settings = config.Test()
    settings.DATABASE_URL = database_url
    settings.REDIS_URL = "redis://ignored/3"
    settings.REDIS_SENTINELS = (("127.0.0.1", sentinel_port),)
    settings.REDIS_SENTINEL_MASTER = MASTER
    built = create_app(settings)
    yield built
    from disburse.extensions import limiter

    with built.app_context():
        db.engine.dispose()
    built.extensions["celery"].close()
    # Flask-Limiter merges each app's storage options into the ones it keeps: drop the sentinel-only ones.
    for key in ("use_replicas", "db", "sentinel_kwargs"):
        limiter._storage_options.pop(key, None)
    limiter.init_app(app)
    restore_celery(app)


@pytest.fixture
def sentinel_app(app: Flask, database_url: str, sentinel: tuple[int, int]) -> Iterator[Flask]:
    yield from _app_on_sentinel(app, database_url, sentinel[1])


def test_the_apps_own_client_and_the_health_check_find_the_master(sentinel_app, sentinel):
    client = redis_client(sentinel_app.config, socket_timeout=2)
    client.set("disburse:sentinel-test", "found")
    client.close()
    direct = redis.Redis(port=sentinel[0], db=3, decode_responses=True)
    try:
        assert direct.get("disburse:sentinel-test") == "found", "written to the master's database 3"
        direct.delete("disburse:sentinel-test")
    finally:
        direct.close()
    with sentinel_app.test_client() as browser:
        body = browser.get("/api/v1/health").get_json()
    assert body["redis"] == {"ok": True} and body["database"] == {"ok": True}


@pytest.mark.worker  # starts its own worker process (not the session-wide fixture)
def test_a_real_worker_takes_a_task_through_the_sentinel(sentinel_app, sentinel, database_url):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_REPLICA_URL"}
    env.update(
        {
            "DISBURSE_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": "redis://ignored/3",
            "REDIS_SENTINELS": f"127.0.0.1:{sentinel[1]}",
            "REDIS_SENTINEL_MASTER": MASTER,
        }
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "disburse.cli", "worker", "--queues", "periodic", "--pool", "solo", "-l", "WARNING"],
        env=env,
        cwd=ROOT,
    )
    try:
        result = sentinel_app.extensions["celery"].send_task("health.ping", args=["sentinel"])
        assert result.get(timeout=60) == "pong:sentinel"  # sent, taken and answered through the master
    finally:
        _stop(worker)
    assert worker.returncode == 0


# ------------------------------------------------------------------------------------ a Sentinel that hangs


@pytest.fixture
def hanging_sentinel_app(app: Flask, database_url: str, hanging_redis_url: str) -> Iterator[Flask]:
    """An app whose only sentinel accepts connections and never answers (a hung Sentinel, a black-holed network:
    the outside world failing, played by a socket in a thread)."""
    yield from _app_on_sentinel(app, database_url, int(urlsplit(hanging_redis_url).port or 0))


def test_a_sentinel_that_never_answers_costs_sign_in_a_second_not_a_hang(hanging_sentinel_app):
    """Every Redis call has a short timeout, the questions to the sentinels too: sign-in answers its 503 page."""
    client = hanging_sentinel_app.test_client()
    started = time.monotonic()
    response = client.post(
        "/login",
        data={"email": "lan@bhxh.vn", "password": "mat-khau-rat-dai"},
        headers={"Accept-Language": "en"},
    )
    took = time.monotonic() - started
    # The sign-in form back, what was typed kept, saying to send again (tests/test_redis_down.py).
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and "The system could not take this send just now" in page
    assert 'value="lan@bhxh.vn"' in page
    assert took < 2.0, f"sign-in took {took:.2f} s"
    started = time.monotonic()
    health = client.get("/api/v1/health")
    took = time.monotonic() - started
    assert health.status_code == 503
    assert health.get_json()["redis"] == {"ok": False, "error": "Unavailable"}, "not the 1.5 s budget's cut (Timeout)"
    assert took < 2.0, f"health took {took:.2f} s"
