"""Verification by real Celery workers on real Redis against the real database: the data is committed (workers run
in their own processes), and removed again after each test.

The workers here use the run's own Redis database (``own_redis_url``), not the session worker's: that worker must
not take these tasks (nor these workers its).

- confirmed → verifying → approved, applied → verifying → approved, a duplicate pair → needs_review → resolved by a
  caseworker over the API (one kept and approved, the other refused with its notice), a claim of an excluded sector
  → rejected with its notice;
- two workers on the same range at the same time: every claim verified once;
- a worker killed mid-batch: nothing of its batch is left half-done, and after a restart the sweep brings every
  waiting claim to approved, needs_review or rejected; the rollups equal a direct count.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import psycopg
import pytest
import redis
from celery import Celery
from flask import Flask
from sqlalchemy import text

from disburse import runtime
from disburse.auth.service import create_token
from disburse.background import QueueNames
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.programs.rules import REASON_LABELS
from disburse.reports import rollups
from disburse.runtime import celery_broker_url
from disburse.verification import service as verification
from tests.celery_workers import start_worker, stop, wait_for_ping
from tests.conftest import FreshRequestClient
from tests.factories import create_claim, create_employer, create_person, create_program, create_user
from workers.sweepers import rollups as repair_sweep

pytestmark = pytest.mark.worker

DONE = ("approved", "needs_review", "rejected")
PRIVATE_QUEUE = "verification-test-private"


@pytest.fixture(scope="module")
def own_redis(app: Flask, own_redis_url: str) -> Iterator[str]:
    """The run's own Redis database (not the session worker's), emptied before and after; the app sends its tasks
    there while these tests run."""
    url = own_redis_url
    client = redis.Redis.from_url(url)
    client.flushdb()
    celery: Celery = app.extensions["celery"]
    own = Celery("test-verification-workers", broker=celery_broker_url(url), set_as_current=False)
    own.conf.update(task_routes=celery.conf.task_routes, task_queues=celery.conf.task_queues)
    app.extensions["celery"] = own
    try:
        yield url
    finally:
        app.extensions["celery"] = celery
        client.flushdb()
        client.close()


@pytest.fixture(scope="module")
def worker(app: Flask, database_url: str, own_redis: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real worker on every named queue (the one that, in these tests, is "restarted" after a kill)."""
    proc = start_worker(database_url, own_redis, ",".join(QueueNames.all()), "verifier")
    try:
        wait_for_ping(app, proc, "verifier")
        yield proc
    finally:
        stop(proc)


class Committed:
    """Makes rows through the factories and commits them for real; removes them all at the end (the history
    tables refuse DELETE, so their guard is switched off inside the cleaning transaction only)."""

    def __init__(self) -> None:
        self.programs: list[int] = []
        self.employees: list[int] = []
        self.employers: list[int] = []
        self.users: list[int] = []

    def program(self) -> Any:
        # Payment allowed until far in the future: the workers' programme clock is the real date.
        program = create_program(extension_until=date(2099, 12, 31))
        self.programs.append(program.id)
        return program

    def claim(self, state: str, program: Any, **overrides: Any) -> Claim:
        employee = overrides.pop("employee", None) or self.person()
        claim = create_claim(state, program=program, employee=employee, **overrides)
        return claim

    def person(self, **overrides: Any) -> Any:
        employee = create_person(**overrides)
        self.employees.append(employee.id)
        if employee.employer_id is not None:
            self.employers.append(employee.employer_id)
        return employee

    def unit(self, **overrides: Any) -> Any:
        employer = create_employer(**overrides)
        self.employers.append(employer.id)
        return employer

    def user(self, role: str, **scope: Any) -> Any:
        user = create_user(role, **scope)
        self.users.append(user.id)
        return user

    def clean(self) -> None:
        db.session.rollback()
        p = {"p": self.programs, "e": self.employees, "r": self.employers, "u": self.users}
        for statement in (
            "ALTER TABLE claim_events DISABLE TRIGGER claim_events_append_only",
            "DELETE FROM claim_events WHERE claim_id IN (SELECT id FROM claims WHERE program_id = ANY(:p))",
            "ALTER TABLE claim_events ENABLE ALWAYS TRIGGER claim_events_append_only",
            "DELETE FROM claim_identities WHERE program_id = ANY(:p)",
            "DELETE FROM claims WHERE program_id = ANY(:p)",
            "DELETE FROM claim_counters WHERE program_id = ANY(:p)",
            "DELETE FROM decision_counters WHERE program_id = ANY(:p)",  # a caseworker's decisions of the day
            "DELETE FROM employees WHERE id = ANY(:e)",
            "DELETE FROM employers WHERE id = ANY(:r)",
            "DELETE FROM programs WHERE id = ANY(:p)",
            "DELETE FROM audit_log WHERE actor_id = ANY(:u)"
            " OR (object_type = 'api_token' AND CAST(data->>'user_id' AS bigint) = ANY(:u))"
            # Their creation, written with no actor (disburse.auth.service.create_user audits every user it makes).
            " OR (object_type = 'user' AND object_id = ANY(CAST(:u AS text[])))",
            "DELETE FROM users WHERE id = ANY(:u)",  # their API tokens go with them (ON DELETE CASCADE)
        ):
            db.session.execute(text(statement), p)
        db.session.commit()


