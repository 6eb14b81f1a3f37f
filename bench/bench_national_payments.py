"""Benchmark: the national programme end to end, registry to last payment, each step timed with its peak memory.

1. registry and lists: ``bench/bench_national.py --employees N --keep`` (seed CSVs, ``disburse import`` ×3,
   ``disburse lists build``, each its own process under ``/usr/bin/time -v``);
2. confirm: Form 02 for every unit, set-based: the listed claims in id ranges of 100,000, each range confirmed by
   ``claims.service.confirm_many`` with the bank details they were listed with, as ``employer_forms.confirm`` does
   (the move writes the details, the payout, the confirmation date and the payment due date), one commit per range;
3. verify: the verification service over id ranges of ``BATCH`` (100,000) claims, as the worker's
   ``verification.verify`` task does (identities, commit, batch, commit);
4. pay: ``bench_payments.pay_end_to_end`` on that database: the sandbox bank (bulk mode, 5% failures), our app
   under gunicorn taking its callbacks, an applier looping ``events.apply_stored``; each failed payment tried once
   more (bank-side failures again as they are, details failures after a Form 03 correction) as round 1 goes, range
   by range once every claim of the range has its round-1 outcome (``bench_payments.Repayments``).

Usage::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_pay_nat REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/bench_national_payments.py --employees 1300000

The database is ``<name of DATABASE_URL>_bench_national`` (bench_national's naming), dropped at the end unless
``--keep``. Steps 2–3 run in child processes whose peak RSS is polled (psutil, the process and its children).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_payments import (  # noqa: E402
    RETRIES,
    copy_database,
    env_for,
    own_redis,
    pay_end_to_end,
    read_progress,
    retrying,
    settle_db,
    write_progress,
)

from disburse import runtime  # noqa: E402

TODAY = "2021-11-15"
CONFIRMED_ON = "2021-10-25"
RANGE = 100_000

#: A range's Form 02 rows: each listed claim with the bank details it was listed with (none: cash at the office).
FORM_ROWS = """
SELECT id, CASE WHEN bank_account IS NULL THEN NULL ELSE bank_code END,
       CASE WHEN bank_code IS NULL THEN NULL ELSE bank_account END
