"""Benchmark: the dashboards' figures from the rollups against the same figures by GROUP BY over claims.

Run after ``bench/bench_national.py --keep`` (the registry and the lists build of NQ116 at the size asked), on its
database::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_rollups_bench_national REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python bench/bench_dashboard.py [--clients 20] [--seconds 30] [--province 01]

1. **State mix** (once; skipped when claims have already left ``listed``): a deterministic share of the claims in
   every state (paid 45 %, approved 10 %, payment pending 5 %, needs review 5 %, awaiting payment details 2 %,
   payment failed 1 %, rejected 3 %, declined 1 %, employer overdue 3 %, confirmed 5 %, verifying 5 %, listed the
   rest) with confirmation and payment-due dates and review reasons, written by bench-only set-based ``UPDATE``s in
   id ranges of 250,000 (no events: this is read data). The rollup triggers fire on every one of them. A failed
   payment for every failed or awaiting claim (four provider codes), 100 caseworkers and 20,000 of their decisions
   over the last 14 days; ``VACUUM ANALYZE``. Then the rollups are checked against a count over claims
   (``rollups.drift``: the repair sweeper's own read, timed).
2. **One client, in process**: the backlog sweep once (``disburse.reports.backlog.refresh``, every area); each
   dashboard function (``disburse.reports.dashboard``) for the country and one province, 30 times after a warm-up,
   and the backlog figures by the live rule (``backlog.live``: what ``ageing`` and ``backlog`` read before migration
   0016), 10 times; the same completion figures by ``GROUP BY`` over claims (country: by province and state;
   province: by district and state), 5 times; medians and the ratio.
3. **20 clients over HTTP**: the app under gunicorn (4 workers × 5 threads, gthread) with one extra bench-only
   route, ``/bench/dashboard?province=``, that answers what a completion page needs (``figures`` and ``children``
   sorted by lowest completion); the real ``/api/v1/progress`` too (with an admin's token). The load: a threaded
   ``httpx`` client in a second process, 20 threads, each requesting in a loop for ``--seconds``; p50/p95/p99.
   Meanwhile a writer process moves claims through ``claims.service.transition_many`` (approved → payment
   pending → paid, 200 claims a transaction), as the payment workers would, and reports its rate.

Prints a Markdown section for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PORT = int(os.environ.get("BENCH_DASHBOARD_PORT", "5072"))
#: The server's log, the writer's stop file and its report.
WORK = Path(tempfile.gettempdir()) / "disburse-bench-dashboard"
STOP_FILE = WORK / "writer.stop"
WRITERS = 2
PROGRAM = "NQ116"
TODAY = "2021-12-01"

MIX = """
    UPDATE claims SET
        state = CASE
            WHEN id %% 100 < 45 THEN 'paid' WHEN id %% 100 < 55 THEN 'approved'
            WHEN id %% 100 < 60 THEN 'payment_pending'
            WHEN id %% 100 < 65 THEN 'needs_review' WHEN id %% 100 < 67 THEN 'awaiting_payment_details'
            WHEN id %% 100 < 68 THEN 'payment_failed' WHEN id %% 100 < 71 THEN 'rejected'
            WHEN id %% 100 < 72 THEN 'declined' WHEN id %% 100 < 75 THEN 'employer_overdue'
            WHEN id %% 100 < 80 THEN 'employer_confirmed' ELSE 'verifying' END,
        confirmed_on = CASE WHEN id %% 100 BETWEEN 72 AND 74 THEN NULL ELSE DATE '2021-10-01' + (id %% 60)::int END,
        payment_due_on = CASE WHEN id %% 100 BETWEEN 72 AND 74 THEN NULL
                              ELSE DATE '2021-10-01' + (id %% 60)::int + 14 END,
        paid_at = CASE WHEN id %% 100 < 45 THEN now() END,
        payment_failures = CASE WHEN id %% 100 BETWEEN 65 AND 67 THEN 1 ELSE 0 END,
        reasons = CASE WHEN id %% 100 BETWEEN 60 AND 64
                       THEN ARRAY[(ARRAY['name_mismatch', 'possible_duplicate', 'bank_account_shape'])[id %% 3 + 1]]
                       ELSE reasons END
    WHERE id BETWEEN %(lo)s AND %(hi)s AND id %% 100 < 85 AND state = 'listed'
