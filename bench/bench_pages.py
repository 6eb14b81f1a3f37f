"""Benchmark: the four pages people use all day, under 20 concurrent clients, on a Hà Nội-size database with the
workers busy.

Usage::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/bench_pages.py [--users 20] [--run-time 60] [--keep] [--rebuild]

1. **Data** (database ``bench_pages`` on DATABASE_URL's server; reused when a finished build is there, built
   otherwise): ``disburse seed`` of 1,500,000 employees at 83,000 Hà Nội units (one of exactly 2,682 people),
   ``disburse lists build``, then the claims moved through the services set-based (``--phase states``):
   Form 02 for most units (a few people declined), the overdue sweep's move for some, verification
   (``record_identities`` + ``verify_batch`` over id ranges, as the worker's task), rejections of some cases in
   review, and payments (``payments.service.create_batch`` / ``mark_batch_sent`` and the bank's answers through
   ``payments.status.apply_updates``: most paid, some failed for the details or the bank, the last batches still
   at the bank); a reserve of units is left ``listed`` for the workers' backlog. Users: caseworkers of the
   busiest districts, the 2,682-person unit's employer, a Hà Nội supervisor (the support desk).
2. **Busy workers**: right before the load, Form 02 for a slice of the reserve (``--backlog`` claims) is
   recorded and a real ``celery worker`` (solo pool, queue ``verification``, Redis database of REDIS_URL) is sent
   its ``verification.verify`` tasks (``--task-size`` claims each): it verifies them during the load.
3. **Load**: gunicorn (2×cores+1 sync workers) serving the app on that database, and ``locust --headless`` in a
   second process (``bench/pages_locustfile.py``): ``--users`` clients, a quarter on each page, each signing in
   once and then asking its page again and again: the queue with varying filters following its keyset "next"
   links, case pages of different claims of the district, the unit's status page with searches and pages,
   ``GET /api/v1/employees/<si>/support`` for different people.
4. The p50/p95/p99 and requests/s per page, the load average before and after, what the worker did; the database
   is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_payments import drop, one, settle_db  # noqa: E402
from bench_verification import machine  # noqa: E402

from disburse import runtime  # noqa: E402

DATABASE = "bench_pages"
TODAY = "2021-11-15"
CONFIRMED_ON = "2021-10-25"
PASSWORD = "bench-pages-116"  # noqa: S105 - a scratch database's users
PORT = int(os.environ.get("BENCH_PAGES_PORT", "5080"))
RANGE = 100_000
#: Pages measured: locust's request names (pages_locustfile.py) and their labels.
PAGES = {
    "queue": "caseworker queue (`GET /caseworker/queue`)",
    "case": "case page (`GET /caseworker/claims/<id>`)",
    "unit": "employer status page, 2,682-person unit (`GET /employers/<unit>`)",
    "support": "support lookup (`GET /api/v1/employees/<si>/support`)",
}

# ------------------------------------------------------------------------------------------- the data's plan
# Units (employers) by a fixed hash into 1000 buckets: the reserve stays listed (the workers' backlog is drawn from
# it), the overdue ones are moved by the sweep's action, the rest return Form 02. The 2,682-person unit answers.
PLAN = """
CREATE TABLE IF NOT EXISTS bench_unit_plan AS
SELECT e.id AS employer_id,
       CASE WHEN e.id = %(big)s THEN 'confirm'
            WHEN (e.id::bigint * 2654435761) %% 1000 < 150 THEN 'reserve'
            WHEN (e.id::bigint * 2654435761) %% 1000 < 190 THEN 'overdue'
            ELSE 'confirm' END AS plan
FROM employers e
"""

SET_CONFIRMED = """
UPDATE claims c
SET payout = CASE WHEN c.bank_code IS NULL OR c.bank_account IS NULL THEN 'cash' ELSE 'bank' END,
    confirmed_on = :today, payment_due_on = :due, updated_at = now()