@pytest.fixture
def committed(app: Flask) -> Iterator[Committed]:
    with app.app_context():
        rows = Committed()
        try:
            yield rows
        finally:
            rows.clean()
            db.session.remove()


def states(program_id: int) -> dict[int, str]:
    db.session.rollback()
    return dict(db.session.execute(text("SELECT id, state FROM claims WHERE program_id = :p"), {"p": program_id}).all())


def wait_until(condition: Callable[[], bool], timeout: float = 60.0, what: str = "the workers") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} did not finish within {timeout} s")


def history(claim_id: int) -> list[tuple[str, str | None, str]]:
    return [
        tuple(row)
        for row in db.session.execute(
            text("SELECT action, from_state, to_state FROM claim_events WHERE claim_id = :id ORDER BY id"),
            {"id": claim_id},
        )
    ]


def last_event(claim_id: int) -> tuple[str, dict[str, Any] | None, str | None]:
    """(action, data, reason) of the claim's latest event."""
    row = db.session.execute(
        text("SELECT action, data, reason FROM claim_events WHERE claim_id = :id ORDER BY id DESC LIMIT 1"),
        {"id": claim_id},
    ).one()
    return row[0], row[1], row[2]


def rollups_equal_a_direct_count() -> bool:
    drift = db.session.execute(
        text(
            """SELECT count(*) FROM (
                 (SELECT program_id, district_code, employer_id, state, count(*), sum(amount_vnd) FROM claims
                  GROUP BY 1, 2, 3, 4
                  EXCEPT
                  SELECT program_id, district_code, employer_id, state, claims, amount_vnd FROM claim_counters
                  WHERE claims <> 0)
                 UNION ALL
                 (SELECT program_id, district_code, employer_id, state, claims, amount_vnd FROM claim_counters
                  WHERE claims <> 0
                  EXCEPT
                  SELECT program_id, district_code, employer_id, state, count(*), sum(amount_vnd) FROM claims
                  GROUP BY 1, 2, 3, 4)) d"""
        )
    ).scalar_one()
    programs = db.session.scalars(text("SELECT id FROM programs")).all()
    # Every level the dashboards read, as the repair sweeper counts it.
    return drift == 0 and all(rollups.drift(program_id) == [] for program_id in programs)


def waiting_on_lock(table: str) -> int:
    """Backends of other sessions waiting for a lock on ``table``."""
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE relation = CAST(:t AS regclass) AND NOT granted"),
                {"t": table},
            ).scalar_one()
        )


# ------------------------------------------------------------------------------------------------------ tests