"""

FAILED_PAYMENTS = """
    INSERT INTO payments (claim_id, attempt, amount_vnd, provider, provider_reference, state, failure_code,
                          sent_at)
    SELECT c.id, 1, c.amount_vnd, 'sandbox', 'NQ116-' || c.id || '-1', 'failed',
           (ARRAY['rjct.payee_fa.closed', 'rjct.payee_name.mismatch', 'rjct.payee_fa.invalid', 'rjct.bank.timeout'])
           [c.id % 4 + 1], now()
    FROM claims c WHERE c.state IN ('payment_failed', 'awaiting_payment_details')
    ON CONFLICT DO NOTHING
"""

CASEWORKERS = """
    INSERT INTO users (email, full_name, role, district_code, locale)
    SELECT 'bench.caseworker' || n || '@bhxh.example.vn', 'Cán bộ ' || n, 'caseworker',
           (SELECT code FROM districts ORDER BY code OFFSET n % 696 LIMIT 1), 'vi'
    FROM generate_series(1, 100) n
    ON CONFLICT DO NOTHING
"""

DECISIONS = """
    INSERT INTO claim_events (claim_id, actor_id, action, from_state, to_state, reason, created_at)
    SELECT c.id, u.id, CASE WHEN c.state = 'rejected' THEN 'reject' ELSE 'approve' END, 'needs_review',
           CASE WHEN c.state = 'rejected' THEN 'rejected' ELSE 'approved' END,
           CASE WHEN c.state = 'rejected' THEN 'Không đủ điều kiện' END,
           now() - (c.id % 14) * interval '1 day'
    FROM (SELECT id, state, row_number() OVER (ORDER BY id) AS k FROM claims
          WHERE state IN ('approved', 'rejected') ORDER BY id LIMIT 20000) c
    JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM users
          WHERE email LIKE 'bench.caseworker%') u ON u.k = c.k % 100
"""

# The same completion figures as the dashboard's, by GROUP BY over claims.
GROUP_BY_COUNTRY = """
    SELECT d.province_code, c.state, count(*), sum(c.amount_vnd) FROM claims c
    JOIN districts d ON d.code = c.district_code WHERE c.program_id = %(p)s GROUP BY 1, 2
"""
GROUP_BY_PROVINCE = """
    SELECT c.district_code, c.state, count(*), sum(c.amount_vnd) FROM claims c
    JOIN districts d ON d.code = c.district_code WHERE c.program_id = %(p)s AND d.province_code = %(province)s
    GROUP BY 1, 2
