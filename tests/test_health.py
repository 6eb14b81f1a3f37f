"""GET /api/v1/health, public for load balancers: the state of the database, Redis and the workers and how many
workers answer; the workers' names (node names carry internal hostnames) only for signed-in admins."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from disburse.api import health
from disburse.auth.service import create_token
from disburse.background import ping_workers
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_user


def _worker_names(app) -> list[str]:
    """The node names of the workers that answer a ping, as the health check asks (the session's worker has
    answered one already: tests/real_worker.py)."""
    with app.app_context():
        return ping_workers(1.0)


def _health(client, headers=None):
    """The health check's answer, which counts the running worker the first time."""
    response = client.get("/api/v1/health", headers=headers or {})
    assert response.get_json()["workers"]["count"], response.get_json()
    return response


def _ask_at_once(app, times: int) -> list[dict]:
    """The health check asked ``times`` times, four at once, each by a client of its own (load balancers' probes, the
    web workers of one node): each answer's status, worker count and HTTP status."""

    def ask(_):
        response = app.test_client().get("/api/v1/health")
        body = response.get_json()
        return {"status": body["status"], "count": body["workers"]["count"], "http": response.status_code}

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(ask, range(times)))


def test_no_worker_is_degraded_every_time(app_on_redis, own_redis_url):
    """A broker no worker listens to (the one modules with workers of their own take in turn): every answer says so,
    asked however often, and the node stays up (200)."""
    quiet = app_on_redis(own_redis_url)
    assert _ask_at_once(quiet, 8) == [{"status": "degraded", "count": 0, "http": 200}] * 8
    body = quiet.test_client().get("/api/v1/health").get_json()
    assert body["database"] == {"ok": True} and body["redis"] == {"ok": True}
    assert set(body) == {"status", "database", "redis", "workers"}
    assert body["workers"]["names"] is None  # signed out


def test_signed_out_callers_get_the_states_and_a_count_and_no_machine_names(app, client, celery_worker):
    names = _worker_names(app)
    response = _health(client)
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "ok"
    assert body["database"] == {"ok": True} and body["redis"] == {"ok": True}
    assert body["workers"]["ok"] is True and body["workers"]["count"] >= 1 and body["workers"]["names"] is None
    text = response.get_data(as_text=True)
    for name in [*names, *(name.partition("@")[2] for name in names), socket.gethostname()]:
        assert name not in text, name


@pytest.mark.parametrize("role", ["caseworker", "employer", "supervisor"])
def test_signed_in_users_other_than_admins_get_no_machine_names(app, client, celery_worker, role):
    names = _worker_names(app)
    user = create_user(role, password=PASSWORD)
    sign_in(client, user)
    by_session = _health(client).get_json()["workers"]
    token = create_token(user)
    by_token = _health(app.test_client(), {"Authorization": f"Bearer {token}"}).get_json()["workers"]
    for workers in (by_session, by_token):
        assert workers["ok"] is True and workers["count"] >= 1 and workers["names"] is None
    assert names  # there were names to hide


def test_admins_see_which_workers_answer(app, client, celery_worker):
    names = _worker_names(app)
    admin = create_user("admin", password=PASSWORD)
    sign_in(client, admin)
    by_session = _health(client).get_json()["workers"]
    assert by_session["names"] == names and by_session["count"] == len(names)
    token = create_token(admin)
    by_token = _health(app.test_client(), {"Authorization": f"Bearer {token}"}).get_json()
    assert by_token["workers"]["names"] == names
    # A token that is not good is a signed-out caller here (the check is public): no names, and no 401.
    stranger = app.test_client().get("/api/v1/health", headers={"Authorization": "Bearer dsb_nothing"})
    assert stranger.status_code == 200 and stranger.get_json()["workers"]["names"] is None


def test_a_running_worker_is_counted_however_close_together_the_checks_come(app, celery_worker):
    """Each ping once took a pooled broker connection that the one before had left waiting on its last BRPOP: asked
    again within a second, the check heard no worker and said "degraded"."""
    running = len(_worker_names(app))
    assert running
    answers = _ask_at_once(app, 16)
    answers += [_ask_at_once(app, 1)[0] for _ in range(4)]  # one right after the other
    assert answers == [{"status": "ok", "count": running, "http": 200}] * 20


def test_the_documented_answer_says_the_names_are_for_admins(app):
    from disburse.api.openapi import build

    schema = build(app)["components"]["schemas"]["WorkersCheck"]
    assert "admins" in schema["properties"]["names"]["description"]
    assert {"type": "null"} in schema["properties"]["names"]["anyOf"]


def test_workers_slow_to_answer_make_it_degraded_and_never_redis_down(app_on_redis, own_redis_url, monkeypatch):
    """Redis answers at once but the workers' ping outlasts the whole budget (a loaded machine once made the two
    together late, and the node was reported down, 503): Redis is up, the workers late, the node degraded (200),
    within the budget."""
    monkeypatch.setattr(health, "WORKER_PING_S", health.BUDGET_S + 1.0)
    quiet = app_on_redis(own_redis_url)
    started = time.monotonic()
    response = quiet.test_client().get("/api/v1/health")
    took = time.monotonic() - started
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "degraded", body
    assert body["database"] == {"ok": True} and body["redis"] == {"ok": True}
    assert body["workers"]["ok"] is False and body["workers"]["error"] == "Timeout"
    assert took < 2.0, f"health took {took:.2f} s"