WHERE c.id = ANY(:ids)
"""

CHOSEN = """
SELECT c.id, u.plan, (c.id * 7919) % 1000 < 6 AS declines
FROM claims c JOIN bench_unit_plan u ON u.employer_id = c.employer_id
WHERE c.id BETWEEN :lo AND :hi AND c.state = 'listed' AND u.plan <> 'reserve'
ORDER BY c.id
"""


def _app() -> Any:
    from disburse import create_app

    return create_app()


def phase_states() -> dict[str, Any]:
    """The listed claims moved to every state through the services (see the module's docstring)."""
    from datetime import date

    from sqlalchemy import text

    from disburse.auth.service import create_user
    from disburse.claims import service as claims
    from disburse.claims.states import ClaimAction
    from disburse.extensions import db
    from disburse.payments import service as payments
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.status import apply_updates
    from disburse.programs.calendar import add_working_days
    from disburse.programs.models import Program
    from disburse.verification import service as verification

    app = _app()
    timings: dict[str, float] = {}
    with app.app_context():
        t = time.perf_counter()
        program = db.session.query(Program).filter_by(code="NQ116").one()
        big = db.session.execute(
            text("SELECT employer_id FROM employees GROUP BY employer_id HAVING count(*) = 2682 LIMIT 1")
        ).scalar_one()
        if db.session.execute(text("SELECT to_regclass('bench_unit_plan') IS NULL")).scalar_one():
            db.session.execute(text(PLAN.replace("%%", "%").replace("%(big)s", str(int(big)))))
            db.session.execute(text("ALTER TABLE bench_unit_plan ADD PRIMARY KEY (employer_id)"))
            db.session.commit()
        db.session.execute(text("ANALYZE bench_unit_plan"))
        db.session.execute(text("ANALYZE claims"))
        lo, hi = db.session.execute(text("SELECT min(id), max(id) FROM claims")).one()
        db.session.commit()
        today = date.fromisoformat(CONFIRMED_ON)
        due = add_working_days(today, program.payment_after_confirmation_wd)
        form = {"form": "02", "received_on": today.isoformat(), "bench": "pages"}
        counts = {"confirmed": 0, "declined": 0, "overdue": 0}
        for start in range(lo, hi + 1, RANGE):
            chosen = db.session.execute(text(CHOSEN), {"lo": start, "hi": min(start + RANGE - 1, hi)}).all()
            declines = [c.id for c in chosen if c.plan == "confirm" and c.declines]
            confirms = [c.id for c in chosen if c.plan == "confirm" and not c.declines]
            overdue = [c.id for c in chosen if c.plan == "overdue"]
            if declines:
                counts["declined"] += len(claims.transition_many(ClaimAction.DECLINE, ids=declines, data=form).moved)
            if confirms:
                db.session.execute(text(SET_CONFIRMED), {"today": today, "due": due, "ids": confirms})
                counts["confirmed"] += len(claims.transition_many(ClaimAction.CONFIRM, ids=confirms, data=form).moved)
            if overdue:
                counts["overdue"] += len(claims.transition_many(ClaimAction.MARK_OVERDUE, ids=overdue).moved)
            db.session.commit()
        timings["form 02 and overdue"] = time.perf_counter() - t
        print(f"  forms: {counts} in {timings['form 02 and overdue']:.0f} s", flush=True)

        t = time.perf_counter()
        db.session.execute(text("ANALYZE claims"))
        for start in range(lo, hi + 1, verification.BATCH):
            pair = (start, min(start + verification.BATCH - 1, hi))
            verification.record_identities(id_range=pair)
            db.session.commit()
            verification.verify_batch(id_range=pair)
            db.session.commit()
        timings["verification"] = time.perf_counter() - t
        print(f"  verification in {timings['verification']:.0f} s", flush=True)

        # A caseworker's decision on some cases in review: rejected with a reason.
        t = time.perf_counter()
        ids = list(
            db.session.execute(
                text("SELECT id FROM claims WHERE state = 'needs_review' AND (id * 31) % 100 < 8 ORDER BY id")
            ).scalars()
        )
        reason = "Không đủ điều kiện (bench) / Not eligible (bench)"
        done = text("SELECT EXISTS (SELECT 1 FROM claim_events WHERE action = 'reject' AND reason = :reason)")
        if not db.session.execute(done, {"reason": reason}).scalar_one():  # a build resumed: done before
            moved = claims.transition_many(ClaimAction.REJECT, ids=ids, reason=reason).moved
            counts["rejected_by_hand"] = len(moved)
        db.session.commit()

        # Payments: every approved bank claim batched and sent; the bank answers all but the last two batches.
        after = 0
        while (
            batch := payments.create_batch(program, "bank", "sandbox", limit=10_000, id_range=(after + 1, 2**62))
        ) is not None:
            db.session.commit()
            after = payments.last_claim_id(batch.id)
        batches = list(db.session.execute(text("SELECT id FROM payment_batches ORDER BY id")).scalars())
        db.session.commit()
        for batch_id in batches:
            payments.mark_batch_sent(payments.get_batch_for_update(batch_id))  # type: ignore[arg-type]
            db.session.commit()
        rows = db.session.execute(
            text(
                "SELECT id, provider_reference, amount_vnd FROM payments WHERE state = 'sent' "
                "AND batch_id <> ALL(:last) ORDER BY id"
            ),
            {"last": batches[-2:]},
        ).all()
        db.session.commit()
        updates = []
        for payment_id, reference, amount in rows:
            bucket = (payment_id * 40503) % 1000
            if bucket < 30:
                updates.append(StatusUpdate(reference, ProviderStatus.REJECTED, reason_code="rjct.payee_fa.closed"))
            elif bucket < 45:
                updates.append(StatusUpdate(reference, ProviderStatus.REJECTED, reason_code="rjct.bank.timeout"))
            else:
                updates.append(StatusUpdate(reference, ProviderStatus.PAID, amount_vnd=int(amount)))
        applied = apply_updates("sandbox", updates, source="callback")
        db.session.commit()
        timings["payments"] = time.perf_counter() - t
        print(f"  payments: {len(batches)} batches, {applied.settled} settled, in {timings['payments']:.0f} s")

        users = _create_users(int(big), create_user)
        db.session.commit()
        states = dict(db.session.execute(text("SELECT state, count(*) FROM claims GROUP BY state")).tuples().all())
        db.session.commit()
    return {"counts": counts, "states": states, "timings": timings, "users": users, "big_employer_id": int(big)}


def _create_users(big: int, create_user: Any) -> dict[str, Any]:
    """Caseworkers of the four districts with the most cases in review (the big unit's district first), the big
    unit's employer, a Hà Nội supervisor."""
    from sqlalchemy import text

    from disburse.extensions import db

    unit_code, big_district = db.session.execute(
        text("SELECT unit_code, district_code FROM employers WHERE id = :id"), {"id": big}
    ).one()
    busiest = db.session.execute(
        text(
            "SELECT district_code FROM claims WHERE state = 'needs_review' AND district_code <> :d "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 3"
        ),
        {"d": big_district},
    ).scalars()
    districts = [big_district, *busiest]
    caseworkers = []
    for district in districts:
        email = f"canbo.{district}@bench.disburse.vn"
        create_user(email, "caseworker", password=PASSWORD, full_name=f"Bench {district}", district=district)
        caseworkers.append({"email": email, "district": district})
    employer = "donvi@bench.disburse.vn"
    create_user(employer, "employer", password=PASSWORD, full_name="Bench unit", employer_unit=unit_code)
    supervisor = "giamsat.hanoi@bench.disburse.vn"
    create_user(supervisor, "supervisor", password=PASSWORD, full_name="Bench Hà Nội", province="01")
    return {
        "caseworkers": caseworkers,
        "employer": {"email": employer, "unit": unit_code},
        "supervisor": {"email": supervisor},
    }


# ------------------------------------------------------------------------------------------------- the build


def _disburse() -> list[str]:
    script = Path(sys.executable).with_name("disburse")
    return [str(script)] if script.exists() else [sys.executable, "-m", "disburse.cli"]


def env_for(url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DISBURSE_ENV": "development",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "DISBURSE_TODAY": TODAY,
        "DISBURSE_PROGRAM": "NQ116",
        "PYTHONPATH": str(ROOT),
    }


def _step(name: str, args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-6000:], file=sys.stderr)
        raise RuntimeError(f"{name} failed ({proc.returncode})")
    print(f"--- {name}: {seconds:.0f} s", flush=True)
    return seconds, proc.stdout


