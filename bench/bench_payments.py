"""Benchmark: N approved claims paid through the real path, and status events applied against a bare UPDATE.

Usage::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/bench_payments.py --claims 1000000 [--runs 1] [--skip-ratio] [--skip-e2e]

Scratch databases ``bench_pay_seed`` / ``bench_pay_e2e`` / ``bench_pay_run`` on the same server (dropped at the end),
Redis database 8 (``BENCH_PAY_REDIS_DB``), ports 5070 (our app, gunicorn) and 5071 (the sandbox bank).

1. **Data**, set-based SQL: employers, N employees (bench_verification's generator), N ``approved`` claims paid to
   bank accounts; VACUUM ANALYZE, CHECKPOINT. A copy of that database (``CREATE DATABASE … TEMPLATE``) is kept for
   the end-to-end run.
2. **Status events vs a bare UPDATE** (fresh copies, same data): the seed database's claims go through
   ``service.create_batch`` (batches of 10,000) and ``mark_batch_sent`` (a child process; the real service, no
   bank), and that state becomes the template of every measurement:
   * ``apply_updates``: the N "paid" statuses the bank would send, applied by one call (what ``apply_stored``
     hands it when callbacks have piled up; it works in chunks of 50,000) and one commit (a child process);
   * bare: ``UPDATE payments SET state = 'paid', settled_at = now() FROM unnest(ids) WHERE id = …`` of the same N
     rows, one statement, committed;
   * orientation, bare with the same writes: the payments and their claims updated and an event each inserted, one
     statement (no lock first, no state guard, no answer).
3. **End to end** on the copy of step 1: the sandbox bank (``disburse sandbox serve``, bulk mode, failure rate 5%,
   no returns, seed 116, settle delay 1 s), our app under gunicorn receiving its callbacks, one applier process
   calling ``events.apply_stored`` in a loop (as the ``provider-events`` worker does), and the driver: batches of
   10,000 (``service.create_batch``), each handed over by ``sending.send_batch`` over HTTP (all made first, then
   sent one by one; with ``BENCH_PAY_SENDERS=K``, each handed to the first free of K sender threads as soon as it is
   committed, as ``payments.batch`` and K ``payments.send`` worker processes would); wait until every
   payment is settled or failed and every callback applied. Bank-side failures come back ``approved`` by
   themselves; details failures are corrected as Form 03 does (new bank account, a ``correct`` note, then
   ``details_received`` through ``claims.service.transition_many``); the second round is batched, sent and
   applied the same way. Each step's time and rate, the total, the time inside ``apply_updates`` and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_verification import GENERATE_EMPLOYEES, GENERATE_EMPLOYERS, machine  # noqa: E402

from disburse import runtime  # noqa: E402

SECTION = "## Payments"
APP_PORT = int(os.environ.get("BENCH_PAY_APP_PORT", "5070"))
BANK_PORT = int(os.environ.get("BENCH_PAY_BANK_PORT", "5071"))
REDIS_DB = int(os.environ.get("BENCH_PAY_REDIS_DB", "8"))
BATCH_SIZE = 10_000
CALLBACK_SIZE = 10_000

GENERATE_APPROVED = """
INSERT INTO claims (program_id, employee_id, employer_id, district_code, track, support_group, unused_months,
                    amount_vnd, state, reasons, payout, bank_code, bank_account, review_due_on, confirmed_on,
                    payment_due_on)
SELECT %(program_id)s, e.id, e.employer_id, e.district_code, 'A', 'A', e.unused_months,
       CASE WHEN e.unused_months < 12 THEN 1800000 WHEN e.unused_months < 60 THEN 2100000
            WHEN e.unused_months < 84 THEN 2400000 WHEN e.unused_months < 108 THEN 2650000
            WHEN e.unused_months < 132 THEN 2900000 ELSE 3300000 END,
       'approved', '{}', 'bank', e.bank_code, e.bank_account, date '2021-10-27', date '2021-10-20',
       date '2021-11-10'