FROM claims WHERE id BETWEEN :lo AND :hi AND state IN ('listed', 'employer_overdue') ORDER BY id
"""


def phase_confirm(progress: str | None = None) -> dict[str, Any]:
    from datetime import date

    from sqlalchemy import text

    from disburse import create_app
    from disburse.claims import service as claims
    from disburse.extensions import db
    from disburse.programs.calendar import add_working_days
    from disburse.programs.models import Program

    app = create_app()
    with app.app_context():
        program = db.session.query(Program).filter_by(code="NQ116").one()
        today = date.fromisoformat(CONFIRMED_ON)
        due = add_working_days(today, program.payment_after_confirmation_wd)
        lo, hi = db.session.execute(text("SELECT min(id), max(id) FROM claims")).one()
        db.session.commit()
        confirmed = 0
        data = {"form": "02", "received_on": today.isoformat(), "bench": "every unit"}
        for start in range(lo, hi + 1, RANGE):
            end = min(start + RANGE - 1, hi)

            def one_range() -> int:
                rows = db.session.execute(text(FORM_ROWS), {"lo": start, "hi": end}).all()  # noqa: B023
                moved = claims.confirm_many(  # as employer_forms.confirm moves them, details and all
                    [row[0] for row in rows],
                    [row[1] for row in rows],
                    [row[2] for row in rows],
                    confirmed_on=today,
                    payment_due_on=due,
                    data=data,
                )
                db.session.commit()
                return len(moved.moved)

            confirmed += retrying(one_range)
            write_progress(progress, end, end == hi)
    return {"confirmed": confirmed, "deadlocks_retried": RETRIES[0]}


def phase_verify(upstream: str | None = None, progress: str | None = None) -> dict[str, Any]:
    from sqlalchemy import text

    from disburse import create_app
    from disburse.extensions import db
    from disburse.verification import service

    app = create_app()
    totals: dict[str, int] = {}
    with app.app_context():
        lo, hi = db.session.execute(text("SELECT min(id), max(id) FROM claims")).one()
        db.session.commit()
        waited = 0.0
        for start in range(lo, hi + 1, service.BATCH):
            pair = (start, min(start + service.BATCH - 1, hi))
            t = time.perf_counter()
            while read_progress(upstream)[0] < pair[1]:
                time.sleep(0.5)
            waited += time.perf_counter() - t

            def one_range() -> Any:
                service.record_identities(id_range=pair)  # noqa: B023
                db.session.commit()
                result = service.verify_batch(id_range=pair)  # noqa: B023
                db.session.commit()
                return result

            for key, value in retrying(one_range).as_dict().items():
                totals[key] = totals.get(key, 0) + int(value)
            write_progress(progress, pair[1], pair[1] == hi)
        states = dict(db.session.execute(text("SELECT state, count(*) FROM claims GROUP BY state")).tuples().all())
        db.session.commit()
    return {"verified": totals, "states": states, "waited_s": waited, "deadlocks_retried": RETRIES[0]}


def _poll(pid: int, stop: threading.Event, peak: list[int]) -> None:
    import psutil

    try:
        proc = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.is_set():
        try:
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:
            break
        peak[0] = max(peak[0], rss)
        stop.wait(1.0)  # each look walks the process tree: more often cost the run a few percent of a core


def measured(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run ``args``: wall time, peak RSS of the process tree, stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    stop, peak = threading.Event(), [0]
    poller = threading.Thread(target=_poll, args=(proc.pid, stop, peak), daemon=True)
    poller.start()
    out, err = proc.communicate()
    stop.set()
    poller.join()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        print(out[-3000:], err[-6000:], file=sys.stderr)
        raise RuntimeError(f"{args[-1]} failed ({proc.returncode})")
    return seconds, peak[0], out


def _sequential(
    url: str, redis_url: str, env: dict[str, str], workdir: Path, steps: list[dict[str, Any]], report: dict[str, Any]
) -> float:
    """Confirm every claim, then verify every claim, then pay: each step alone on the machine. Returns when paying
    started."""
    me = [sys.executable, __file__]
    for phase in ("confirm", "verify"):
        seconds, peak, out = measured([*me, "--phase", phase], env)
        result = json.loads(out.strip().splitlines()[-1])
        report[phase] = result
        rows = result.get("confirmed") or sum(result.get("states", {}).values())
        steps.append({"step": phase, "s": seconds, "rows": rows, "peak": _mb(peak)})
        print(f"--- {phase}: {seconds:.1f} s, peak {_mb(peak)}: {result}", flush=True)
        settle_db(runtime.libpq_url(url))
    started = time.perf_counter()
    report["pay"] = pay_end_to_end(url, redis_url, workdir=workdir)
    return started


def _pipelined(
    url: str, redis_url: str, env: dict[str, str], workdir: Path, steps: list[dict[str, Any]], report: dict[str, Any]
) -> float:
    """Confirm, verify and pay at once, range after range, as the programme ran: verification takes a range of
    claims once it is confirmed, payments batch a range once it is verified (progress files in ``workdir``); each
    step its own process with its own time and peak RSS. Returns when paying started (with the others)."""
    me = [sys.executable, __file__]
    confirmed, verified = str(workdir / "confirmed.progress"), str(workdir / "verified.progress")
    outcome: dict[str, tuple[float, int, str] | BaseException] = {}

    def stage(phase: str, *extra: str) -> None:
        try:
            outcome[phase] = measured([*me, "--phase", phase, *extra], env)
        except BaseException as exc:  # reported below
            outcome[phase] = exc
            write_progress(confirmed if phase == "confirm" else verified, 2**62, True)  # let the others end

    threads = [
        threading.Thread(target=stage, args=("confirm", "--progress", confirmed)),
        threading.Thread(target=stage, args=("verify", "--upstream", confirmed, "--progress", verified)),
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    try:
        report["pay"] = pay_end_to_end(url, redis_url, workdir=workdir, upstream=verified)
    finally:
        for thread in threads:
            thread.join()
    for phase in ("confirm", "verify"):
        got = outcome[phase]
        if isinstance(got, BaseException):
            raise got
        seconds, peak, out = got
        result = json.loads(out.strip().splitlines()[-1])
        report[phase] = result
        rows = result.get("confirmed") or sum(result.get("states", {}).values())
        label = f"{phase} (from the start, alongside the others)"
        steps.append({"step": label, "s": seconds, "rows": rows, "peak": _mb(peak)})
        print(f"--- {phase}: {seconds:.1f} s, peak {_mb(peak)}: {result}", flush=True)
    return started


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=13_000_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--sequential", action="store_true", help="confirm everything, then verify, then pay (default: at once)"
    )
    parser.add_argument(
        "--registry-from",
        default=None,
        metavar="DATABASE",
        help="skip the registry: start from a file copy of this database (a registry kept by bench_national.py)",
    )
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--progress", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "confirm":
        print(json.dumps(phase_confirm(args.progress), default=str))
        return 0
    if args.phase == "verify":
        print(json.dumps(phase_verify(args.upstream, args.progress), default=str))
        return 0

    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_pay_nat")
    url = runtime.with_database(base, f"{runtime.database_name(base)}_bench_national")
    redis_url = own_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    env = env_for(url, redis_url, DISBURSE_TODAY=TODAY)
    workdir = Path(tempfile.mkdtemp(prefix="bench-national-pay-"))
    steps: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M"),
        "load_start": os.getloadavg(),
        "mode": "sequential" if args.sequential else "pipelined",
    }
    started = time.perf_counter()
    try:
        national_env = {**os.environ, "DATABASE_URL": base}
        if args.registry_from:
            seconds, out = copy_database(base, args.registry_from, runtime.database_name(url)), ""
            steps.append({"step": f"registry: copy of {args.registry_from}", "s": seconds, "rows": None, "peak": ""})
        else:
            registry = [sys.executable, str(ROOT / "bench" / "bench_national.py"), "--employees", str(args.employees)]
            seconds, _peak, out = measured([*registry, "--keep"], national_env)
            print(out[-4000:], flush=True)
        for line in out.splitlines():
            match = re.match(r"\| (.+?) \| ([\d,.]+) s \| ([\d,]*) \| [\d,]* \| ([\d,?]+ MB|\?) \| (\d+) \|", line)
            if match:
                name, secs, rows, peak, _code = match.groups()
                steps.append(
                    {
                        "step": name,
                        "s": float(secs.replace(",", "")),
                        "rows": int(rows.replace(",", "")) if rows else None,
                        "peak": peak,
                    }
                )
        report["national_wall_s"] = seconds
        settle_db(runtime.libpq_url(url))

        if args.sequential:
            pay_started = _sequential(url, redis_url, env, workdir, steps, report)
        else:
            pay_started = _pipelined(url, redis_url, env, workdir, steps, report)
        paid = report["pay"]
        peaks = (
            f"driver {_mb(paid['peak_rss'])}, bank {_mb(paid['peak_rss_bank'])}, app {_mb(paid['peak_rss_app'])}, "
            f"applier {_mb(paid['peak_rss_applier'])}"
        )
        for step in paid["steps"]:
            steps.append({"step": f"pay, {step['step']}", "s": step["s"], "rows": step["rows"], "peak": ""})
        steps.append({"step": "pay (all of it)", "s": time.perf_counter() - pay_started, "rows": None, "peak": peaks})
    finally:
        report["total_wall_s"] = time.perf_counter() - started
        if not args.keep:
            runtime.drop_database(url)
    report["steps"] = steps
    report["finished"] = time.strftime("%Y-%m-%d %H:%M")
    report["load_end"] = os.getloadavg()
    print("\n| step | time | rows | rows/s | peak RSS |\n|---|---:|---:|---:|---:|")
    for step in steps:
        rate = f"{step['rows'] / step['s']:,.0f}" if step["rows"] and step["s"] else ""
        rows = f"{step['rows']:,}" if step["rows"] else ""
        print(f"| {step['step']} | {step['s']:,.1f} s | {rows} | {rate} | {step['peak']} |")
    print(f"\nTotal (wall, registry to last payment): {report['total_wall_s'] / 60:.1f} min")
    (workdir / "national-payments.json").write_text(json.dumps(report, indent=1, default=str))
    print(json.dumps(report, indent=1, default=str))
    print(f"(also in {workdir}/national-payments.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