def test_a_real_worker_verifies_what_the_services_ask_for(app, worker, committed):
    """The worker decides; then a caseworker resolves the duplicate pair it sent to review, over the API: one claim
    kept and approved, the other refused as a duplicate; each refusal (the duplicate, and the excluded sector the
    worker refused on its own) has its written notice, in plain Vietnamese words."""
    program = committed.program()
    confirmed = committed.claim("employer_confirmed", program, confirmed_on=date(2021, 10, 25))
    applied = committed.claim("applied", program, applied_on=date(2021, 12, 1))
    twin_a = committed.claim("employer_confirmed", program, employee=committed.person(national_id="001077000001"))
    twin_b = committed.claim("employer_confirmed", program, employee=committed.person(national_id="001077000001"))
    state_agency = committed.unit(sector="state_agency")
    excluded = committed.claim("employer_confirmed", program, employee=committed.person(employer_id=state_agency.id))
    caseworker = committed.user("caseworker", district=twin_a.district_code)
    headers = {"Authorization": f"Bearer {create_token(caseworker)}"}
    ids = [confirmed.id, applied.id, twin_a.id, twin_b.id, excluded.id]
    verification.request_verification(ids)
    db.session.commit()  # the task leaves for Redis now, and the worker finds the rows committed

    wait_until(lambda: all(s in DONE for s in states(program.id).values()))
    final = states(program.id)
    assert final == {
        confirmed.id: "approved",
        applied.id: "approved",
        twin_a.id: "needs_review",
        twin_b.id: "needs_review",
        excluded.id: "rejected",
    }
    assert history(confirmed.id)[-2:] == [
        ("start_verification", "employer_confirmed", "verifying"),
        ("approve", "verifying", "approved"),
    ]
    assert history(applied.id)[-2:] == [
        ("start_verification", "applied", "verifying"),
        ("approve", "verifying", "approved"),
    ]
    reasons = db.session.execute(text("SELECT reasons FROM claims WHERE id = :id"), {"id": twin_a.id}).scalar_one()
    assert reasons == ["listed_twice", "possible_duplicate"]  # two SI codes, each on its own unit's list
    assert rollups_equal_a_direct_count()

    client = FreshRequestClient(app, app.response_class)
    # The refusal the worker made on its own: the registry's sector, in plain words, with its reason code.
    assert last_event(excluded.id)[:2] == ("reject", {"reasons": ["excluded_sector"], "reason_code": "excluded_sector"})
    notice = client.get(f"/api/v1/claims/{excluded.id}/notice", headers=headers)
    assert notice.status_code == 200, notice.get_data(as_text=True)
    assert REASON_LABELS["excluded_sector"][0] in notice.get_data(as_text=True)

    # A caseworker resolves the pair: twin_a is kept, twin_b refused as a duplicate; twin_a then moves on.
    resolved = client.post(f"/api/v1/claims/{twin_b.id}/resolve-duplicate", json={"keep": twin_a.id}, headers=headers)
    assert resolved.status_code == 200, resolved.get_json()
    approved = client.post(f"/api/v1/claims/{twin_a.id}/approve", json={"note": "Đã xác minh."}, headers=headers)
    assert approved.status_code == 200, approved.get_json()
    assert states(program.id) == {**final, twin_a.id: "approved", twin_b.id: "rejected"}
    assert history(twin_a.id)[-1] == ("approve", "needs_review", "approved")
    assert history(twin_b.id)[-1] == ("reject", "needs_review", "rejected")
    action, data, reason = last_event(twin_b.id)
    kept_si = db.session.execute(text("SELECT si_code FROM employees WHERE id = :id"), {"id": twin_a.employee_id})
    kept_si = kept_si.scalar_one()
    assert action == "reject" and data["reason_code"] == "duplicate" and data["kept_claim_id"] == twin_a.id
    assert kept_si in reason
    notice = client.get(f"/api/v1/claims/{twin_b.id}/notice", headers=headers)
    assert notice.status_code == 200, notice.get_data(as_text=True)
    page = notice.get_data(as_text=True)
    assert "mỗi người lao động chỉ được hỗ trợ một lần" in page  # the reason code's plain words
    assert f"Trùng với hồ sơ mã số BHXH {kept_si} của cùng người lao động" in page  # the written reason
    assert client.get(f"/api/v1/claims/{twin_a.id}/notice", headers=headers).status_code == 409  # kept: no notice
    assert rollups_equal_a_direct_count()