FROM employees e
ORDER BY e.id
"""

ROLLUPS_MATCH = """
SELECT count(*) FROM (
    (SELECT program_id, district_code, employer_id, state, claims, amount_vnd FROM claim_counters
     WHERE claims <> 0 OR amount_vnd <> 0
     EXCEPT
     SELECT program_id, district_code, employer_id, state, count(*), sum(amount_vnd) FROM claims GROUP BY 1, 2, 3, 4)
    UNION ALL
    (SELECT program_id, district_code, employer_id, state, count(*), sum(amount_vnd) FROM claims GROUP BY 1, 2, 3, 4
     EXCEPT
     SELECT program_id, district_code, employer_id, state, claims, amount_vnd FROM claim_counters
     WHERE claims <> 0 OR amount_vnd <> 0)
) diff
"""

BARE = """
UPDATE payments p SET state = 'paid', settled_at = now()
FROM unnest(CAST(%(ids)s AS bigint[])) AS u(id)
WHERE p.id = u.id
"""

# Orientation: the same writes apply_updates makes, as one bare statement (the payments and their claims moved, an
# event each), no locks taken first, no guard on the states, no answer read back.
BARE_SAME_WRITES = """
WITH p AS (
    UPDATE payments p SET state = 'paid', settled_at = now(), updated_at = now()
    FROM unnest(CAST(%(ids)s AS bigint[])) AS u(id)
    WHERE p.id = u.id
    RETURNING p.id, p.claim_id
),
pe AS (
    INSERT INTO payment_events (payment_id, from_state, to_state, data)
    SELECT id, 'sent', 'paid', '{"source": "callback"}'::jsonb FROM p
),
c AS (
    UPDATE claims c SET state = 'paid', paid_at = now(), updated_at = now()
    FROM p WHERE c.id = p.claim_id
    RETURNING c.id
)
INSERT INTO claim_events (claim_id, action, from_state, to_state)
SELECT id, 'payment_succeeded', 'payment_pending', 'paid' FROM c
"""


# ------------------------------------------------------------------------------------------------------ helpers


def one(url: str, sql: str, params: dict[str, Any] | None = None) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return tuple(row)


def run_sql(url: str, *statements: str, autocommit: bool = False, params: dict[str, Any] | None = None) -> float:
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=autocommit) as conn:
        for sql in statements:
            conn.execute(sql, params)  # type: ignore[arg-type]
    return time.perf_counter() - started


def settle_db(url: str) -> None:
    run_sql(url, "VACUUM ANALYZE", "CHECKPOINT", autocommit=True)


def copy_database(base: str, source: str, target: str) -> float:
    """``target`` as a file copy of ``source`` (nobody may be connected to it)."""
    admin = runtime.libpq_url(runtime.with_database(base, "postgres"))
    started = time.perf_counter()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}" STRATEGY FILE_COPY')
    return time.perf_counter() - started


def drop(base: str, name: str) -> None:
    admin = runtime.libpq_url(runtime.with_database(base, "postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def own_redis(redis_url: str) -> str:
    parts = urlsplit(redis_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{REDIS_DB}", parts.query, ""))


def env_for(url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DISBURSE_ENV": "development",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(ROOT),
        "DISBURSE_PAYMENT_PROVIDER": "sandbox",
        "DISBURSE_SANDBOX_URL": f"http://127.0.0.1:{BANK_PORT}",
        "DISBURSE_SANDBOX_CALLBACK_URL": f"http://127.0.0.1:{APP_PORT}/api/v1/providers/sandbox/events",
        "DISBURSE_SANDBOX_BULK": "1",
        "DISBURSE_SANDBOX_FAILURE_RATE": "0.05",
        "DISBURSE_SANDBOX_RETURN_RATE": "0",
        "DISBURSE_SANDBOX_DELAY_S": "1",
        "DISBURSE_TODAY": "2021-11-15",
        **extra,
    }


def child(phase: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run this script's ``phase`` in a fresh process; its last stdout line is JSON."""
    proc = subprocess.run(  # noqa: S603 - our interpreter, our script
        [sys.executable, __file__, "--phase", phase, *args], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-6000:], file=sys.stderr)
        raise RuntimeError(f"phase {phase} failed ({proc.returncode})")
    sys.stderr.write(proc.stderr[-2000:] if os.environ.get("BENCH_VERBOSE") else "")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def generate(url: str, claims: int) -> dict[str, int]:
    employers = max(1, claims // 40)
    params = {"employees": claims, "employers": employers}
    with psycopg.connect(url) as conn:
        conn.execute(GENERATE_EMPLOYERS, params)
        conn.execute(GENERATE_EMPLOYEES, params)
        program_id = conn.execute("SELECT id FROM programs WHERE code = 'NQ116'").fetchone()[0]  # type: ignore[index]
        conn.execute(GENERATE_APPROVED, {"program_id": program_id})
    settle_db(url)
    return {"employers": employers, "employees": claims, "claims": int(one(url, "SELECT count(*) FROM claims")[0])}


# ------------------------------------------------------------------------------------------ in-process phases


def _app() -> Any:
    from disburse import create_app

    return create_app()


def _next_batch(program: Any, after: int, upto: int = 2**62) -> Any:
    """What ``payments.batch`` does for each batch: ``create_batch`` from the claim after the last batch's last (up
    to ``upto``, the last claim verification has decided in a pipelined run)."""
    from disburse.payments import service

    span = (after + 1, upto)
    return retrying(lambda: service.create_batch(program, "bank", "sandbox", limit=BATCH_SIZE, id_range=span))


def retrying(work: Any, attempts: int = 20) -> Any:
    """``work()``, again after a rollback when PostgreSQL broke a deadlock with another writer of claims (their
    rollup rows), as the workers' tasks do (:func:`disburse.bulk.after_deadlocks`); the count is kept in
    ``RETRIES``."""
    from disburse.bulk import after_deadlocks

    def count() -> None:
        RETRIES[0] += 1

    return after_deadlocks(work, attempts=attempts, on_retry=count)


RETRIES = [0]


def write_progress(path: str | None, upto: int, done: bool) -> None:
    """A pipelined stage's progress: every claim with an id up to ``upto`` has been through it (``done``: all)."""
    if path:
        Path(path + ".tmp").write_text(f"{upto} {int(done)}")
        os.replace(path + ".tmp", path)


def read_progress(path: str | None) -> tuple[int, bool]:
    """The progress ``write_progress`` wrote; (0, False) before the first; no path: everything, done."""
    if not path:
        return 2**62, True
    try:
        upto, done = Path(path).read_text().split()
    except FileNotFoundError:
        return 0, False
    return int(upto), done == "1"


#: ``BENCH_PAY_UPSTREAM=FILE``: round 1 batches only claims verification has been through (``read_progress``), waits
#: for more while it goes on, and ends when it is done (the national run's pipeline).
UPSTREAM = os.environ.get("BENCH_PAY_UPSTREAM") or None


def phase_prepare_sent() -> dict[str, Any]:
    """Every approved claim batched (create_batch, 10,000 a batch) and marked sent, as send_batch does first."""
    from disburse.extensions import db
    from disburse.payments import service
    from disburse.programs.models import Program

    app = _app()
    with app.app_context():
        program = db.session.query(Program).filter_by(code="NQ116").one()
        started = time.perf_counter()
        batches, after = [], 0
        while (batch := _next_batch(program, after)) is not None:
            batches.append(batch.id)
            db.session.commit()
            after = service.last_claim_id(batch.id)
        batched = time.perf_counter() - started
        started = time.perf_counter()
        for batch_id in batches:
            service.mark_batch_sent(service.get_batch_for_update(batch_id))  # type: ignore[arg-type]
            db.session.commit()
        marked = time.perf_counter() - started
    return {"batches": len(batches), "batch_s": batched, "mark_sent_s": marked}


def phase_apply_ratio() -> dict[str, Any]:
    """The bank's "paid" for every sent payment, through one apply_updates call (what apply_stored hands it when the
    callbacks have piled up; it works in chunks of ``status.CHUNK``), one commit: as the bare UPDATE."""
    from sqlalchemy import text

    from disburse.extensions import db
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.status import apply_updates

    app = _app()
    with app.app_context():
        rows = db.session.execute(
            text("SELECT provider_reference, amount_vnd FROM payments WHERE state = 'sent' ORDER BY id")
        ).all()
        db.session.commit()
        updates = [StatusUpdate(ref, ProviderStatus.PAID, amount_vnd=int(amount)) for ref, amount in rows]
        started = time.perf_counter()
        applied = apply_updates("sandbox", updates, source="callback")
        db.session.commit()
        inside = time.perf_counter() - started
    return {"settled": applied.settled, "apply_s": inside}


def phase_applier(stop_file: str, out_file: str, limit: int) -> dict[str, Any]:
    """The provider-events worker's loop: apply stored callbacks until ``stop_file`` appears and none is left;
    time inside apply_updates recorded."""
    from disburse.extensions import db
    from disburse.payments import events, status

    inside = [0.0]
    calls = [0]
    real = status.apply_updates

    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            inside[0] += time.perf_counter() - t
            calls[0] += 1

    def apply_and_commit() -> Any:
        processed = events.apply_stored(limit=limit)
        db.session.commit()
        return processed

    events.apply_updates = timed  # type: ignore[assignment]
    totals: dict[str, int] = {}
    commits = 0.0
    app = _app()
    with app.app_context():
        while True:
            t = time.perf_counter()
            processed = retrying(apply_and_commit)
            commits += time.perf_counter() - t
            for key, value in processed.as_dict().items():
                totals[key] = totals.get(key, 0) + value
            if processed.events == 0:
                if os.path.exists(stop_file):
                    break
                time.sleep(0.2)
    result = {
        "apply_updates_s": inside[0],
        "apply_stored_and_commit_s": commits,
        "deadlocks_retried": RETRIES[0],
        "calls": calls[0],
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        **totals,
    }
    Path(out_file).write_text(json.dumps(result))
    return result


#: Payments still open and callbacks not applied yet: both through their partial or leading-column indexes, not a
#: scan of every payment (about 2 s a call at national size).
WAITING = """SELECT (SELECT count(*) FROM payments WHERE state IN ('queued', 'sent')),
                    (SELECT count(*) FROM provider_events WHERE signature_ok AND processed_at IS NULL)"""


def _wait_settled(timeout: float = 4 * 3600) -> float:
    from sqlalchemy import text

    from disburse.extensions import db

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        open_, unapplied = db.session.execute(text(WAITING)).one()
        db.session.commit()
        if open_ == 0 and unapplied == 0:
            return time.perf_counter() - started
        time.sleep(0.25)
    raise TimeoutError("payments still open")


#: ``BENCH_PAY_SENDERS=K`` (K ≥ 1): batches handed over by K threads while the driver goes on making them, as the
#: ``payments.batch`` task and K ``payments.send`` worker processes would; unset or 0: made first, then sent one by one.
SENDERS = int(os.environ.get("BENCH_PAY_SENDERS", "0") or 0)


def _round(
    program: Any, steps: list[dict[str, Any]], label: str, upstream: str | None = None
) -> tuple[int, Repayments | None]:
    """One round of payments: the number made, and the second attempts made meanwhile (pipelined runs only)."""
    if SENDERS > 0 or upstream:
        return _round_pipelined(program, steps, label, max(SENDERS, 1), upstream)
    from disburse.extensions import db
    from disburse.payments import sending, service

    t0 = time.perf_counter()
    batches, payments, after = [], 0, 0
    while (batch := _next_batch(program, after)) is not None:
        batches.append(batch.id)
        payments += batch.item_count
        db.session.commit()
        after = service.last_claim_id(batch.id)
    t1 = time.perf_counter()
    steps.append({"step": f"{label}: create_batch ({len(batches)} batches)", "s": t1 - t0, "rows": payments})
    for batch_id in batches:
        sent = sending.send_batch(batch_id)
        assert sent.accepted, sent.as_dict()
    t2 = time.perf_counter()
    steps.append({"step": f"{label}: send_batch over HTTP", "s": t2 - t1, "rows": payments})
    _wait_settled()
    t3 = time.perf_counter()
    steps.append({"step": f"{label}: rest of settle → callbacks → applied", "s": t3 - t2, "rows": payments})
    return payments, None


#: The lowest claim with a payment still open: every claim below it has its round-1 outcome. The open payments
#: through their state's index (a few batches' worth); left to itself the planner walked the live-payment index in
#: claim order past every paid one (2.3 s a call at 2.7 million paid).
OPEN_FROM = """WITH open AS MATERIALIZED (SELECT claim_id FROM payments WHERE state IN ('queued', 'sent'))
               SELECT min(claim_id) FROM open"""
#: Re-payments during round 1 go range by range, each at least this many claim ids long; the driver looks at most
#: every REPAY_EVERY_S seconds whether one is due.
REPAY_SPAN = 200_000
REPAY_EVERY_S = 10.0


class Repayments:
    """The second attempt while round 1 goes on (a pipelined national run): once every claim up to some id has had
    its round-1 outcome, the claims of that range still waiting for details get their Form 03 correction, and the
    range's approved claims (those corrected, and those the bank's timeout put back) one more batch, handed to the
    same senders. Each claim id range is re-paid once (``done`` moves past it), as round 2 does after round 1."""

    def __init__(self, program: Any, todo: Any, *, enabled: bool) -> None:
        self.program, self.todo, self.enabled = program, todo, enabled
        self.done = self.corrected = self.batches = self.payments = 0
        self.seconds, self.looked_at = 0.0, 0.0

    def catch_up(self, batched: int, *, force: bool = False) -> None:
        """Re-pay up to the last claim with its outcome (at most ``batched``, round 1's last batched claim)."""
        from sqlalchemy import text

        from disburse.extensions import db
        from disburse.payments import service

        if not self.enabled:
            return
        if force:  # the last range: once round 1 has its outcome everywhere
            _wait_settled()
        elif batched - self.done < REPAY_SPAN or time.monotonic() - self.looked_at < REPAY_EVERY_S:
            return
        self.looked_at = time.monotonic()
        lowest_open = db.session.execute(text(OPEN_FROM)).scalar()
        db.session.commit()
        upto = batched if lowest_open is None else min(batched, lowest_open - 1)
        if upto <= self.done or (upto - self.done < REPAY_SPAN and not force):
            return
        started = time.perf_counter()
        self.corrected += retrying(lambda: _correct_details(None, (self.done + 1, upto)))
        after = self.done
        while (batch := _next_batch(self.program, after, upto)) is not None:
            self.batches += 1
            self.payments += batch.item_count
            db.session.commit()
            self.todo.put(batch.id)
            after = service.last_claim_id(batch.id)
        db.session.commit()
        self.done = upto
        self.seconds += time.perf_counter() - started


def _round_pipelined(
    program: Any, steps: list[dict[str, Any]], label: str, senders: int, upstream: str | None = None
) -> tuple[int, Repayments | None]:
    """Batches made one after the other and each handed to the first free of ``senders`` threads (each with its own
    app context, so its own session and connection) as soon as it is committed; with ``upstream`` (a progress file),
    only of claims verification has been through, waiting for more until it is done, and with the second attempt
    of the failed ones as round 1 goes (:class:`Repayments`)."""
    import queue
    import threading

    from flask import current_app

    from disburse.extensions import db
    from disburse.payments import sending, service

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    todo: queue.Queue[int | None] = queue.Queue()
    failures: list[BaseException] = []

    def sender() -> None:
        with app.app_context():
            while (batch_id := todo.get()) is not None:
                try:
                    sent = retrying(lambda: sending.send_batch(batch_id))
                    assert sent.accepted, sent.as_dict()
                except BaseException as exc:  # reported by the driver
                    failures.append(exc)
                    db.session.rollback()

    threads = [threading.Thread(target=sender, name=f"sender-{n}") for n in range(senders)]
    for thread in threads:
        thread.start()
    repay = Repayments(program, todo, enabled=bool(upstream))
    t0 = time.perf_counter()
    batches, payments, after, waited = 0, 0, 0, 0.0
    try:
        while True:
            upto, done = read_progress(upstream)
            batch = _next_batch(program, after, upto)
            if batch is None:
                db.session.commit()
                if done:
                    break
                t = time.perf_counter()
                time.sleep(0.5)
                waited += time.perf_counter() - t
                repay.catch_up(after)
                continue
            batches += 1
            payments += batch.item_count
            db.session.commit()
            todo.put(batch.id)
            after = service.last_claim_id(batch.id)
            repay.catch_up(after)
        t1 = time.perf_counter()
        repay.catch_up(after, force=True)
    finally:
        for _ in threads:
            todo.put(None)
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    t2 = time.perf_counter()
    made = f"{label}: create_batch ({batches} batches; sending meanwhile)"
    both = f"{label}: made and sent, {senders} senders"
    if upstream:
        made = f"{label}: create_batch ({batches} batches, as verification went on; sending meanwhile)"
        steps.append({"step": f"{label}: waiting for verification, within the above", "s": waited, "rows": None})
    steps.append({"step": made, "s": t1 - t0, "rows": payments})
    if repay.enabled:
        steps.append(
            {
                "step": f"{label}: second attempts as it went ({repay.corrected:,} Form 03 corrections, "
                f"{repay.batches} batches), within the above",
                "s": repay.seconds,
                "rows": repay.payments,
            }
        )
    steps.append({"step": both, "s": t2 - t0, "rows": payments + repay.payments})
    _wait_settled()
    t3 = time.perf_counter()
    steps.append({"step": f"{label}: rest of settle → callbacks → applied", "s": t3 - t2, "rows": payments})
    return payments, repay if repay.enabled else None


CORRECT = """
WITH waiting AS (
    SELECT id, bank_code, bank_account FROM claims
    -- The range through the primary key, the state a filter on it: as state = '…', the planner also read the whole
    -- index of claims by state (10 million entries) to intersect it with the range, for every range.
    WHERE id BETWEEN :lo AND :hi AND coalesce(state, '') = 'awaiting_payment_details'
    ORDER BY id FOR UPDATE
)
UPDATE claims c SET bank_account = '9' || lpad(c.id::text, 12, '0'), payout = 'bank', updated_at = now()
FROM waiting w WHERE c.id = w.id
RETURNING c.id, w.bank_code, w.bank_account, c.bank_account
"""


def _correct_details(steps: list[dict[str, Any]] | None, id_range: tuple[int, int] = (0, 2**62)) -> int:
    """Form 03's correction for every claim waiting for details (in ``id_range``): the new account, a ``correct``
    note with old and new, and ``details_received`` (back to approved), through the claims' service; committed.
    The step is added to ``steps`` unless it is None."""
    from sqlalchemy import text

    from disburse.claims import service as claims
    from disburse.claims.states import ClaimAction, ClaimNote
    from disburse.extensions import db

    t = time.perf_counter()
    rows = db.session.execute(text(CORRECT), {"lo": id_range[0], "hi": id_range[1]}).all()
    notes = [(claim_id, {"form": "03", "changes": {"bank_account": [old, new]}}) for claim_id, _code, old, new in rows]
    claims.note_many(ClaimNote.CORRECT, notes, skip_locked=False)
    moved = claims.transition_many(ClaimAction.DETAILS_RECEIVED, ids=[r[0] for r in rows], data={"form": "03"})
    db.session.commit()
    if steps is not None:
        steps.append(
            {"step": "Form 03 corrections (details failures)", "s": time.perf_counter() - t, "rows": len(rows)}
        )
    assert not moved.not_moved
    return len(rows)


def phase_pay() -> dict[str, Any]:
    """The driver of the end-to-end run (the bank, our app and the applier are already running)."""
    from sqlalchemy import text

    from disburse.extensions import db
    from disburse.programs.models import Program

    app = _app()
    steps: list[dict[str, Any]] = []
    with app.app_context():
        program = db.session.query(Program).filter_by(code="NQ116").one()
        started = time.perf_counter()
        first, repaid = _round(program, steps, "round 1", UPSTREAM)
        after_first = dict(db.session.execute(text("SELECT state, count(*) FROM claims GROUP BY state")).tuples().all())
        if repaid is not None:  # the second attempts went with round 1
            corrected, second = repaid.corrected, repaid.payments
        else:
            corrected = _correct_details(steps)
            second, _ = _round(program, steps, "round 2")
        total = time.perf_counter() - started
        states = dict(db.session.execute(text("SELECT state, count(*) FROM claims GROUP BY state")).tuples().all())
        payments = dict(db.session.execute(text("SELECT state, count(*) FROM payments GROUP BY state")).tuples().all())
        paid_vnd = db.session.execute(text("SELECT coalesce(sum(amount_vnd), 0) FROM claims WHERE state = 'paid'"))
        paid_total = int(paid_vnd.scalar_one())
        db.session.commit()
    return {
        "steps": steps,
        "total_s": total,
        "round1": first,
        "round2": second,
        "corrected": corrected,
        "after_round1": after_first,
        "claims": states,
        "payments": payments,
        "paid_vnd": paid_total,
        "deadlocks_retried": RETRIES[0],
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


# ---------------------------------------------------------------------------------------- the end-to-end run


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(url)


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _peak_rss_tree(pids: list[int], stop: Any, peak: dict[int, int]) -> None:
    import psutil

    while not stop.is_set():
        for pid in pids:
            try:
                proc = psutil.Process(pid)
                rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
            except psutil.Error:
                continue
            peak[pid] = max(peak.get(pid, 0), rss)
        stop.wait(1.0)


def pay_end_to_end(
    url: str, redis_url: str, *, apply_limit: int = 5, workdir: Path, upstream: str | None = None
) -> dict[str, Any]:
    """Serve the bank and our app, start the applier, drive two rounds of payments; stop everything. Returns the
    driver's report with the applier's and the servers' figures. ``upstream``: see ``UPSTREAM``."""
    import threading

    import redis

    env = env_for(url, redis_url, **({"BENCH_PAY_UPSTREAM": upstream} if upstream else {}))
    redis.Redis.from_url(redis_url).flushdb()
    disburse_cli = str(Path(sys.executable).with_name("disburse"))
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    stop_file, out_file = workdir / "applier.stop", workdir / "applier.json"
    stop_file.unlink(missing_ok=True)
    bank = app = applier = None
    log = (workdir / "servers.log").open("ab")
    peak: dict[int, int] = {}
    stop_polling = threading.Event()
    try:
        bank = subprocess.Popen(  # noqa: S603 - our own command
            [disburse_cli, "sandbox", "serve", "--port", str(BANK_PORT), "--seed", "116"],
            env=env, cwd=ROOT, stdout=log, stderr=log,
        )  # fmt: skip
        app = subprocess.Popen(  # noqa: S603 - our own command
            [gunicorn, "-w", "2", "-b", f"127.0.0.1:{APP_PORT}", "--timeout", "120", "disburse.wsgi:app"],
            env=env, cwd=ROOT, stdout=log, stderr=log,
        )  # fmt: skip
        _wait_http(f"http://127.0.0.1:{BANK_PORT}/statement", bank)
        _wait_http(f"http://127.0.0.1:{APP_PORT}/api/v1/health", app)
        applier = subprocess.Popen(  # noqa: S603 - our interpreter, our script
            [sys.executable, __file__, "--phase", "applier", "--stop-file", str(stop_file), "--out-file",
             str(out_file), "--apply-limit", str(apply_limit)],
            env=env, cwd=ROOT, stdout=log, stderr=log,
        )  # fmt: skip
        poller = threading.Thread(
            target=_peak_rss_tree, args=([bank.pid, app.pid, applier.pid], stop_polling, peak), daemon=True
        )
        poller.start()
        report = child("pay", env)
        stop_file.write_text("stop")
        applier.wait(timeout=600)
        report["applier"] = json.loads(out_file.read_text())
    finally:
        stop_polling.set()
        for proc in (applier, app, bank):
            _stop(proc)
        log.close()
        redis.Redis.from_url(redis_url).flushdb()
    report["peak_rss_bank"] = peak.get(bank.pid, 0) if bank else 0
    report["peak_rss_app"] = peak.get(app.pid, 0) if app else 0
    report["peak_rss_applier"] = peak.get(applier.pid, 0) if applier else 0
    return report


# --------------------------------------------------------------------------------------------------- reporting


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB"


def e2e_table(report: dict[str, Any]) -> str:
    lines = ["| step | time | rows | rows/s |", "|---|---:|---:|---:|"]
    for step in report["steps"]:
        rate = f"{step['rows'] / step['s']:,.0f}" if step["s"] and step["rows"] else ""
        lines.append(f"| {step['step']} | {step['s']:,.1f} s | {step['rows']:,} | {rate} |")
    lines.append(f"| **total** | **{report['total_s']:,.1f} s** | | |")
    return "\n".join(lines)


def write_section(path: Path, body: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + (text[end + 1 :] if end != -1 else "")
    path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1, help="paired apply_updates / bare UPDATE measurements")
    parser.add_argument("--skip-ratio", action="store_true")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--apply-limit", type=int, default=5, help="callbacks per apply_stored call")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--stop-file", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out-file", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        phases = {
            "prepare-sent": phase_prepare_sent,
            "apply-ratio": phase_apply_ratio,
            "pay": phase_pay,
            "applier": lambda: phase_applier(args.stop_file, args.out_file, args.apply_limit),
        }
        print(json.dumps(phases[args.phase](), default=str))
        return 0

    import tempfile

    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = own_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    names = {"seed": "bench_pay_seed", "e2e": "bench_pay_e2e", "run": "bench_pay_run"}
    urls = {key: runtime.with_database(base, name) for key, name in names.items()}
    libpq = {key: runtime.libpq_url(url) for key, url in urls.items()}
    workdir = Path(tempfile.mkdtemp(prefix="bench-pay-"))
    info = machine()
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M"), "load_start": os.getloadavg()}
    try:
        for name in names.values():
            drop(base, name)
        runtime.ensure_database(urls["seed"])
        env = env_for(urls["seed"], redis_url)
        subprocess.run([str(Path(sys.executable).with_name("disburse")), "db", "upgrade"], env=env, check=True)  # noqa: S603
        print(f"generating {args.claims:,} approved claims…", flush=True)
        t = time.perf_counter()
        data = generate(libpq["seed"], args.claims)
        results["data"] = data
        results["generate_s"] = time.perf_counter() - t
        print(f"  {data} in {results['generate_s']:.1f} s", flush=True)
        results["pg"] = one(libpq["seed"], "SHOW server_version")[0]
        results["settings"] = {n: one(libpq["seed"], f"SHOW {n}")[0] for n in ("shared_buffers", "work_mem")}
        copy_database(base, names["seed"], names["e2e"])

        if not args.skip_ratio:
            prep = child("prepare-sent", env)
            results["prepare"] = prep
            print(f"prepared sent payments: {prep}", flush=True)
            settle_db(libpq["seed"])
            ids = [r[0] for r in psycopg.connect(libpq["seed"]).execute("SELECT id FROM payments ORDER BY id")]
            pairs = []
            for run in range(1, args.runs + 1):
                copy_database(base, names["seed"], names["run"])
                settle_db(libpq["run"])
                applied = child("apply-ratio", env_for(urls["run"], redis_url))
                assert applied["settled"] == len(ids), applied
                assert one(libpq["run"], ROLLUPS_MATCH)[0] == 0
                load = os.getloadavg()[0]
                copy_database(base, names["seed"], names["run"])
                settle_db(libpq["run"])
                bare = run_sql(libpq["run"], BARE, params={"ids": ids})
                paid = one(libpq["run"], "SELECT count(*) FROM payments WHERE state = 'paid'")[0]
                assert paid == len(ids)
                copy_database(base, names["seed"], names["run"])
                settle_db(libpq["run"])
                same = run_sql(libpq["run"], BARE_SAME_WRITES, params={"ids": ids})
                assert one(libpq["run"], ROLLUPS_MATCH)[0] == 0
                pairs.append({"apply_s": applied["apply_s"], "bare_s": bare, "same_s": same, "load": load})
                print(
                    f"run {run}: apply_updates {applied['apply_s']:.1f} s, bare UPDATE {bare:.1f} s, "
                    f"ratio {applied['apply_s'] / bare:.2f}; same writes bare {same:.1f} s, "
                    f"ratio {applied['apply_s'] / same:.2f} (load {load:.1f})",
                    flush=True,
                )
            drop(base, names["run"])
            results["pairs"] = pairs
            results["ratio"] = statistics.median(p["apply_s"] / p["bare_s"] for p in pairs)

        if not args.skip_e2e:
            print("end to end…", flush=True)
            results["load_e2e_start"] = os.getloadavg()
            report = pay_end_to_end(urls["e2e"], redis_url, apply_limit=args.apply_limit, workdir=workdir)
            results["e2e"] = report
            results["load_e2e_end"] = os.getloadavg()
            assert one(libpq["e2e"], ROLLUPS_MATCH)[0] == 0
            results["sandbox"] = one(
                libpq["e2e"],
                "SELECT count(*) FILTER (WHERE status = 'succ'), count(*) FILTER (WHERE status = 'rjct'), "
                "(SELECT count(*) FROM sandbox.callbacks), "
                "(SELECT count(*) FROM sandbox.callbacks WHERE delivered_at IS NULL), "
                "(SELECT coalesce(sum(amount_vnd), 0) FROM sandbox.ledger WHERE direction = 'debit' "
                "  AND kind = 'settlement') FROM sandbox.transfers",
            )
            print(e2e_table(report), flush=True)
    finally:
        if not args.keep:
            for name in names.values():
                drop(base, name)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M")
    results["machine"] = info
    results["platform"] = platform.platform()
    out = ROOT / "bench" / f"payments-{time.strftime('%Y%m%d-%H%M')}.json"
    print(json.dumps(results, indent=1, default=str))
    print(f"(results also in {workdir}/results.json)")
    (workdir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    del out
    return 0


if __name__ == "__main__":
    sys.exit(main())
