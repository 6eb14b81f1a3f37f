"""`disburse web`, `disburse worker` and `disburse beat`, the production commands, run for real as processes: they
use the configured PostgreSQL and Redis and never start embedded ones; they refuse, with exit code 2 and a message
in both languages and no traceback, an unknown queue, a configuration without the servers, and servers that do not
answer; a second beat on the same Redis refuses to start while the first holds the lock, and the lock goes with the
first beat. The web node serves the app.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import psycopg
import pytest
import redis

from disburse import runtime
from disburse.deployment import BEAT_LOCK_KEY, BEAT_LOCK_TTL_S
from tests.runtime.test_up import ROOT, _free_port

pytestmark = pytest.mark.up


@pytest.fixture
def migrated_url(app, database_url):
    """The test database, migrated (the ``app`` fixture upgrades it): the commands start only on the code's schema."""
    return database_url


def command_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("REDIS_SENTINEL", "DATABASE_REPLICA", "DISBURSE_BEAT"))
    }
    env.update({"DISBURSE_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url, **extra})
    return env


def disburse(args: list[str], env: dict[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "disburse.cli", *args], env=env, cwd=ROOT, **kwargs
    )


def refused(args: list[str], env: dict[str, str], timeout: float = 30) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "disburse.cli", *args], env=env, cwd=ROOT, capture_output=True, timeout=timeout
    )
    return done.returncode, (done.stdout + done.stderr).decode(), time.monotonic() - started


def closed_port() -> int:
    return _free_port()  # nothing listens there once the probe socket is closed


@pytest.fixture
def own_redis(own_redis_url: str) -> Iterator[str]:
    url = own_redis_url
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


# ------------------------------------------------------------------------------------------------- refusals


def test_a_worker_on_an_unknown_queue_is_refused_naming_the_queues(migrated_url, own_redis):
    code, output, _ = refused(["worker", "--queues", "payments, bogus"], command_env(migrated_url, own_redis))
    assert code == 2, output
    assert "Không có hàng đợi: bogus" in output and "No such queue: bogus" in output
    assert "payments, provider-events" in output  # the real names, to choose from
    assert "Traceback" not in output


@pytest.mark.parametrize("command", [["web"], ["worker", "--queues", "verification"], ["beat"]])
@pytest.mark.parametrize("down", ["database", "redis"])
def test_each_command_refuses_a_server_that_does_not_answer(command, down, migrated_url, own_redis, tmp_path):
    port = closed_port()
    env = command_env(
        f"postgresql://postgres@127.0.0.1:{port}/disburse" if down == "database" else migrated_url,
        f"redis://127.0.0.1:{port}/0" if down == "redis" else own_redis,
        DISBURSE_INSTANCE=str(tmp_path),
    )
    code, output, seconds = refused(command, env)
    assert code == 2, output
    if down == "database":
        assert f"Không kết nối được PostgreSQL (127.0.0.1:{port}/disburse, DATABASE_URL)" in output
        assert f"Cannot reach PostgreSQL (127.0.0.1:{port}/disburse, DATABASE_URL)" in output
    else:
        assert f"Không kết nối được Redis (127.0.0.1:{port}/0, REDIS_URL)" in output
        assert f"Cannot reach Redis (127.0.0.1:{port}/0, REDIS_URL)" in output
    assert "Traceback" not in output
    assert seconds < 20
    assert list(tmp_path.iterdir()) == []  # no embedded server, no schedule file


@pytest.fixture
def other_database(migrated_url):
    """An empty database beside the test one, dropped after."""
    url = runtime.with_database(migrated_url, f"{runtime.database_name(migrated_url)}_schema_check")
    runtime.drop_database(url)
    runtime.ensure_database(url)
    yield url
    runtime.drop_database(url)


@pytest.mark.parametrize("command", [["web"], ["worker"], ["beat"]])
@pytest.mark.parametrize(
    ("applied", "said"),
    [
        ([], "chưa có lược đồ của disburse (mã cần"),  # never upgraded
        (["0019"], "chưa cập nhật (đang ở 0019"),  # a migration behind
        (["9999_from_a_newer_release"], "phiên bản mới hơn"),
    ],
)
def test_each_command_refuses_a_schema_that_is_not_the_codes(command, applied, said, other_database, own_redis):
    from alembic.script import ScriptDirectory

    from disburse import MIGRATIONS

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with psycopg.connect(runtime.libpq_url(other_database), autocommit=True) as connection:
        if applied:
            connection.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
            connection.execute("INSERT INTO alembic_version VALUES (%s)", applied)
    code, output, _ = refused(command, command_env(other_database, own_redis))
    assert code == 2, output
    assert said in output and head in output, output
    assert ("disburse db upgrade" in output) == (applied != ["9999_from_a_newer_release"])
    assert "Traceback" not in output


