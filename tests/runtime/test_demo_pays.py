"""`disburse up --demo` moves by itself: started for real (web, worker, beat, sandbox bank) on a fresh database and a
Redis database of its own, the home page's paid percentage for the demo programme, and the national supervisor's
dashboard (signed in with the printed demo log-in), rise above 0 within two minutes of the start, and everything
stops cleanly.

Nothing is faked: the seed's Form 02 confirmations ask for verification after their commit, the worker verifies,
beat batches the approved claims, the sandbox bank settles them after its delay (some fail) and calls back, and the
callbacks are applied. A small demo (30 units, 3,000 people) keeps the machine free for others; the full one is
measured in the README ("Demo").
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email import message_from_bytes, policy
from http.cookiejar import CookieJar
from pathlib import Path

import psutil
import psycopg
import pytest
import redis

from disburse import runtime
from tests.runtime.test_up import ROOT, _free_port, _kill_tree, _wait_for_health

pytestmark = pytest.mark.up

#: From the start of `disburse up --demo` to a paid percentage above 0 on the home page.
WITHIN_S = 120.0


@pytest.fixture
def demo_redis_url(own_redis_url: str) -> Iterator[str]:
    """The run's own Redis database for the demo's queues (not the session worker's), emptied before and after."""
    client = redis.Redis.from_url(own_redis_url)
    try:
        client.flushdb()
        yield own_redis_url
        client.flushdb()
    finally:
        client.close()


@pytest.fixture
def fresh_database_url(services: runtime.Services) -> Iterator[str]:
    base = runtime.database_name(services.database_url)
    url = runtime.with_database(services.database_url, f"{base}_disburse_demo_{os.getpid()}")
    runtime.drop_database(url)  # `disburse up` creates it
    yield url
    runtime.drop_database(url)


def _paid_percent(port: int) -> float | None:
    """The demo programme's paid percentage as the home page shows it (its progress bar's value)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            page = response.read().decode("utf-8")
    except OSError:
        return None
    section = page[page.index("(DEMO116)") :] if "(DEMO116)" in page else ""
    found = re.search(r'<progress class="bar" max="100" value="([0-9.]+)"', section)
    return float(found.group(1)) if found else None


def _supervisor(port: int) -> urllib.request.OpenerDirector | None:
    """A browser-like client signed in as the demo's national supervisor (the log-in `disburse up` prints)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    try:
        with opener.open(f"http://127.0.0.1:{port}/login", timeout=5) as response:
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.read().decode("utf-8"))
        assert token, "the sign-in page has no CSRF token"
        form = {"email": "giamsat.quocgia@demo.disburse.vn", "password": "demo-quocgia-116", "csrf_token": token[1]}
        with opener.open(
            f"http://127.0.0.1:{port}/login", data=urllib.parse.urlencode(form).encode(), timeout=5
        ) as response:
            response.read()
    except OSError:
        return None
    return opener


def _dashboard_percent(opener: urllib.request.OpenerDirector | None, port: int) -> str | None:
    """The paid percentage the dashboard shows for the whole country ("12,3%"), or None."""
    if opener is None:
        return None
    try:
        with opener.open(f"http://127.0.0.1:{port}/dashboard/", timeout=5) as response:
            page = response.read().decode("utf-8")
    except OSError:
        return None
    found = re.search(r'data-figure="percent_paid">([^<]*)<', page)
    return found.group(1) if found else None


def _text_of(letter: Path) -> str:
    body = message_from_bytes(letter.read_bytes(), policy=policy.default).get_body()
    assert body is not None, letter
    return str(body.get_content())


def test_up_demo_pays_within_two_minutes(fresh_database_url, demo_redis_url, tmp_path_factory):
    instance = tmp_path_factory.mktemp("demo-instance")
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DISBURSE_PROGRAM",
            "DISBURSE_TODAY",
            "DISBURSE_PAYMENT_BATCH_EVERY_S",
            "DISBURSE_SANDBOX_CALLBACK_URL",
            "DISBURSE_PAYMENT_PROVIDER",
            "DISBURSE_BASE_URL",
            "DISBURSE_MAIL_DIR",
            "DISBURSE_SMTP_URL",
        }
    }
    env.update(
        {
            "DATABASE_URL": fresh_database_url,
            "REDIS_URL": demo_redis_url,
            "DISBURSE_ENV": "development",
            "DISBURSE_INSTANCE": str(instance),
            "DISBURSE_SANDBOX_URL": f"http://127.0.0.1:{_free_port()}",
        }
    )
    started = time.monotonic()
    proc = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "disburse.cli",
            "up",
            "--demo",
            "--port",
            str(port),
            "--workers",
            "1",
            "--demo-employers",
            "30",
            "--demo-employees",
            "3000",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        _wait_for_health(port, proc, timeout=WITHIN_S)
        descendants = psutil.Process(proc.pid).children(recursive=True)
        supervisor = None
        seen: list[tuple[float, float | None, str | None]] = []
        while time.monotonic() - started < WITHIN_S:
            assert proc.poll() is None, f"disburse up exited with code {proc.returncode}"
            supervisor = supervisor or _supervisor(port)
            seen.append(
                (round(time.monotonic() - started, 1), _paid_percent(port), _dashboard_percent(supervisor, port))
            )
            if (seen[-1][1] or 0) > 0 and seen[-1][2] not in (None, "—", "0,0%"):
                break
            time.sleep(2)
        print(f"paid percentage over time (s, home %, dashboard): {seen}")  # shown with -s or on failure
        shown = [percent for _, percent, _ in seen if percent is not None]
        assert shown, f"the home page never showed the demo programme: {seen}"
        assert shown[-1] > 0, f"nothing paid within {WITHIN_S:.0f} s: {seen}"
        assert seen[-1][2] not in (None, "—", "0,0%"), f"the dashboard did not move within {WITHIN_S:.0f} s: {seen}"
        # `up` itself holds no transaction open while it runs (the seed's was, for hours: locks a migration waited
        # for, vacuum's horizon held back).
        database_port = urllib.parse.urlsplit(fresh_database_url).port or 5432
        own = [
            c.laddr.port
            for c in psutil.Process(proc.pid).net_connections(kind="tcp")
            if c.raddr and c.raddr.port == database_port
        ]
        with psycopg.connect(runtime.libpq_url(fresh_database_url), autocommit=True) as conn:
            open_ones = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE client_port = ANY(%s) AND xact_start IS NOT NULL", (own,)
            ).fetchone()
        assert open_ones == (0,), f"disburse up holds a transaction open on its connections {own}"
        # The units' "list ready" e-mails (.eml files in the demo) link to this server, on its --port (they said
        # :5000 whatever the port).
        letters = [_text_of(path) for path in (instance / "mail").glob("*.eml")]
        assert letters, "the demo wrote no e-mail"
        assert all(f"http://127.0.0.1:{port}/employers/" in letter for letter in letters), letters[0]
    except BaseException:
        _kill_tree(proc)
        raise
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    time.sleep(0.5)
    assert [p.pid for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