def test_a_claim_held_elsewhere_when_its_batch_ran_is_verified_soon_after(app, worker, committed, database_url):
    """The batch skips a claim another transaction holds (the same Form 04 sent twice held it while its task ran):
    it waited for the verification sweep, minutes later. Asked for again after a few seconds, it is verified once the
    other lets it go; no sweep runs here."""
    from workers.verification import HELD_AGAIN_S

    program = committed.program()
    claim = committed.claim("employer_confirmed", program, confirmed_on=date(2021, 10, 25))
    db.session.commit()
    with psycopg.connect(runtime.libpq_url(database_url)) as other:
        other.execute("SELECT id FROM claims WHERE id = %s FOR UPDATE", (claim.id,))
        verification.request_verification([claim.id])
        db.session.commit()
        # The worker took the batch: its identities (committed first, no claim locked) are there; then the batch
        # itself passed the claim over.
        identities = text("SELECT count(*) FROM claim_identities WHERE claim_id = :id")
        wait_until(lambda: db.session.execute(identities, {"id": claim.id}).scalar_one() == 1, timeout=30)
        db.session.rollback()
        time.sleep(1)
        assert states(program.id)[claim.id] == "employer_confirmed"
        other.rollback()
    wait_until(lambda: states(program.id)[claim.id] in DONE, timeout=HELD_AGAIN_S * 4)
    assert states(program.id)[claim.id] == "approved"
    assert [action for action, _, _ in history(claim.id)].count("approve") == 1


def test_the_forms_hand_their_claims_to_the_workers(app, worker, committed):
    """listed → Form 02 → verified by a real worker → approved; and a Form 04 application → verified → approved:
    the form services ask for verification themselves, after their commit."""
    from disburse.claims import applications, employer_forms

    program = committed.program()
    listed = committed.claim("listed", program)
    si_code = db.session.execute(
        text("SELECT si_code FROM employees WHERE id = :id"), {"id": listed.employee_id}
    ).scalar_one()
    unit = db.session.execute(
        text("SELECT unit_code FROM employers WHERE id = :id"), {"id": listed.employer_id}
    ).scalar_one()
    applicant = committed.person(ui_status="stopped", ui_stopped_on=date(2021, 6, 30), unused_months=40)
    form = employer_forms.confirm(
        program,
        unit,
        [{"si_code": si_code, "bank_code": "VCB", "bank_account": "0071000123456"}],
        today=date(2021, 10, 25),
    )
    claim = applications.apply(
        program,
        {
            "si_code": applicant.si_code,
            "national_id": applicant.national_id,
            "full_name": applicant.full_name,
            "date_of_birth": "1985-04-05",
            "phone": "0912345678",
            "address": "Đông Anh, Hà Nội",
            "status": "stopped",
            "unit_code": unit,
            "unused_months": 40,
            "payout": "cash",
        },
        today=date(2021, 12, 1),
    )
    db.session.commit()  # the verification tasks leave for Redis now
    assert form.rows[0].outcome == "confirmed"

    wait_until(lambda: all(s in DONE for s in states(program.id).values()))
    assert states(program.id) == {listed.id: "approved", claim.id: "approved"}
    assert [a for a, _, _ in history(listed.id)] == ["create", "confirm", "start_verification", "approve"]
    assert [a for a, _, _ in history(claim.id)] == ["create", "start_verification", "approve"]
    assert rollups_equal_a_direct_count()


