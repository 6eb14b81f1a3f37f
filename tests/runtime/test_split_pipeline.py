"""Past one machine, on one: the production commands as separate processes on one database and one Redis, with
the queues split between two workers, and the whole pipeline pays each claim exactly once.

- ``disburse web`` (gunicorn): the sandbox bank calls its callback endpoint;
- ``disburse worker --queues verification,imports,reports``: verifies;
- ``disburse worker --queues payments,provider-events,periodic,notifications``: batches, sends, applies callbacks;
- ``disburse beat``: sends ``payments.batch`` every 2 s (the test never sends it);
- the sandbox bank (the outside world) over HTTP, settling in a thread of the test.

Listed claims → the employer's Form 02 (its service asks for verification after its commit) → verified and
approved by the first worker → batched by beat's task on the second → sent to the bank → settled → called back to
the web node → applied on the second worker → paid. Then: every claim paid once by us and by the bank
(:func:`tests.payments.invariants.assert_never_twice_never_lost`), verified once, every batch sent once, and each
worker ran only the tasks of its own queues. Every process is stopped and the rows removed.
"""

from __future__ import annotations

import os
import time
import urllib.request
from collections import Counter
from datetime import date

import pytest
import redis
from sqlalchemy import text

from disburse.background import TASK_QUEUES
from disburse.claims import employer_forms
from disburse.extensions import db
from tests.factories import create_employer
from tests.payments.invariants import assert_never_twice_never_lost, claim_states
from tests.runtime.test_production_commands import command_env, disburse, stop
from tests.runtime.test_up import _free_port
from tests.workers.test_payment_worker import CALLBACKS, PaymentRows, broker

pytestmark = [pytest.mark.up, pytest.mark.worker]

CLAIMS = 40
#: From the Form 02's commit to every claim paid.
WITHIN_S = 90.0
VERIFIER_QUEUES = "verification,imports,reports"
PAYER_QUEUES = "payments,provider-events,periodic,notifications"


def _replies(app, name: str) -> bool:
    replies = app.extensions["celery"].control.ping(timeout=0.5) or []
    return any(name in host for reply in replies for host in reply)


def _wait(condition, what: str, procs, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            assert proc.poll() is None, f"a process exited with code {proc.returncode}: {proc.args}"
        if condition():
            return
        time.sleep(0.3)
    pytest.fail(f"{what} within {timeout} s")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def test_two_workers_on_split_queues_and_one_beat_pay_each_claim_once(
    app, database_url, own_redis_url, make_bank, tmp_path
):
    own = own_redis_url
    bank = make_bank(start_settler=True, delay_s=0.1, seed=116)
    port = _free_port()
    env = command_env(
        database_url,
        own,
        DISBURSE_SANDBOX_URL=bank.url,
        DISBURSE_SANDBOX_CALLBACK_URL=f"http://127.0.0.1:{port}{CALLBACKS}",
        DISBURSE_PAYMENT_BATCH_EVERY_S="2",
        DISBURSE_PAYMENT_BATCH_SIZE="15",
    )
    tag = os.getpid()
    procs = []
    with broker(app, own), app.app_context():
        rows = PaymentRows()
        try:
            program = rows.program()
            unit = create_employer()
            rows.employers.append(unit.id)
            people = [rows.person(employer_id=unit.id, district_code=unit.district_code) for _ in range(CLAIMS)]
            claims = [rows.claim("listed", program, employee=person) for person in people]
            db.session.commit()
            try:
                ran = _run(app, env, port, tag, tmp_path, program, unit, people, procs)
            finally:
                codes = [stop(proc) for proc in procs]
            assert codes == [0] * len(procs), "every process stops cleanly on SIGTERM"

            assert_never_twice_never_lost(bank.url, program.id, allowed=frozenset({"paid"}))
            # Verified once each: one start and one approval per claim.
            verified = Counter(
                dict(
                    db.session.execute(
                        text(
                            "SELECT e.action, count(*) FROM claim_events e JOIN claims c ON c.id = e.claim_id"
                            " WHERE c.program_id = :p AND e.action IN ('start_verification', 'approve')"
                            " GROUP BY e.action"
                        ),
                        {"p": program.id},
                    ).all()
                )
            )
            assert verified == Counter({"start_verification": CLAIMS, "approve": CLAIMS})
            # Every batch went to the bank once; every claim has its payment.
            assert bank.sql("SELECT transaction_id FROM sandbox.batches GROUP BY 1 HAVING count(*) > 1") == []
            paid_claims = db.session.scalars(
                text("SELECT DISTINCT claim_id FROM payments WHERE claim_id = ANY(:ids)"),
                {"ids": [c.id for c in claims]},
            )
            assert set(paid_claims) == {c.id for c in claims}
            # The queues were split: each worker ran only its own queues' tasks; beat's batches ran on the payer.
            assert "verification.verify" in ran.get("verifier", set()), ran
            assert {"payments.batch", "payments.send", "payments.apply_events"} <= ran.get("payer", set()), ran
            assert {TASK_QUEUES[name] for name in ran["verifier"]} <= set(VERIFIER_QUEUES.split(",")), ran
            assert {TASK_QUEUES[name] for name in ran["payer"]} <= set(PAYER_QUEUES.split(",")), ran
        finally:
            rows.clean()
            db.session.remove()
            client = redis.Redis.from_url(own)
            client.flushdb()
            client.close()


def _run(app, env, port, tag, tmp_path, program, unit, people, procs) -> dict[str, set[str]]:
    """Start the four processes, hand in the Form 02, wait until every claim is paid; the task names each worker
    ran."""
    procs.append(disburse(["web", "--port", str(port), "--workers", "1"], env))
    procs.append(
        disburse(["worker", "-Q", VERIFIER_QUEUES, "--pool", "solo", "-l", "WARNING", "-n", f"verifier-{tag}@%h"], env)
    )
    procs.append(
        disburse(["worker", "-Q", PAYER_QUEUES, "--pool", "solo", "-l", "WARNING", "-n", f"payer-{tag}@%h"], env)
    )
    procs.append(disburse(["beat", "--schedule", str(tmp_path / "beat-schedule"), "-l", "WARNING"], env))
    _wait(lambda: _healthy(port), "the web node did not answer", procs)
    _wait(lambda: _replies(app, f"verifier-{tag}") and _replies(app, f"payer-{tag}"), "no ping", procs)

    form = employer_forms.confirm(
        program,
        unit.unit_code,
        [{"si_code": p.si_code, "bank_code": "VCB", "bank_account": f"00710{p.id:08d}"} for p in people],
        today=date(2021, 10, 25),
    )
    assert [r.outcome for r in form.rows] == ["confirmed"] * CLAIMS
    db.session.commit()  # the verification tasks leave for Redis now
    started = time.monotonic()

    def all_paid() -> bool:
        db.session.rollback()
        return claim_states(program.id) == Counter({"paid": CLAIMS})

    _wait(all_paid, "not every claim paid", procs, timeout=WITHIN_S)
    print(f"{CLAIMS} claims confirmed → paid in {time.monotonic() - started:.1f} s")  # shown with -s
    # Which worker ran what, asked before they stop (Celery counts each worker's tasks by name); a busy machine may
    # keep one from answering in time: ask again.
    ran: dict[str, set[str]] = {}
    deadline = time.monotonic() + 20
    while set(ran) != {"verifier", "payer"} and time.monotonic() < deadline:
        stats = app.extensions["celery"].control.inspect(timeout=2).stats() or {}
        ran |= {host.split("-")[0]: set(stat.get("total", {})) for host, stat in stats.items() if str(tag) in host}
    return ran
