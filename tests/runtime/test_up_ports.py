"""`disburse up` says it is running only when it is: a port another program holds stops it before it starts anything
(exit 2, a message in Vietnamese and English naming the port and how to choose another), and a process that stops
while it runs stops all the others and is named (exit 1). Real processes, a real listening socket, real servers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.runtime.test_up import ROOT, _free_port, _kill_tree, _wait_for_health

pytestmark = pytest.mark.up

RUNNING = "disburse is running"


@pytest.fixture
def occupied_port() -> Iterator[int]:
    """A port another program listens on: a real socket, accepting connections, for the whole test."""
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


def _env(database_url: str, redis_url: str, sandbox_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DISBURSE_ENV": "development",
        "DISBURSE_PAYMENT_PROVIDER": "sandbox",
        "DISBURSE_SANDBOX_URL": f"http://127.0.0.1:{sandbox_port}",
    }


def _start_up(env: dict[str, str], port: int, out: Path) -> subprocess.Popen[bytes]:
    """`disburse up` with its output (and its children's) in files: a pipe nobody reads would block the children."""
    with (out / "stdout").open("wb") as stdout, (out / "stderr").open("wb") as stderr:
        return subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "-m", "disburse.cli", "up", "--port", str(port), "--workers", "1"],
            env=env,
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
        )


def _wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, set[psutil.Process]]:
    """Wait for `up` to exit, noting every process it started meanwhile."""
    seen: set[psutil.Process] = set()
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"disburse up still running after {timeout} s")
            with contextlib.suppress(psutil.NoSuchProcess):  # `up` exited meanwhile
                seen.update(psutil.Process(proc.pid).children(recursive=True))
            time.sleep(0.1)
    finally:
        _kill_tree(proc)
    return proc.returncode, seen


def _alive(processes: set[psutil.Process]) -> list[str]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(" ".join(process.cmdline()))
        except psutil.NoSuchProcess:
            pass
    return alive


def _ours_left(web_port: int, sandbox_port: int) -> list[str]:
    """Any process anywhere serving either port for us: a gunicorn bound to it or a sandbox bank on it."""
    marks = (f"127.0.0.1:{web_port}", f"--port {sandbox_port}")
    left = []
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if "disburse" in command and any(mark in command for mark in marks):
            left.append(command)
    return left


@pytest.mark.parametrize("taken", ["sandbox", "web"])
def test_up_refuses_a_port_in_use_and_leaves_nothing_running(taken, occupied_port, database_url, redis_url, tmp_path):
    web_port = occupied_port if taken == "web" else _free_port()
    sandbox_port = occupied_port if taken == "sandbox" else _free_port()
    proc = _start_up(_env(database_url, redis_url, sandbox_port), web_port, tmp_path)
    code, started = _wait_exit(proc, timeout=120)

    stdout = (tmp_path / "stdout").read_text()
    stderr = (tmp_path / "stderr").read_text()
    assert code == 2, stderr
    assert RUNNING not in stdout
    assert f"Cổng {occupied_port} đang được dùng bởi một chương trình khác" in stderr
    assert f"Port {occupied_port} is in use by another program" in stderr
    if taken == "sandbox":
        assert f"DISBURSE_SANDBOX_URL (now http://127.0.0.1:{occupied_port})" in stderr
    else:
        assert "choose another port with --port" in stderr
    assert "Traceback" not in stderr
    time.sleep(0.5)
    assert _alive(started) == []
    assert _ours_left(web_port, sandbox_port) == []


def test_up_names_a_process_that_stops_and_stops_the_others(database_url, redis_url, tmp_path):
    web_port, sandbox_port = _free_port(), _free_port()
    proc = _start_up(_env(database_url, redis_url, sandbox_port), web_port, tmp_path)
    try:
        _wait_for_health(web_port, proc)
        deadline = time.monotonic() + 30
        while RUNNING not in (tmp_path / "stdout").read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert RUNNING in (tmp_path / "stdout").read_text()
        children = psutil.Process(proc.pid).children(recursive=True)
        sandbox = [p for p in children if "sandbox serve" in " ".join(p.cmdline())]
        assert len(sandbox) == 1
        sandbox[0].send_signal(signal.SIGKILL)
    except BaseException:
        _kill_tree(proc)
        print((tmp_path / "stderr").read_text()[-4000:])  # why it stopped early, in the failure's captured output
        raise
    code, started = _wait_exit(proc, timeout=60)

    stderr = (tmp_path / "stderr").read_text()
    assert code == 1, stderr
    assert "Tiến trình sandbox (ngân hàng thử nghiệm) bị dừng bởi tín hiệu SIGKILL" in stderr
    assert "The sandbox process (sandbox bank) was killed by signal SIGKILL" in stderr
    assert "Traceback" not in stderr
    time.sleep(0.5)
    assert _alive({*children, *started}) == []
    assert _ours_left(web_port, sandbox_port) == []