"""


def _libpq(url: str) -> str:
    from disburse import runtime

    return runtime.libpq_url(url)


def _app(url: str, redis_url: str) -> Any:
    os.environ["DISBURSE_ENV"] = "development"
    from config import Development
    from disburse import create_app

    config = Development()
    config.DATABASE_URL = url
    config.REDIS_URL = redis_url
    config.DISBURSE_TODAY = TODAY
    # A load test of 20 clients from one address: the API's rate limits would answer 429 within a second.
    config.LIMIT_API_PER_ADDRESS = "10000000 per minute"
    config.LIMIT_API_PER_CALLER = "10000000 per minute"
    return create_app(config)


def make_app() -> Any:
    """The app gunicorn serves: the product's, plus the bench-only route ``/bench/dashboard``."""
    from flask import Blueprint, jsonify, request

    from disburse.extensions import csrf
    from disburse.programs.service import get_program
    from disburse.reports import dashboard
    from disburse.reports.service import Area

    app = _app(os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
    bp = Blueprint("bench_dashboard", __name__)

    @bp.get("/bench/dashboard")
    def completion() -> Any:
        program = get_program(PROGRAM)
        province = request.args.get("province") or None
        area = Area(province)
        return jsonify(
            {
                "figures": dashboard.figures(program.id, area),
                "children": dashboard.children(program.id, area, sort="completion", limit=20),
            }
        )

    csrf.exempt(bp)
    app.register_blueprint(bp)
    return app


# ------------------------------------------------------------------------------------------------------ steps


def prepare(url: str) -> dict[str, float]:
    import psycopg

    timings: dict[str, float] = {}
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        moved = conn.execute("SELECT count(*) FROM claims WHERE state <> 'listed'").fetchone()
        if moved and moved[0]:
            print("state mix already there", flush=True)
            return timings
        lo, hi = conn.execute("SELECT min(id), max(id) FROM claims").fetchone()  # type: ignore[misc]
        started = time.monotonic()
        for first in range(lo, hi + 1, 250_000):
            with conn.transaction():
                conn.execute(MIX, {"lo": first, "hi": first + 249_999})
            print(f"  mix up to {first + 249_999:,}", flush=True)
        timings["state mix (UPDATE, triggers on)"] = time.monotonic() - started
        started = time.monotonic()
        conn.execute(FAILED_PAYMENTS)
        conn.execute(CASEWORKERS)
        conn.execute(DECISIONS)
        timings["payments, caseworkers, decisions"] = time.monotonic() - started
        started = time.monotonic()
        conn.execute("VACUUM ANALYZE claims, claim_events, payments, claim_counters, district_counters,"
                     " province_counters, users")  # fmt: skip
        timings["VACUUM ANALYZE"] = time.monotonic() - started
    return timings


def _median_ms(fn: Any, n: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def in_process(url: str, redis_url: str, province: str) -> dict[str, Any]:
    import psycopg

    from disburse.extensions import db
    from disburse.programs.calendar import programme_today
    from disburse.programs.service import get_program
    from disburse.reports import backlog, dashboard, rollups
    from disburse.reports.service import Area, area_progress

    app = _app(url, redis_url)
    out: dict[str, Any] = {}
    with app.app_context():
        program_id = get_program(PROGRAM).id
        started = time.monotonic()
        drift = rollups.drift(program_id)
        out["drift_rows"] = len(drift)
        out["drift_s"] = time.monotonic() - started
        started = time.monotonic()
        out["snapshot_rows"] = rollups.take_snapshots(program_id, programme_today())
        db.session.commit()
        out["snapshot_s"] = time.monotonic() - started
        today = programme_today()
        started = time.monotonic()
        out["backlog_rows"] = backlog.refresh(program_id, today)  # beat's backlog sweep: every area, every kind
        db.session.commit()
        out["backlog_s"] = time.monotonic() - started
        country, one = Area(), Area(province)
        calls = {
            "figures": lambda a: dashboard.figures(program_id, a),
            "children (lowest completion, 20)": lambda a: dashboard.children(
                program_id, a, sort="completion", limit=20
            ),
            "area_progress (with the reduction totals)": lambda a: area_progress(program_id, a),
            "ageing": lambda a: dashboard.ageing(program_id, a),
            "failures_by_reason": lambda a: dashboard.failures_by_reason(program_id, a),
            "throughput (14 days)": lambda a: dashboard.throughput(program_id, a, 14),
            "backlog": lambda a: dashboard.backlog(program_id, a),
            "backlog figures by the live rule (what ageing and backlog read before 0016)": lambda a: backlog.live(
                program_id, a, today
            ),
            "completion_over_time (30 days)": lambda a: dashboard.completion_over_time(program_id, a, 30),
        }
        rows = []
        for name, call in calls.items():
            n = 10 if name.startswith("backlog figures") or name == "area_progress (with the reduction totals)" else 30
            rows.append((name, _median_ms(lambda c=call: c(country), n), _median_ms(lambda c=call: c(one), n)))
            db.session.rollback()
            print(f"  {name}: {rows[-1][1]:.1f} / {rows[-1][2]:.1f} ms", flush=True)
        out["functions"] = rows
        counts = db.session.execute(db.text("SELECT state, count(*) FROM claims GROUP BY 1 ORDER BY 1")).all()
        out["states"] = {state: int(n) for state, n in counts}
    with psycopg.connect(_libpq(url)) as conn:

        def group_by(sql: str, **params: Any) -> Any:
            return lambda: conn.execute(sql, {"p": program_id, **params}).fetchall()

        out["group_by_country_ms"] = _median_ms(group_by(GROUP_BY_COUNTRY), 5)
        out["group_by_province_ms"] = _median_ms(group_by(GROUP_BY_PROVINCE, province=province), 5)
    with app.app_context():
        out["rollup_country_ms"] = _median_ms(lambda: dashboard.figures(program_id, Area()), 30)
        out["rollup_province_ms"] = _median_ms(lambda: dashboard.figures(program_id, Area(province)), 30)
        out["rollup_country_children_ms"] = _median_ms(lambda: dashboard.children(program_id, Area()), 30)
        out["rollup_province_children_ms"] = _median_ms(lambda: dashboard.children(program_id, Area(province)), 30)
    return out


def writer(url: str, redis_url: str, index: int, writers: int) -> None:
    """Moves approved claims on (to payment pending, then paid: two statements, one transaction), 200 claims a
    transaction, through the one transition path, until the stop file exists. Writer ``index`` of ``writers`` takes
    the claims whose id is ``index`` modulo ``writers``: the writers share provinces and districts, never claims.
    A deadlock (PostgreSQL aborts one of the two transactions) is counted, rolled back and the work retried."""
    from psycopg import errors
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from disburse.claims import service
    from disburse.claims.states import ClaimAction
    from disburse.extensions import db

    app = _app(url, redis_url)
    moved = transactions = deadlocks = 0
    (WORK / f"writer{index}.ready").write_text("ready")
    started = time.monotonic()
    with app.app_context():
        after = 0
        while not STOP_FILE.exists():
            ids = list(
                db.session.scalars(
                    text(
                        "SELECT id FROM claims WHERE state = 'approved' AND id > :after AND id % :n = :k"
                        " ORDER BY id LIMIT 200"
                    ),
                    {"after": after, "n": writers, "k": index},
                )
            )
            if not ids:
                break
            try:
                service.transition_many(ClaimAction.QUEUE_PAYMENT, ids=ids)
                service.transition_many(ClaimAction.PAYMENT_SUCCEEDED, ids=ids)
                db.session.commit()
            except OperationalError as error:
                db.session.rollback()
                if not isinstance(error.orig, errors.DeadlockDetected):
                    raise
                deadlocks += 1
                continue
            moved += len(ids)
            transactions += 1
            after = ids[-1]
    seconds = time.monotonic() - started
    report = {"claims": moved, "transactions": transactions, "deadlocks": deadlocks, "seconds": round(seconds, 1)}
    (WORK / f"writer{index}.json").write_text(json.dumps(report))


def load(
    base: str,
    paths: list[str],
    clients: int,
    seconds: float,
    token: str | None = None,
    cookies: Any = None,
    think: tuple[float, float] = (0.0, 0.0),
) -> dict[str, Any]:
    """``clients`` threads, each requesting ``paths`` in turn for ``seconds`` (waiting ``think`` seconds, uniform
    between its bounds, between two requests); latencies per path."""
    import random

    import httpx

    latencies: dict[str, list[float]] = {path: [] for path in paths}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(k: int) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        pause = random.Random(k)
        with httpx.Client(base_url=base, headers=headers, cookies=cookies, timeout=30) as http:
            i = k
            while time.monotonic() < deadline:
                if think[1] > 0:
                    time.sleep(pause.uniform(*think))
                path = paths[i % len(paths)]
                i += 1
                started = time.perf_counter()
                response = http.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if response.status_code == 200:
                        latencies[path].append(elapsed)
                    else:
                        errors.append(f"{path}: {response.status_code}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result: dict[str, Any] = {"errors": errors[:5], "error_count": len(errors)}
    for path, values in latencies.items():
        values.sort()
        q = statistics.quantiles(values, n=100) if len(values) >= 2 else [0.0] * 99
        result[path] = {"n": len(values), "p50": q[49], "p95": q[94], "p99": q[98]}
    return result


SUPERVISOR, PASSWORD = "bench.supervisor@bhxh.example.vn", "bench-mat-khau-dai"


def _signed_in(base: str) -> Any:
    """The cookies of a national supervisor's session (one sign-in shared by every client: 20 sign-ins at once
    would measure argon2 and the sign-in rate limit, not the dashboards)."""
    import re

    import httpx

    with httpx.Client(base_url=base, timeout=30) as http:
        page = http.get("/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        data = {"email": SUPERVISOR, "password": PASSWORD, "csrf_token": token.group(1) if token else ""}
        answer = http.post("/login", data=data)
        assert answer.status_code in (200, 302) and "session" in http.cookies, answer.status_code
        return http.cookies


def over_http(
    url: str,
    redis_url: str,
    province: str,
    clients: int,
    seconds: float,
    think: tuple[float, float],
    pages_only: bool = False,
) -> dict[str, Any]:
    import httpx

    from disburse.auth.service import create_token
    from disburse.auth.service import create_user as create_user_with_scope
    from disburse.extensions import db

    app = _app(url, redis_url)
    with app.app_context():
        from disburse.auth.models import User

        admin = db.session.scalar(db.select(User).where(User.email == "bench.admin@bhxh.example.vn"))
        if admin is None:
            admin = create_user_with_scope("bench.admin@bhxh.example.vn", "admin")
        token = create_token(admin)
        if db.session.scalar(db.select(User).where(User.email == SUPERVISOR)) is None:
            create_user_with_scope(SUPERVISOR, "supervisor", password=PASSWORD)
        db.session.commit()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    WORK.mkdir(exist_ok=True)
    log = (WORK / "gunicorn.log").open("ab")
    server = subprocess.Popen(  # noqa: S603 - our own command
        [gunicorn, "-w", "4", "--threads", "5", "-k", "gthread", "-b", f"127.0.0.1:{PORT}", "--chdir",
         str(ROOT / "bench"), "bench_dashboard:make_app()"],
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    for stale in [STOP_FILE, *WORK.glob("writer?.*")]:
        stale.unlink(missing_ok=True)
    writer_procs: list[subprocess.Popen[bytes]] = []
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        for index in range(WRITERS):
            writer_procs.append(
                subprocess.Popen(  # noqa: S603 - our interpreter, our script
                    [sys.executable, __file__, "--phase", "writer", "--writer", str(index)], env=env, cwd=ROOT
                )
            )
        for _ in range(240):  # the writers build their app first (slow on a loaded machine)
            if all((WORK / f"writer{index}.ready").exists() for index in range(WRITERS)):
                break
            time.sleep(0.5)
        paths = [
            "/bench/dashboard",
            f"/bench/dashboard?province={province}",
        ]
        api = ["/api/v1/progress", f"/api/v1/progress?province={province}"]
        result: dict[str, Any] = {}
        if not pages_only:
            load(base, paths + api, 2, 3, token)  # warm-up: every worker's first request
            result["one client"] = load(base, paths + api, 1, seconds / 2, token)
            result["dashboard"] = load(base, paths, clients, seconds, token)
            result["api"] = load(base, api, clients, seconds, token)
        # The supervisors' real pages, signed in, as people use them: a page, then a look at it (``--think``).
        pages = ["/dashboard/", f"/dashboard/?province={province}"]
        cookies = _signed_in(base)
        load(base, pages, 2, 3, cookies=cookies)  # warm-up
        result["pages"] = load(base, pages, clients, seconds, cookies=cookies, think=think)
    finally:
        STOP_FILE.write_text("stop")
        for proc in writer_procs:
            proc.wait(timeout=300)
        server.terminate()
        server.wait(timeout=30)
        log.close()
    result["writers"] = [
        json.loads(path.read_text()) for index in range(WRITERS) if (path := WORK / f"writer{index}.json").exists()
    ]
    STOP_FILE.unlink(missing_ok=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--province", default="01")
    parser.add_argument(
        "--phase",
        default="all",
        choices=("all", "pages", "writer"),
        help="pages: only the supervisors' real pages over HTTP with the writers (after the state mix)",
    )
    parser.add_argument("--writer", type=int, default=0)
    parser.add_argument(
        "--think", default="1,3", help="seconds a client of the real pages waits between two of them: low,high"
    )
    args = parser.parse_args()
    low, high = (float(x) for x in args.think.split(","))
    url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8")
    if not url:
        print("Set DATABASE_URL to the database bench_national.py --keep left.", file=sys.stderr)
        return 2
    if args.phase == "writer":
        writer(url, redis_url, args.writer, WRITERS)
        return 0
    print("== prepare", flush=True)
    prepared = prepare(url)
    if args.phase == "pages":
        cache = os.environ.get("DISBURSE_DASHBOARD_CACHE_S", "the default")
        http = over_http(url, redis_url, args.province, args.clients, args.seconds, (low, high), pages_only=True)
        print(json.dumps(http, indent=1, default=str))
        print(f"\nDISBURSE_DASHBOARD_CACHE_S: {cache}; {args.clients} clients, think {low}-{high} s, {args.seconds} s")
        print("| page | requests | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|")
        for path, figures in http["pages"].items():
            if isinstance(figures, dict):
                n, p50, p95, p99 = (figures[k] for k in ("n", "p50", "p95", "p99"))
                print(f"| `{path}` | {n} | {p50:.0f} | {p95:.0f} | {p99:.0f} |")
        for report in http["writers"]:
            print(f"- writer: {report}")
        return 0
    print("== in process", flush=True)
    local = in_process(url, redis_url, args.province)
    print("== over HTTP", flush=True)
    http = over_http(url, redis_url, args.province, args.clients, args.seconds, (low, high))
    print(json.dumps({"prepared": prepared, "local": local, "http": http}, indent=1, default=str))
    claims = sum(local["states"].values())
    print()
    print(f"Machine: {platform.platform()}, {os.cpu_count()} CPUs; {claims:,} claims; province {args.province}")
    for name, seconds in prepared.items():
        print(f"- {name}: {seconds:.1f} s")
    print(f"- drift check (the repair sweeper's read, every level): {local['drift_s']:.1f} s, "
          f"{local['drift_rows']} rows drifted")  # fmt: skip
    print(f"- snapshots ({local['snapshot_rows']} rows): {local['snapshot_s'] * 1000:.0f} ms")
    print(f"- backlog sweep ({local['backlog_rows']} rows, every area): {local['backlog_s'] * 1000:.0f} ms")
    print()
    print("| function | country (median ms) | province (median ms) |")
    print("|---|---:|---:|")
    for name, country, province in local["functions"]:
        print(f"| {name} | {country:.1f} | {province:.1f} |")
    print()
    print("| figures | rollups (median ms) | GROUP BY over claims (median ms) | ratio |")
    print("|---|---:|---:|---:|")
    for label, rollup, grouped in (
        ("country", local["rollup_country_ms"], local["group_by_country_ms"]),
        ("province", local["rollup_province_ms"], local["group_by_province_ms"]),
        ("country + its provinces", local["rollup_country_children_ms"], local["group_by_country_ms"]),
        ("province + its districts", local["rollup_province_children_ms"], local["group_by_province_ms"]),
    ):
        print(f"| {label} | {rollup:.2f} | {grouped:.0f} | {grouped / rollup:,.0f}× |")
    print()
    print("| HTTP | clients | requests | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for group in ("one client", "dashboard", "api", "pages"):
        for path, figures in http[group].items():
            if path.startswith("/"):
                p50, p95, p99 = figures["p50"], figures["p95"], figures["p99"]
                n = 1 if group == "one client" else args.clients
                print(f"| `{path}` | {n} | {figures['n']} | {p50:.1f} | {p95:.1f} | {p99:.1f} |")
        print(f"errors ({group}): {http[group]['error_count']} {http[group]['errors']}")
    print(f"writers: {http['writers']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