def test_two_workers_on_the_same_range_verify_each_claim_once(app, worker, committed, database_url, own_redis):
    program = committed.program()
    claims = [committed.claim("employer_confirmed", program) for _ in range(60)]
    db.session.commit()
    ids = sorted(c.id for c in claims)
    second = start_worker(database_url, own_redis, "verification", "second")
    try:
        wait_for_ping(app, second, "second")
        with db.engine.connect() as holder:
            # Hold both batches at their first write, so that they run at the same time once let go.
            holder.execute(text("LOCK TABLE claim_identities IN SHARE MODE"))
            celery = app.extensions["celery"]
            for _ in range(2):
                celery.send_task("verification.verify", kwargs={"id_range": [ids[0], ids[-1]]})
            wait_until(lambda: waiting_on_lock("claim_identities") == 2, what="two workers taking the same range")
            holder.rollback()
        wait_until(lambda: all(s in DONE for s in states(program.id).values()))
    finally:
        stop(second)
    for claim_id in ids:
        steps = [action for action, _, _ in history(claim_id)]
        assert steps == ["create", "confirm", "start_verification", "approve"], claim_id
    assert rollups_equal_a_direct_count()


def test_a_worker_killed_mid_batch_leaves_nothing_half_done_and_the_sweep_finishes(
    app, worker, committed, database_url, own_redis
):
    program = committed.program()
    claims = [committed.claim("employer_confirmed", program) for _ in range(30)]
    claims += [committed.claim("applied", program, applied_on=date(2021, 12, 1)) for _ in range(10)]
    claims += [committed.claim("employer_overdue", program) for _ in range(5)]
    db.session.commit()
    ids = sorted(c.id for c in claims)
    events_before = {claim_id: history(claim_id) for claim_id in ids}
    doomed = start_worker(database_url, own_redis, PRIVATE_QUEUE, "doomed")
    try:
        wait_for_ping(app, doomed, "doomed")
        with db.engine.connect() as holder:
            # The batch has locked its claims and worked out its decisions when it reaches the events: stop it there.
            holder.execute(text("LOCK TABLE claim_events IN SHARE MODE"))
            app.extensions["celery"].send_task(
                "verification.verify", kwargs={"id_range": [ids[0], ids[-1]]}, queue=PRIVATE_QUEUE
            )
            wait_until(lambda: waiting_on_lock("claim_events") == 1, what="the doomed batch")
            doomed.kill()  # SIGKILL: no clean-up of any kind
            doomed.wait()
            # Its connection dies with it (the server notices a dead client at the latest when TCP keep-alive does).
            holder.execute(
                text(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.relation = 'claim_events'::regclass"
                    " AND NOT l.granted"
                    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
            holder.rollback()
    finally:
        stop(doomed)
        _forget_private_queue(own_redis)

    assert set(states(program.id).values()) == {"employer_confirmed", "applied", "employer_overdue"}
    assert {claim_id: history(claim_id) for claim_id in ids} == events_before, "nothing of the batch was kept"
    # The batch had moved its claims, and with them their counter rows at every level, when it was killed: all of it
    # rolled back together, so the repair sweeper finds nothing to repair.
    assert repair_sweep() == 0

    # The restarted worker runs beat's sweep, which sends what still waits (no grace, for the test).
    db.session.execute(
        text("UPDATE claims SET updated_at = now() - interval '1 hour' WHERE program_id = :p"), {"p": program.id}
    )
    db.session.commit()
    app.extensions["celery"].send_task("sweepers.verification", kwargs={"grace_s": 0})
    wait_until(lambda: all(s in DONE for s in states(program.id).values()), what="the sweep and the verification")
    final = states(program.id)
    assert {final[c.id] for c in claims[:40]} == {"approved"}
    assert {final[c.id] for c in claims[40:]} == {"needs_review"}
    for claim_id in ids:
        assert [a for a, _, _ in history(claim_id)].count("start_verification") == 1
    assert rollups_equal_a_direct_count()
    assert repair_sweep() == 0


def _forget_private_queue(redis_url: str) -> None:
    """Drop the killed worker's unacknowledged message (Celery would restore it to a queue nobody reads)."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(PRIVATE_QUEUE)
        for tag, raw in client.hgetall("unacked").items():
            if PRIVATE_QUEUE in json.loads(raw)[-1:]:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    finally:
        client.close()