def built(libpq: str) -> dict[str, Any] | None:
    """The build's summary when a finished build is in the database, else None."""
    try:
        with psycopg.connect(libpq) as conn:
            row = conn.execute("SELECT to_regclass('bench_pages_meta') IS NOT NULL").fetchone()
            if row is None or not row[0]:
                return None
            meta = conn.execute("SELECT data FROM bench_pages_meta").fetchone()
    except psycopg.OperationalError:
        return None
    return dict(meta[0]) if meta else None


def build(url: str, redis_url: str, employees: int, employers: int, *, resume: bool = False) -> dict[str, Any]:
    """The data (see the module's docstring). ``resume``: the registry and the lists are there (a build stopped in
    the states' phase): that phase again, each of its steps skipping what is done."""
    env = env_for(url, redis_url)
    steps: dict[str, float] = {}
    if not resume:
        runtime.drop_database(url)
        runtime.ensure_database(url)
        steps["db upgrade"], _ = _step("db upgrade", [*_disburse(), "db", "upgrade"], env)
        seed = [*_disburse(), "seed", "--employers", str(employers), "--employees", str(employees), "--provinces", "01"]
        steps["seed (write and import)"], _ = _step("seed", seed, env)
        steps["lists build"], _ = _step("lists build", [*_disburse(), "lists", "build", "--program", "NQ116"], env)
    started = time.perf_counter()
    _, out = _step("states", [sys.executable, __file__, "--phase", "states"], env)
    result = json.loads(out.strip().splitlines()[-1])
    steps["claims through their states"] = time.perf_counter() - started
    libpq = runtime.libpq_url(url)
    started = time.perf_counter()
    settle_db(libpq)
    steps["VACUUM ANALYZE, CHECKPOINT"] = time.perf_counter() - started
    result["steps"] = steps
    result["employees"] = int(one(libpq, "SELECT count(*) FROM employees")[0])
    result["employers"] = int(one(libpq, "SELECT count(*) FROM employers")[0])
    result["claims"] = int(one(libpq, "SELECT count(*) FROM claims")[0])
    with psycopg.connect(libpq) as conn:
        conn.execute("CREATE TABLE bench_pages_meta (data jsonb NOT NULL)")
        conn.execute("INSERT INTO bench_pages_meta VALUES (%s)", [json.dumps(result)])
    return result