def test_up_refuses_while_another_beat_holds_the_lock(database_url, own_redis_url, tmp_path):
    """Another `up` (or one killed less than a minute ago) holds beat's lock: `up` said it was running, then its beat
    stopped ("Another beat runs on this Redis.") and took every process with it. Now it refuses before it starts
    anything, naming the holder and when the lock runs out."""
    import redis as redis_lib

    from disburse.deployment import BEAT_LOCK_KEY

    client = redis_lib.Redis.from_url(own_redis_url)
    client.set(BEAT_LOCK_KEY, "other-host:4242:abcd1234", ex=60)
    try:
        web_port, sandbox_port = _free_port(), _free_port()
        proc = _start_up(_env(database_url, own_redis_url, sandbox_port), web_port, tmp_path)
        code, started = _wait_exit(proc, timeout=120)
    finally:
        client.delete(BEAT_LOCK_KEY)
        client.close()
    stdout, stderr = (tmp_path / "stdout").read_text(), (tmp_path / "stderr").read_text()
    assert code == 2, stderr
    assert RUNNING not in stdout and "Applying migrations" not in stdout
    assert "Another beat is running (host other-host, process 4242)" in stderr
    assert "Đã có một beat đang chạy (máy other-host, tiến trình 4242)" in stderr
    time.sleep(0.5)
    assert _alive(started) == []


def test_beat_lock_taken_by_up_is_one_holders_and_let_go_of_only_by_it(own_redis_url):
    """`up` checked the lock and its beat took it later: two `up` started together both passed the check. It takes
    the lock now and hands the token to its beat: a second taker is refused at once, the holder extends it (or takes
    it again after it ran out, if nobody took it meanwhile), and letting go never frees another's lock."""
    import redis as redis_lib

    from config import Test
    from disburse.deployment import BEAT_LOCK_KEY, Refused, hold_beat_lock, release_beat_lock

    config = Test()
    config.REDIS_URL = own_redis_url
    client = redis_lib.Redis.from_url(own_redis_url, decode_responses=True)
    client.delete(BEAT_LOCK_KEY)
    try:
        first = hold_beat_lock(config)
        assert client.get(BEAT_LOCK_KEY) == first
        with pytest.raises(Refused) as refused:
            hold_beat_lock(config)  # the second `up`, started at the same moment
        assert f"process {first.split(':')[1]}" in refused.value.en

        client.expire(BEAT_LOCK_KEY, 5)
        assert hold_beat_lock(config, first) == first and client.ttl(BEAT_LOCK_KEY) > 5  # held again, whole life
        client.delete(BEAT_LOCK_KEY)  # ran out while the seed ran, and nobody took it: taken again
        assert hold_beat_lock(config, first) == first and client.get(BEAT_LOCK_KEY) == first

        client.set(BEAT_LOCK_KEY, "other-host:4242:abcd1234", ex=60)  # ran out, and another took it
        with pytest.raises(Refused):
            hold_beat_lock(config, first)
        release_beat_lock(config, first)
        assert client.get(BEAT_LOCK_KEY) == "other-host:4242:abcd1234"  # not ours to free

        client.delete(BEAT_LOCK_KEY)
        mine = hold_beat_lock(config)
        release_beat_lock(config, mine)
        assert client.get(BEAT_LOCK_KEY) is None
        release_beat_lock(config, mine)  # again, or after the beat let go itself: nothing happens
    finally:
        client.delete(BEAT_LOCK_KEY)
        client.close()


def test_up_keeps_beat_lock_while_it_migrates_and_seeds(own_redis_url):
    """`up` took the lock (60 s of life) and held it again only before its beat started: a migration and a demo seed
    of minutes let it run out, and a second `up` started meanwhile passed. It is held every third of its life until
    then, and no longer once stopped."""
    import time

    import redis as redis_lib

    from config import Test
    from disburse.deployment import BEAT_LOCK_KEY, hold_beat_lock, keep_beat_lock, release_beat_lock

    config = Test()
    config.REDIS_URL = own_redis_url
    client = redis_lib.Redis.from_url(own_redis_url, decode_responses=True)
    client.delete(BEAT_LOCK_KEY)
    try:
        token = hold_beat_lock(config)
        stop = keep_beat_lock(config, token, every=0.2)
        client.expire(BEAT_LOCK_KEY, 1)  # as if its life were nearly over
        time.sleep(1.5)
        assert client.get(BEAT_LOCK_KEY) == token and client.ttl(BEAT_LOCK_KEY) > 50
        stop.set()
        time.sleep(0.5)
        client.expire(BEAT_LOCK_KEY, 1)
        time.sleep(1.5)
        assert client.get(BEAT_LOCK_KEY) is None  # stopped: let run out
        release_beat_lock(config, token)
    finally:
        client.delete(BEAT_LOCK_KEY)
        client.close()
