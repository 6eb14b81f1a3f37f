"""Benchmark: the cost of making and handing over payment batches, per batch of 10,000, against the sandbox bank.

Usage::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/bench_payments_send.py --claims 100000 --batches 5 [--code DIR ...] [--rounds 2] \\
        [--senders 1] [--profile DIR] [--keep]

Scratch databases ``bench_send_seed`` (N ``approved`` claims paid to bank accounts, made once; the data of
``bench_payments.py``) and ``bench_send_run`` (a fresh copy of it for every run), ports 5076 (the sandbox bank).

Each run, for each code tree given with ``--code`` (default: this one; give an unpacked older commit, e.g.
``git archive main | tar -x -C /tmp/base``, to compare), alternating ``--rounds`` times: a fresh copy of the seed
database, the sandbox bank of that code tree (``disburse sandbox serve``, bulk mode, its settle delay an hour so that
it settles nothing meanwhile: this measures taking batches, not settling them), and the driver in its own process
(that code tree on ``PYTHONPATH``): ``--batches`` times ``service.create_batch`` of 10,000 (committed, each after the
last one's claims, as ``payments.batch`` does), then each batch handed over with ``sending.send_batch`` over HTTP,
``--senders`` processes at once (each takes every ``senders``-th batch, as that many ``payments.send`` workers
would). Reported per run: seconds per batch for each, with the load average.

``--profile DIR``: the driver's batching and sending under cProfile, with the sandbox's app in the same process
(``httpx.WSGITransport``: its validation and ledger writes appear in the same profile), written to DIR.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

BANK_PORT = int(os.environ.get("BENCH_SEND_BANK_PORT", "5076"))
BATCH_SIZE = 10_000
NICE = shutil.which("nice") or "nice"


def env_for(url: str, redis_url: str, code: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DISBURSE_ENV": "development",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(code),
        "DISBURSE_PAYMENT_PROVIDER": "sandbox",
        "DISBURSE_SANDBOX_URL": f"http://127.0.0.1:{BANK_PORT}",
        # Nobody listens there: the bank settles nothing during the run, so it calls nobody back.
        "DISBURSE_SANDBOX_CALLBACK_URL": "http://127.0.0.1:5079/api/v1/providers/sandbox/events",
        "DISBURSE_SANDBOX_BULK": "1",
        "DISBURSE_SANDBOX_FAILURE_RATE": "0.05",
        "DISBURSE_SANDBOX_RETURN_RATE": "0",
        "DISBURSE_SANDBOX_DELAY_S": "3600",
        "DISBURSE_SANDBOX_TIMEOUT_S": "120",
        "DISBURSE_TODAY": "2021-11-15",
    }


# ------------------------------------------------------------------------------------------ in-process phases


def _in_process_bank(app: Any) -> None:
    """The sandbox app called in this process (for the profile): the provider's HTTP client on a WSGI transport."""
    import httpx

    from disburse.payments.sandbox_client import SandboxProvider
    from disburse.sandbox.app import create_sandbox_app

    config = app.config
    bank = create_sandbox_app(
        config["DATABASE_URL"],
        delay_s=3600,
        failure_rate=0.05,
        return_rate=0,
        webhook_secret=config["DISBURSE_SANDBOX_WEBHOOK_SECRET"].split(),
        token=config["DISBURSE_SANDBOX_TOKEN"],
        bulk=True,
    )
    provider = SandboxProvider(
        config["DISBURSE_SANDBOX_URL"],
        token=config["DISBURSE_SANDBOX_TOKEN"],
        webhook_secret=config["DISBURSE_SANDBOX_WEBHOOK_SECRET"],
        callback_url=config["DISBURSE_SANDBOX_CALLBACK_URL"],
        transport=httpx.WSGITransport(app=bank),
    )
    app.extensions.setdefault("payment_providers", {})["sandbox"] = provider


def phase_batch(batches: int, profile: str | None) -> dict[str, Any]:
    """``batches`` batches of 10,000 made as ``payments.batch`` makes them, one commit each; their ids and times."""
    from disburse import create_app
    from disburse.extensions import db
    from disburse.payments import service
    from disburse.programs.models import Program

    app = create_app()
    times, ids = [], []
    profiler = cProfile.Profile() if profile else None
    with app.app_context():
        program = db.session.query(Program).filter_by(code="NQ116").one()
        db.session.commit()
        after = 0
        for _ in range(batches):
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            batch = service.create_batch(program, "bank", "sandbox", limit=BATCH_SIZE, id_range=(after + 1, 2**62))
            assert batch is not None and batch.item_count == BATCH_SIZE
            db.session.commit()
            if profiler:
                profiler.disable()
            times.append(time.perf_counter() - started)
            ids.append(batch.id)
            after = service.last_claim_id(batch.id)
            db.session.commit()
    if profiler and profile:
        profiler.dump_stats(profile)
    return {"ids": ids, "times": times}


def phase_send(batch_ids: list[int], profile: str | None) -> dict[str, Any]:
    """Each batch handed over with ``sending.send_batch``; the time of each."""
    from disburse import create_app
    from disburse.payments import sending

    app = create_app()
    times = []
    profiler = cProfile.Profile() if profile else None
    with app.app_context():
        if profile:
            _in_process_bank(app)
        first = time.time()
        for batch_id in batch_ids:
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            sent = sending.send_batch(batch_id)
            if profiler:
                profiler.disable()
            times.append(time.perf_counter() - started)
            assert sent.accepted and sent.orders == BATCH_SIZE, sent.as_dict()
    if profiler and profile:
        profiler.dump_stats(profile)
    return {"times": times, "first": first, "last": time.time()}


