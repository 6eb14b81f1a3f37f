"""DATABASE_REPLICA_URL: the pages marked ``@reads_replica`` (the reports API and the dashboards) read the replica,
and the primary when the replica cannot be reached.

A second real database on the same server plays the replica: the same migrations, and a program under the same
code as on the primary but with different claims, so the answer says which database gave it. The signed-in user
exists on the primary only: it is loaded there (the role decorator runs before ``@reads_replica``). The data is
committed (the app under test runs outside any test transaction) and removed at the end.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import text

import config
from disburse import create_app, runtime
from disburse.auth.service import create_token
from disburse.extensions import db
from disburse.replica import reading_replica
from tests.apps import restore_celery
from tests.factories import create_claim, create_program, create_user
from tests.runtime.test_up import _free_port

CODE = f"RPL{os.getpid()}"
ADMIN, PASSWORD = f"replica-admin-{os.getpid()}@bhxh.example.vn", "mat-khau-rat-dai"


@pytest.fixture(scope="module")
def build(app: Flask, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Another app on the test database (or another one); the limiter and the default Celery app, one per process,
    are bound back to the session's app afterwards."""
    built: list[Flask] = []

    def make(database: str = database_url, replica: str | None = None, program: str | None = None) -> Flask:
        settings = config.Test()
        settings.DATABASE_URL = database
        settings.DISBURSE_PROGRAM = program or settings.DISBURSE_PROGRAM
        settings.REDIS_URL = app.config["REDIS_URL"]
        settings.DATABASE_REPLICA_URL = replica
        built.append(create_app(settings))
        return built[-1]

    yield make
    from disburse import replica
    from disburse.extensions import limiter

    for other in built:
        with other.app_context():
            db.engine.dispose()
        replica.dispose(other)
    limiter.init_app(app)
    restore_celery(app)


@pytest.fixture(scope="module")
def replica_url(build: Callable[..., Flask], database_url: str) -> Iterator[str]:
    """The stand-in replica: migrated, with program CODE and three paid claims and one to review."""
    url = runtime.with_database(database_url, f"{runtime.database_name(database_url)}_replica")
    runtime.drop_database(url)
    runtime.ensure_database(url)
    other = build(url)
    with other.app_context():
        from flask_migrate import upgrade

        upgrade()
        program = create_program(code=CODE)
        for state in ("paid", "paid", "paid", "needs_review"):
            create_claim(state, program=program)
        db.session.commit()
        db.engine.dispose()
    yield url
    runtime.drop_database(url)


@pytest.fixture(scope="module")
def primary(app: Flask) -> Iterator[str]:
    """On the primary: program CODE with one approved claim, and an admin with an API token; its token."""
    with app.app_context():
        program = create_program(code=CODE)
        claim = create_claim("approved", program=program)
        admin = create_user("admin", email=ADMIN, password=PASSWORD)
        token = create_token(admin)
        db.session.commit()
        ids = {"p": program.id, "u": admin.id, "c": claim.id, "e": claim.employee_id, "r": claim.employer_id}
    yield token
    with app.app_context():
        for statement in (
            "ALTER TABLE claim_events DISABLE TRIGGER claim_events_append_only",
            "DELETE FROM claim_events WHERE claim_id = :c",
            "ALTER TABLE claim_events ENABLE ALWAYS TRIGGER claim_events_append_only",
            "DELETE FROM claims WHERE id = :c",
            "DELETE FROM claim_counters WHERE program_id = :p",
            "DELETE FROM employees WHERE id = :e",
            "DELETE FROM employers WHERE id = :r",
            "DELETE FROM audit_log WHERE actor_id = :u",
            # The token's creation, written with no actor (a command's way): it would show in later tests' logs.
            "DELETE FROM audit_log WHERE object_type = 'api_token' AND data->>'user_id' = CAST(:u AS text)",
            "DELETE FROM audit_log WHERE object_type = 'user' AND object_id = CAST(:u AS text)",  # its creation
            "DELETE FROM users WHERE id = :u",
            "DELETE FROM programs WHERE id = :p",
        ):
            db.session.execute(text(statement), ids)
        db.session.commit()
        db.session.remove()


def progress(app: Flask, token: str) -> tuple[int, dict]:
    with app.test_client() as client:
        answer = client.get(f"/api/v1/progress?program={CODE}", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code, answer.get_json()


def test_without_a_replica_the_primary_answers(app, primary):
    status, body = progress(app, primary)
    assert status == 200, body
    assert (body["eligible"], body["paid"], body["needs_review"]) == (1, 0, 0)


def test_a_marked_page_reads_the_replica(build, primary, replica_url, database_url):
    replicated = build(database_url, replica_url)
    status, body = progress(replicated, primary)
    assert status == 200, body  # the user and the token were found on the primary
    assert (body["eligible"], body["paid"], body["needs_review"]) == (4, 3, 1)
    with replicated.app_context():
        with reading_replica() as used:
            assert used
            seen = db.session.execute(text("SELECT current_database()")).scalar_one()
        assert seen == runtime.database_name(replica_url)
        assert db.session.execute(text("SELECT current_database()")).scalar_one() == runtime.database_name(
            database_url
        ), "outside the block, the primary"
        db.session.remove()


def test_an_unreachable_replica_falls_back_to_the_primary_quickly(build, primary, database_url, caplog):
    dead = f"postgresql://postgres@127.0.0.1:{_free_port()}/replica"
    replicated = build(database_url, dead)
    caplog.set_level(logging.WARNING, logger="disburse.replica")
    started = time.monotonic()
    status, body = progress(replicated, primary)
    first = time.monotonic() - started
    assert status == 200, body
    assert (body["eligible"], body["paid"]) == (1, 0), "the primary's figures"
    assert first < 2.0
    assert [r.getMessage() for r in caplog.records if "read replica unreachable" in r.getMessage()]

    caplog.clear()
    started = time.monotonic()
    assert progress(replicated, primary)[0] == 200
    assert time.monotonic() - started < 1.0
    assert not caplog.records, "the primary is used for a while without asking the replica again"


@pytest.mark.parametrize("page", ["/dashboard/", "/dashboard/charts", "/dashboard/backlog"])
def test_the_dashboards_read_the_replica(build, primary, replica_url, database_url, page):
    """The supervisors' pages are marked too: the replica's 3 paid of 4 (75,0%), not the primary's 0 of 1."""
    replicated = build(database_url, replica_url, program=CODE)
    with replicated.test_client() as client:
        assert client.post("/login", data={"email": ADMIN, "password": PASSWORD}).status_code == 302
        answer = client.get(page)
    assert answer.status_code == 200
    if page == "/dashboard/":
        assert "75,0" in answer.get_data(as_text=True)