@pytest.mark.parametrize("command", [["web"], ["worker"], ["beat"]])
def test_each_command_without_a_database_url_starts_no_embedded_server(command, own_redis, tmp_path):
    env = command_env("", own_redis, DISBURSE_INSTANCE=str(tmp_path))
    del env["DATABASE_URL"]
    code, output, _ = refused(command, env)
    assert code == 2, output
    assert "Chưa đặt DATABASE_URL" in output and "DATABASE_URL not set" in output
    assert "Traceback" not in output
    assert list(tmp_path.iterdir()) == []


def test_a_command_on_an_empty_embedded_database_names_its_folder(own_redis, tmp_path):
    """DISBURSE_INSTANCE set to the wrong folder starts an empty embedded PostgreSQL there: the refusal names that
    folder and DISBURSE_INSTANCE, not only "run `disburse db upgrade`", which would build a second, empty system."""
    env = command_env("", own_redis, DISBURSE_INSTANCE=str(tmp_path / "inst2"))
    del env["DATABASE_URL"]
    code, output, _ = refused(["payments", "batches"], env, timeout=120)
    assert code == 2, output
    assert "disburse db upgrade" in output and "Traceback" not in output
    data = tmp_path / "inst2" / "pgdata"
    assert f"Đây là PostgreSQL nhúng, dữ liệu ở {data} (thư mục DISBURSE_INSTANCE)" in output
    assert f"This is the embedded PostgreSQL, data in {data} (the DISBURSE_INSTANCE folder)" in output


# ------------------------------------------------------------------------------------------------------ beat