# ------------------------------------------------------------------------------------------------ the samples


def _plain(text: str) -> str:
    """Vietnamese without its diacritics, as a clerk types a name on a phone ("Nguyễn Thị Đào" → "Nguyen Thi Dao")."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def samples(libpq: str, data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """What the locust clients ask for: accounts, claims per caseworker district (every state), names and SI codes
    of the big unit, SI codes across Hà Nội."""
    users = data["users"]
    with psycopg.connect(libpq) as conn:
        caseworkers = []
        for cw in users["caseworkers"]:
            d = cw["district"]
            claims = [
                r[0]
                for r in conn.execute(
                    "(SELECT id FROM claims WHERE district_code = %(d)s AND state = 'needs_review' "
                    " ORDER BY random() LIMIT 300) UNION ALL "
                    "(SELECT id FROM claims WHERE district_code = %(d)s AND state <> 'needs_review' "
                    " ORDER BY random() LIMIT 200)",
                    {"d": d},
                )
            ]
            reasons = [
                r[0]
                for r in conn.execute(
                    "SELECT r FROM claims, unnest(reasons) r WHERE district_code = %(d)s AND state = 'needs_review' "
                    "GROUP BY r",
                    {"d": d},
                )
            ]
            employers = [
                r[0]
                for r in conn.execute(
                    "SELECT e.unit_code FROM claims c JOIN employers e ON e.id = c.employer_id "
                    "WHERE c.district_code = %(d)s AND c.state = 'needs_review' GROUP BY 1 ORDER BY random() LIMIT 30",
                    {"d": d},
                )
            ]
            caseworkers.append({**cw, "claims": claims, "reasons": reasons, "employers": employers})
        people = conn.execute(
            "SELECT full_name, si_code FROM employees WHERE employer_id = %s", [data["big_employer_id"]]
        ).fetchall()
        names: list[str] = []
        for full_name, _si in rng.sample(people, min(150, len(people))):
            words = _plain(full_name).split()
            names.append(rng.choice([" ".join(words), words[-1], " ".join(words[-2:]), full_name]))
        si_codes = [r[0] for r in conn.execute("SELECT si_code FROM employees TABLESAMPLE SYSTEM (0.5) LIMIT 5000")]
    return {
        "password": PASSWORD,
        "caseworkers": caseworkers,
        "unit": {
            **users["employer"],
            "code": users["employer"]["unit"],
            "names": names,
            "si_codes": [si for _n, si in rng.sample(people, min(100, len(people)))],
            "pages": max(2, -(-len(people) // 100)),  # the status page shows 100 people a page
        },
        "supervisor": users["supervisor"],
        "si_codes": si_codes,
    }


# -------------------------------------------------------------------------------------------------- the run


def _page_of(path: str) -> str | None:
    for prefix, page in (
        ("/caseworker/queue", "queue"),
        ("/caseworker/claims/", "case"),
        ("/employers/", "unit"),
        ("/api/v1/employees/", "support"),
    ):
        if path.startswith(prefix):
            return page
    return None


def wsgi_app() -> Any:
    """The app gunicorn serves (``bench_pages:wsgi_app()``): the real one, with rate limits that 20 clients on one
    address do not reach (the limiter still counts every request in Redis, as in production). With
    ``BENCH_PAGES_TIMINGS`` (a folder), each web worker also writes, per measured page, the wall time and the CPU
    time of its own process (``time.process_time``): what the page costs the web tier whatever else runs."""
    app = _app_with_limits()
    folder = os.environ.get("BENCH_PAGES_TIMINGS")
    if not folder:
        return app
    inner = app.wsgi_app

    def timed(environ: dict[str, Any], start_response: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        body = list(inner(environ, start_response))
        page = _page_of(environ.get("PATH_INFO", ""))
        if page is not None:
            took, used = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
            line = f"{time.time():.3f} {page} {took:.2f} {used:.2f}\n"
            with open(os.path.join(folder, f"{os.getpid()}.txt"), "a", encoding="ascii") as fh:
                fh.write(line)
        return body

    app.wsgi_app = timed
    return app


def read_timings(folder: Path, since: float) -> dict[str, dict[str, float]]:
    """Per page: p50/p95 of the web worker's wall and CPU milliseconds, requests after ``since`` (epoch seconds)."""
    by_page: dict[str, list[tuple[float, float]]] = {}
    for path in folder.glob("*.txt"):
        for line in path.read_text(encoding="ascii").splitlines():
            at, page, wall, cpu = line.split()
            if float(at) >= since:
                by_page.setdefault(page, []).append((float(wall), float(cpu)))
    result = {}
    for page, rows in by_page.items():
        walls, cpus = sorted(r[0] for r in rows), sorted(r[1] for r in rows)
        n = len(rows)
        result[page] = {
            "n": n,
            "wall_p50": walls[n // 2],
            "wall_p95": walls[min(n - 1, int(n * 0.95))],
            "cpu_p50": cpus[n // 2],
            "cpu_p95": cpus[min(n - 1, int(n * 0.95))],
            "cpu_mean": sum(cpus) / n,
        }
    return result


def _app_with_limits() -> Any:
    from disburse import create_app

    return create_app(
        LIMIT_SIGN_IN_PER_ADDRESS="10000 per minute",
        LIMIT_SIGN_IN_PER_ACCOUNT="10000 per minute",
        LIMIT_API_PER_ADDRESS="100000 per minute",
        LIMIT_API_PER_CALLER="100000 per minute",
    )


#: Seconds at the start of the load whose server-side timings are left out (the sign-ins, each worker's first pages);
#: locust's own statistics start again when the last client is ready (pages_locustfile.py).
WARM_UP_S = 10

BACKLOG = """
SELECT c.id FROM claims c JOIN bench_unit_plan u ON u.employer_id = c.employer_id
WHERE u.plan = 'reserve' AND c.state = 'listed' ORDER BY c.id LIMIT %(n)s
"""

WAITING = "SELECT count(*) FROM claims WHERE state IN ('employer_confirmed', 'employer_overdue')"


def confirm_backlog(libpq: str, env: dict[str, str], claims: int) -> list[int]:
    """Form 02 for ``claims`` of the reserve (a child process, through the claims' service); their ids."""
    with psycopg.connect(libpq) as conn:
        ids = [r[0] for r in conn.execute(BACKLOG, {"n": claims})]
    if len(ids) < claims:
        print(
            f"WARNING: only {len(ids):,} claims left in the reserve for the worker's backlog ({claims:,} asked): "
            "build again (--rebuild) for a busy worker",
            flush=True,
        )
    if not ids:
        return []
    path = Path(tempfile.mkstemp(prefix="bench-pages-backlog-", suffix=".json")[1])
    path.write_text(json.dumps(ids))
    _step(
        f"Form 02 for a backlog of {len(ids):,} claims", [sys.executable, __file__, "--phase", f"confirm:{path}"], env
    )
    path.unlink()
    return ids


def phase_confirm(path: str) -> dict[str, Any]:
    from datetime import date

    from sqlalchemy import text

    from disburse.claims import service as claims
    from disburse.claims.states import ClaimAction
    from disburse.extensions import db
    from disburse.programs.calendar import add_working_days
    from disburse.programs.models import Program

    ids = json.loads(Path(path).read_text())
    app = _app()
    with app.app_context():
        program = db.session.query(Program).filter_by(code="NQ116").one()
        today = date.fromisoformat(TODAY)
        due = add_working_days(today, program.payment_after_confirmation_wd)
        form = {"form": "02", "received_on": TODAY, "bench": "pages backlog"}
        moved = 0
        for start in range(0, len(ids), RANGE):
            chunk = ids[start : start + RANGE]
            db.session.execute(text(SET_CONFIRMED), {"today": today, "due": due, "ids": chunk})
            moved += len(claims.transition_many(ClaimAction.CONFIRM, ids=chunk, data=form).moved)
            db.session.commit()
    return {"confirmed": moved}


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} did not start (exit {proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local server
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def read_stats(path: Path) -> dict[str, dict[str, Any]]:
    """locust's ``…_stats.csv``: per request name, count, failures, p50/p95/p99 (ms) and requests/s."""
    stats = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["50%"] == "N/A":  # no request of that name after the statistics started again (the sign-ins)
                continue
            stats[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50": float(row["50%"]),
                "p95": float(row["95%"]),
                "p99": float(row["99%"]),
                "max": float(row["Max Response Time"]),
                "rps": float(row["Requests/s"]),
            }
    return stats


def run(url: str, redis_url: str, data: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    from celery import Celery

    from disburse.runtime import celery_broker_url

    libpq = runtime.libpq_url(url)
    workdir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    timings = workdir / "timings"
    timings.mkdir()
    env = {**env_for(url, redis_url), "BENCH_PAGES_TIMINGS": str(timings)}
    samples_path = workdir / "samples.json"
    samples_path.write_text(json.dumps(samples(libpq, data, random.Random(116)), ensure_ascii=False))
    report: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine()}
    worker = server = None
    try:
        backlog = confirm_backlog(libpq, env, args.backlog) if args.backlog else []
        server = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "-m", "gunicorn", "--chdir", str(ROOT / "bench"), "--workers", str(args.workers),
             "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning", "bench_pages:wsgi_app()"],
            env=env, cwd=ROOT,
        )  # fmt: skip
        _wait_http(f"http://127.0.0.1:{PORT}/api/v1/health", server)
        if backlog:
            import redis

            redis.Redis.from_url(redis_url).delete("verification")
            worker = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
                [sys.executable, "-m", "celery", "-A", "workers.worker", "worker", "--loglevel", "WARNING",
                 "--pool", "solo", "-Q", "verification", "--hostname", f"bench-pages-{os.getpid()}@%h",
                 "--without-mingle", "--without-gossip"],
                env=env, cwd=ROOT,
            )  # fmt: skip
            celery = Celery("bench", broker=celery_broker_url(redis_url), set_as_current=False)
            deadline = time.monotonic() + 60
            while not celery.control.ping(timeout=0.5):
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the worker did not start")
            for start in range(0, len(backlog), args.task_size):
                chunk = backlog[start : start + args.task_size]
                celery.send_task("verification.verify", kwargs={"claim_ids": chunk}, queue="verification")
        waiting_before = int(one(libpq, WAITING)[0])
        report["load_before"] = os.getloadavg()
        started = time.perf_counter()
        since = time.time() + WARM_UP_S
        prefix = workdir / "locust"
        locust = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "pages_locustfile.py"), "--headless",
             "-u", str(args.users), "-r", str(args.users), "-t", f"{args.run_time}s", "--csv", str(prefix),
             "--host", f"http://127.0.0.1:{PORT}", "--only-summary", "--loglevel", "WARNING"],
            env={**env, "BENCH_PAGES_SAMPLES": str(samples_path), "BENCH_PAGES_THINK": args.think}, cwd=ROOT,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        report["load_seconds"] = time.perf_counter() - started
        report["load_after"] = os.getloadavg()
        waiting_after = int(one(libpq, WAITING)[0])
        report["worker"] = {
            "backlog": len(backlog),
            "tasks": -(-len(backlog) // args.task_size) if backlog else 0,
            "waiting_before": waiting_before,
            "waiting_after": waiting_after,
            "verified_during_load": waiting_before - waiting_after,
        }
        print(locust.stdout[-6000:], locust.stderr[-4000:], flush=True)
        report["stats"] = read_stats(Path(f"{prefix}_stats.csv"))
        report["server"] = read_timings(timings, since)
        report["locust_exit"] = locust.returncode
    finally:
        _stop(worker)
        _stop(server)
    report["settings"] = {
        "users": args.users,
        "run_time_s": args.run_time,
        "gunicorn_workers": args.workers,
        "think_s": args.think,
        "task_size": args.task_size,
    }
    report["data"] = {k: data[k] for k in ("employees", "employers", "claims", "states") if k in data}
    print(markdown(report))
    (workdir / "report.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"(report in {workdir}/report.json)")
    return report


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| page | requests | failures | p50 | p95 | p99 | max | req/s | p95 ≤ 150 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, label in PAGES.items():
        s = report["stats"].get(name)
        if s is None:
            lines.append(f"| {label} | – | | | | | | | no requests |")
            continue
        verdict = "**met**" if s["p95"] <= 150 else "**missed**"
        lines.append(
            f"| {label} | {s['requests']:,} | {s['failures']:,} | {s['p50']:.0f} ms | {s['p95']:.0f} ms | "
            f"{s['p99']:.0f} ms | {s['max']:.0f} ms | {s['rps']:.1f} | {verdict} |"
        )
    server = report.get("server", {})
    if server:
        lines += [
            "",
            "| page | requests (after warm-up) | web worker wall p50 / p95 | web worker CPU p50 / p95 / mean |",
            "|---|---:|---:|---:|",
        ]
        for name, label in PAGES.items():
            t = server.get(name)
            if t:
                lines.append(
                    f"| {label} | {t['n']:,} | {t['wall_p50']:.0f} / {t['wall_p95']:.0f} ms | "
                    f"{t['cpu_p50']:.0f} / {t['cpu_p95']:.0f} / {t['cpu_mean']:.0f} ms |"
                )
    w = report.get("worker", {})
    lines.append("")
    lines.append(
        f"Worker: {w.get('backlog', 0):,} claims confirmed just before, {w.get('tasks', 0)} verification tasks; "
        f"{w.get('verified_during_load', 0):,} verified during the {report.get('load_seconds', 0):.0f} s of load. "
        f"Load average before {report.get('load_before')}, after {report.get('load_after')}."
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- main


def main() -> int:
    # The build pays in this process (payments.service.create_batch): on a day of NQ116's payment period.
    os.environ.setdefault("DISBURSE_TODAY", TODAY)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=1_500_000)
    parser.add_argument("--employers", type=int, default=83_000)
    parser.add_argument("--users", type=int, default=20, help="concurrent locust clients")
    parser.add_argument("--run-time", type=int, default=60, help="seconds of load")
    parser.add_argument("--backlog", type=int, default=150_000, help="claims the worker verifies during the load")
    parser.add_argument("--task-size", type=int, default=2_000, help="claims per verification.verify task")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
    parser.add_argument("--rebuild", action="store_true", help="build the data again even if present")
    parser.add_argument("--think", default="0.1,0.5", help="seconds each client waits between pages: low,high")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--resume", action="store_true", help="finish a build that stopped after the lists")
    parser.add_argument("--keep", action="store_true", help="keep the database (a later run reuses it)")
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "states":
        print(json.dumps(phase_states(), default=str))
        return 0
    if args.phase and args.phase.startswith("confirm:"):
        print(json.dumps(phase_confirm(args.phase.partition(":")[2])))
        return 0

    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = runtime.with_database(base, DATABASE)
    libpq = runtime.libpq_url(url)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    data = None if args.rebuild else built(libpq)
    if data is None:
        print(f"building {args.employees:,} employees at {args.employers:,} units in {DATABASE}…", flush=True)
        data = build(url, redis_url, args.employees, args.employers, resume=args.resume)
    else:
        print(f"reusing the data in {DATABASE}", flush=True)
    print(json.dumps({k: v for k, v in data.items() if k != "users"}, indent=1, default=str), flush=True)
    if args.build_only:
        return 0
    try:
        report = run(url, redis_url, data, args)
    finally:
        if not args.keep:
            drop(base, DATABASE)
    print(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