# ---------------------------------------------------------------------------------------------------- driver


def child(code: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our interpreter, our script
        [NICE, "-n", "10", sys.executable, __file__, *args],
        env=env,
        cwd=code,
        stdout=subprocess.PIPE,
        text=True,
    )


def answer(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"a phase failed ({proc.returncode}): {out[-2000:]}")
    return dict(json.loads(out.strip().splitlines()[-1]))


def one_run(code: Path, url: str, redis_url: str, args: argparse.Namespace, label: str) -> dict[str, Any]:
    from bench_payments import _stop, _wait_http

    env = env_for(url, redis_url, code)
    disburse_cli = str(Path(sys.executable).with_name("disburse"))
    profile_dir = Path(args.profile) if args.profile else None
    bank = None
    log = (Path(args.workdir) / "bank.log").open("ab")
    try:
        if profile_dir is None:
            bank = subprocess.Popen(  # noqa: S603 - our own command
                [NICE, "-n", "10", disburse_cli, "sandbox", "serve", "--port", str(BANK_PORT), "--seed", "116"],
                env=env, cwd=code, stdout=log, stderr=log,
            )  # fmt: skip
            _wait_http(f"http://127.0.0.1:{BANK_PORT}/statement", bank)
        load = os.getloadavg()
        prof = str(profile_dir / f"{label}-batch.prof") if profile_dir else ""
        made = answer(child(code, env, "--phase", "batch", "--batches", str(args.batches), "--profile-file", prof))
        senders = [made["ids"][i :: args.senders] for i in range(args.senders)]
        procs = [
            child(
                code,
                env,
                "--phase",
                "send",
                "--ids",
                ",".join(map(str, ids)),
                "--profile-file",
                str(profile_dir / f"{label}-send{i}.prof") if profile_dir else "",
            )
            for i, ids in enumerate(senders)
            if ids
        ]
        sent = [answer(proc) for proc in procs]
        # From the first batch handed over to the last one answered (the senders' start-up left out).
        wall = max(s["last"] for s in sent) - min(s["first"] for s in sent)
    finally:
        _stop(bank)
        log.close()
    send_times = [t for s in sent for t in s["times"]]
    return {
        "code": str(code),
        "label": label,
        "load_before": load,
        "load_after": os.getloadavg(),
        "batch_s": made["times"],
        "send_s": send_times,
        "send_wall_s": wall,
        "batch_median": statistics.median(made["times"]),
        "send_median": statistics.median(send_times),
        "send_wall_per_batch": wall / len(made["ids"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--code", action="append", default=None, help="code trees to compare (default: this one)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--senders", type=int, default=1, help="send_batch processes at once")
    parser.add_argument("--profile", default=None, help="directory for cProfile files (in-process bank)")
    parser.add_argument("--reuse", action="store_true", help="keep an existing seed database")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--ids", default="", help=argparse.SUPPRESS)
    parser.add_argument("--profile-file", default="", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=tempfile.gettempdir(), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase == "batch":
        print(json.dumps(phase_batch(args.batches, args.profile_file or None)))
        return 0
    if args.phase == "send":
        print(json.dumps(phase_send([int(i) for i in args.ids.split(",")], args.profile_file or None)))
        return 0

    import psycopg
    from bench_payments import copy_database, drop, generate, own_redis, settle_db

    sys.path.insert(0, str(ROOT))
    from disburse import runtime

    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = own_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    seed_url, run_url = runtime.with_database(base, "bench_send_seed"), runtime.with_database(base, "bench_send_run")
    codes = [Path(c).resolve() for c in (args.code or [str(ROOT)])]
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    exists = False
    if args.reuse:
        admin = runtime.libpq_url(runtime.with_database(base, "postgres"))
        with psycopg.connect(admin) as conn:
            exists = bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bench_send_seed'").fetchone())
    if not exists:
        drop(base, "bench_send_seed")
        runtime.ensure_database(seed_url)
        env = env_for(seed_url, redis_url, codes[0])
        subprocess.run([str(Path(sys.executable).with_name("disburse")), "db", "upgrade"], env=env, check=True)  # noqa: S603
        print(f"generating {args.claims:,} approved claims…", flush=True)
        print(generate(runtime.libpq_url(seed_url), args.claims), flush=True)
    runs = []
    try:
        for round_ in range(args.rounds):
            for n, code in enumerate(codes):
                copy_database(base, "bench_send_seed", "bench_send_run")
                settle_db(runtime.libpq_url(run_url))
                run = one_run(code, run_url, redis_url, args, f"r{round_}c{n}")
                runs.append(run)
                print(
                    f"{code.name}: create_batch {run['batch_median']:.2f} s/batch, send_batch "
                    f"{run['send_median']:.2f} s/batch ({args.senders} senders: {run['send_wall_per_batch']:.2f} s "
                    f"wall per batch); load {run['load_before'][0]:.1f} → {run['load_after'][0]:.1f}",
                    flush=True,
                )
    finally:
        if not args.keep:
            drop(base, "bench_send_run")
            drop(base, "bench_send_seed")
    out = Path(args.workdir) / f"bench-send-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(runs, indent=1))
    print(f"(every figure in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