def test_a_second_beat_is_refused_while_the_first_holds_the_lock(migrated_url, own_redis, tmp_path):
    env = command_env(migrated_url, own_redis)
    schedule = tmp_path / "beat" / "schedule"
    log = tmp_path / "beat.log"
    with log.open("wb") as out:
        first = disburse(["beat", "--schedule", str(schedule), "--loglevel", "INFO"], env, stdout=out, stderr=out)
    client = redis.Redis.from_url(own_redis, decode_responses=True)
    try:
        deadline = time.monotonic() + 30
        while client.get(BEAT_LOCK_KEY) is None and time.monotonic() < deadline:
            assert first.poll() is None, f"the first beat exited with code {first.returncode}"
            time.sleep(0.2)
        holder = client.get(BEAT_LOCK_KEY)
        assert holder is not None and holder.split(":")[1] == str(first.pid)  # `disburse beat` became celery beat
        assert 0 < client.ttl(BEAT_LOCK_KEY) <= BEAT_LOCK_TTL_S

        code, output, _ = refused(["beat", "--schedule", str(tmp_path / "other")], env)
        assert code == 2, output
        assert f"tiến trình {first.pid}" in output and "chỉ được chạy một beat" in output
        assert f"process {first.pid}" in output and "there must be exactly one" in output
        assert "Traceback" not in output
        assert first.poll() is None, "the first beat goes on"

        # Beat really runs: it sends the payment batches every DISBURSE_PAYMENT_BATCH_EVERY_S (60 s: none yet), and
        # keeps its schedule's state in the file it was given.
        deadline = time.monotonic() + 20
        while not list(schedule.parent.glob("schedule*")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list(schedule.parent.glob("schedule*"))
    finally:
        assert stop(first) == 0
    assert client.get(BEAT_LOCK_KEY) is None, "a beat that stops releases its lock"
    client.close()
    # Once: Celery closes the scheduler twice on a stop, and a second release would log that it failed.
    said = log.read_text()
    assert "beat lock not released" not in said and "Traceback" not in said, said


@pytest.mark.parametrize("moment", ["lock taken", "schedule file made"])
def test_a_beat_stopped_while_it_starts_stops_cleanly_and_frees_the_lock(moment, migrated_url, own_redis, tmp_path):
    """Stopped as soon as it holds its lock (Celery not yet started, its stop handler not yet there) or as soon as its
    schedule file appears (its writability probe, or the scheduler half built), beat still stops with 0 and releases
    its lock, so that a beat started again at once is not refused. Twice each: the moment varies."""
    env = command_env(migrated_url, own_redis)
    client = redis.Redis.from_url(own_redis, decode_responses=True)
    for attempt in range(2):
        schedule = tmp_path / f"beat{attempt}" / "schedule"
        proc = disburse(["beat", "--schedule", str(schedule), "--loglevel", "WARNING"], env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"beat exited with code {proc.returncode}"
            if moment == "lock taken" and client.get(BEAT_LOCK_KEY) is not None:
                break
            if moment == "schedule file made" and list(schedule.parent.glob("schedule*")):
                break
            time.sleep(0.005)
        assert stop(proc) == 0
        assert client.get(BEAT_LOCK_KEY) is None, "a beat that stops releases its lock"
    client.close()


# ------------------------------------------------------------------------------------------------------- web


def test_the_web_node_serves_the_app_and_stops_on_sigterm(migrated_url, own_redis, tmp_path):
    """And its access log names the path, never the query string: a search for a person's name stays out of it. It
    makes no gunicorn control socket (one per user, ~/.gunicorn/gunicorn.ctl: every instance on a machine shared it)."""
    port = _free_port()
    log = tmp_path / "access.log"
    home = tmp_path / "home"
    home.mkdir()
    with log.open("wb") as stdout:
        proc = disburse(
            ["web", "--port", str(port), "--workers", "1"],
            command_env(migrated_url, own_redis, HOME=str(home)),
            stdout=stdout,
        )
    try:
        deadline = time.monotonic() + 60
        body: dict = {}
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"disburse web exited with code {proc.returncode}"
            try:
                url = f"http://127.0.0.1:{port}/api/v1/health?q=Nguy%E1%BB%85n+Th%E1%BB%8B+Lan"
                with urllib.request.urlopen(url, timeout=3) as response:
                    body = json.load(response)
                    break
            except OSError:
                time.sleep(0.3)
        assert body.get("database") == {"ok": True} and body.get("redis") == {"ok": True}, body
    finally:
        assert stop(proc) == 0
    lines = [line for line in log.read_text().splitlines() if "/api/v1/health" in line]
    assert lines and all('"GET /api/v1/health HTTP/1.1" 200' in line for line in lines), lines
    assert "q=" not in log.read_text() and "Nguy" not in log.read_text()
    assert list(home.iterdir()) == [], "no ~/.gunicorn/gunicorn.ctl"


def test_a_beat_takes_a_vanished_lock_again_and_stops_when_another_holds_it(migrated_url, own_redis, tmp_path):
    """Redis restarted empty: the lock is taken again at the next renewal. Another beat holds it (this one stalled
    past its life and another started): this one stops, exit 2, leaving the other's lock alone."""
    from workers.beat import RENEW_EVERY_S

    log = tmp_path / "beat.log"
    with log.open("wb") as stderr:
        beat = disburse(
            ["beat", "--schedule", str(tmp_path / "schedule"), "--loglevel", "WARNING"],
            command_env(migrated_url, own_redis),
            stderr=stderr,
        )
    client = redis.Redis.from_url(own_redis, decode_responses=True)
    try:
        deadline = time.monotonic() + 30
        while client.get(BEAT_LOCK_KEY) is None and time.monotonic() < deadline:
            assert beat.poll() is None, f"beat exited with code {beat.returncode}"
            time.sleep(0.2)
        token = client.get(BEAT_LOCK_KEY)
        assert token is not None

        client.delete(BEAT_LOCK_KEY)
        deadline = time.monotonic() + RENEW_EVERY_S + 15
        while client.get(BEAT_LOCK_KEY) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.get(BEAT_LOCK_KEY) == token, "taken again under its own token"

        client.set(BEAT_LOCK_KEY, "elsewhere:4242:other", ex=BEAT_LOCK_TTL_S)
        assert beat.wait(timeout=RENEW_EVERY_S + 15) == 2
        assert client.get(BEAT_LOCK_KEY) == "elsewhere:4242:other", "the other beat's lock is left alone"
        said = log.read_text(encoding="utf-8")
        assert "Một beat khác đang giữ khóa" in said and "Another beat holds the beat lock" in said, said
    finally:
        stop(beat)
        client.close()
