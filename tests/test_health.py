"""GET /api/v1/health, public for load balancers: the state of the database, Redis and the workers and how many
workers answer; the workers' names (node names carry internal hostnames) only for signed-in admins."""

from __future__ import annotations

import socket
import time

import pytest

from disburse.auth.service import create_token
from tests.factories import create_user

PASSWORD = "mat-khau-rat-dai"


def test_health_without_workers_is_degraded_but_up(app, database_url, redis_url):
    # A fresh app whose broker no worker listens to: database and Redis are fine, workers are not.
    client = app.test_client()
    response = client.get("/api/v1/health")
    body = response.get_json()
    assert response.status_code == 200
    assert body["database"] == {"ok": True}
    assert body["redis"] == {"ok": True}
    assert set(body) == {"status", "database", "redis", "workers"}
    assert body["status"] in {"ok", "degraded"}
    assert body["status"] == ("ok" if body["workers"]["count"] else "degraded")
    assert body["workers"]["names"] is None  # signed out


def _answered(ask):
    """``ask()``'s answer once a worker has answered its ping: a ping sent right after another sometimes misses the
    worker's reply (Celery's broadcast over Redis), so a few tries a moment apart."""
    for _ in range(10):
        answer = ask()
        if answer:
            return answer
        time.sleep(0.3)
    raise AssertionError("the test's worker never answered")


def _worker_names(app) -> list[str]:
    """The node names of the workers that answer a ping, as the health check sees them."""
    replies = _answered(lambda: app.extensions["celery"].control.ping(timeout=1.0))
    time.sleep(0.3)
    return sorted(name for reply in replies for name in reply)


def _health(client, headers=None):
    """The health check's answer, asked again until it counts the worker."""

    def ask():
        response = client.get("/api/v1/health", headers=headers or {})
        return response if response.get_json()["workers"]["count"] else None

    return _answered(ask)


def _sign_in(client, user) -> None:
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


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
    _sign_in(client, user)
    by_session = _health(client).get_json()["workers"]
    token = create_token(user)
    by_token = _health(app.test_client(), {"Authorization": f"Bearer {token}"}).get_json()["workers"]
    for workers in (by_session, by_token):
        assert workers["ok"] is True and workers["count"] >= 1 and workers["names"] is None
    assert names  # there were names to hide


def test_admins_see_which_workers_answer(app, client, celery_worker):
    names = _worker_names(app)
    admin = create_user("admin", password=PASSWORD)
    _sign_in(client, admin)
    # The names of the workers that answered this ping (a ping may miss a reply: those it got are named).
    by_session = _health(client).get_json()["workers"]
    assert by_session["names"] and set(by_session["names"]) <= set(names)
    assert len(by_session["names"]) == by_session["count"]
    token = create_token(admin)
    by_token = _health(app.test_client(), {"Authorization": f"Bearer {token}"}).get_json()
    assert by_token["workers"]["names"] and set(by_token["workers"]["names"]) <= set(names)
    # A token that is not good is a signed-out caller here (the check is public): no names, and no 401.
    stranger = app.test_client().get("/api/v1/health", headers={"Authorization": "Bearer dsb_nothing"})
    assert stranger.status_code == 200 and stranger.get_json()["workers"]["names"] is None


def test_the_documented_answer_says_the_names_are_for_admins(app):
    from disburse.api.openapi import build

    schema = build(app)["components"]["schemas"]["WorkersCheck"]
    assert "admins" in schema["properties"]["names"]["description"]
    assert {"type": "null"} in schema["properties"]["names"]["anyOf"]
