"""Benchmark: the national point end to end, as separate timed steps.

1. seed: ``write_csvs`` for the employees and employers asked (default 13,000,000 and 400,000, all 63 provinces);
2. ``disburse import employers``, ``disburse import employees``, ``disburse import salary-funds``, each in its own
   process, recording its wall time and peak resident memory (``/usr/bin/time -v``; psutil polling of the
   process tree when that is missing) — the issue asks that the importing process stay under 1 GB;
3. ``disburse lists build`` (when the command exists), timed the same way.

Usage (small first; the full size takes long and needs ~25 GB of disk for the database and files)::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_national.py \\
        --employees 100000 --employers 3000

It creates its own database (``<name>_bench_national`` on the same server; dropped at the end unless ``--keep``)
and runs the migrations. Files go to a temporary directory (or ``--workdir``). The printed Markdown table is what
goes into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GB = 1024**3


@dataclass
class Step:
    name: str
    seconds: float
    rows: int | None = None
    peak_rss: int | None = None
    exit_code: int = 0
    note: str = ""


def _disburse() -> list[str]:
    script = Path(sys.executable).with_name("disburse")
    return [str(script)] if script.exists() else [sys.executable, "-m", "disburse.cli"]


def _poll_peak_rss(pid: int, stop: threading.Event, peak: list[int]) -> None:
    import psutil

    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.is_set():
        try:
            total = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:
            break
        peak[0] = max(peak[0], total)
        stop.wait(0.05)


def run_measured(name: str, args: list[str], env: dict[str, str], rows: int | None = None) -> Step:
    """Run ``args``; wall time and peak RSS of that process (and its children)."""
    timer = Path("/usr/bin/time")
    started = time.monotonic()
    if timer.exists():
        proc = subprocess.run(  # noqa: S603 - our own command line
            [str(timer), "-v", *args], env=env, capture_output=True, text=True, check=False
        )
        seconds = time.monotonic() - started
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        peak = int(match.group(1)) * 1024 if match else None
        output = proc.stdout + proc.stderr.split("\tCommand being timed")[0]
    else:
        popen = subprocess.Popen(  # noqa: S603 - our own command line
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        stop, holder = threading.Event(), [0]
        poller = threading.Thread(target=_poll_peak_rss, args=(popen.pid, stop, holder), daemon=True)
        poller.start()
        output, _ = popen.communicate()
        stop.set()
        poller.join()
        seconds = time.monotonic() - started
        peak = holder[0] or None
        proc = subprocess.CompletedProcess(args, popen.returncode, output, "")
    tail = "\n".join(line for line in output.strip().splitlines()[-8:])
    print(f"--- {name}: exit {proc.returncode}, {seconds:.1f} s, peak RSS {_mb(peak)}\n{tail}\n", flush=True)
    return Step(name, seconds, rows, peak, proc.returncode)


def _mb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1024**2:,.0f} MB"


def _count(url: str, table: str) -> int:
    import psycopg

    from disburse import runtime

    with psycopg.connect(runtime.libpq_url(url)) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # our own table names
        return int(row[0]) if row else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=13_000_000)
    parser.add_argument("--employers", type=int, default=None, help="default: employees / 32.5 (400,000 at 13M)")
    parser.add_argument("--provinces", default="all", help="comma-separated GSO codes, or 'all' (default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="processes generating employee chunks")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the CSV files here")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--program", default="NQ116")
    args = parser.parse_args()

    from disburse import runtime
    from disburse.registry.seeding.files import write_csvs
    from disburse.registry.seeding.places import province_codes

    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        print("Set DATABASE_URL to a PostgreSQL server (a database of its own is created on it).", file=sys.stderr)
        return 2
    url = runtime.with_database(base_url, f"{runtime.database_name(base_url)}_bench_national")
    employers = args.employers if args.employers is not None else max(1, round(args.employees / 32.5))
    provinces = province_codes() if args.provinces == "all" else args.provinces.split(",")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="disburse-national-"))
    env = {**os.environ, "DATABASE_URL": url, "DISBURSE_ENV": os.environ.get("DISBURSE_ENV", "development")}
    steps: list[Step] = []
    try:
        started = time.monotonic()
        files = write_csvs(
            workdir,
            employers=employers,
            employees=args.employees,
            seed=args.seed,
            provinces=provinces,
            workers=args.workers,
        )
        seconds = time.monotonic() - started
        size = sum(p.stat().st_size for p in (files.employers, files.employees, files.salary_funds))
        # Before any other child runs: the largest of this process and its chunk-writing workers (Linux: KiB).
        peak = 1024 * max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        )
        steps.append(
            Step("seed CSVs (write_csvs)", seconds, files.employee_count, peak, note=f"{size / GB:.2f} GB of CSV")
        )
        print(f"--- seed: {seconds:.1f} s, {files.employee_count / seconds:,.0f} employee rows/s", flush=True)

        runtime.drop_database(url)
        runtime.ensure_database(url)
        steps.append(run_measured("db upgrade", [*_disburse(), "db", "upgrade"], env))

        for kind, path, rows in (
            ("employers", files.employers, files.employer_count),
            ("employees", files.employees, files.employee_count),
            ("salary-funds", files.salary_funds, files.salary_fund_count),
        ):
            errors = workdir / f"{kind}.errors.csv"
            steps.append(
                run_measured(
                    f"import {kind}",
                    [*_disburse(), "import", kind, str(path), "--errors", str(errors)],
                    env,
                    rows,
                )
            )

        help_text = subprocess.run(  # noqa: S603 - our own command line
            [*_disburse(), "lists", "--help"], env=env, capture_output=True, text=True, check=False
        ).stdout
        if "build" in help_text:
            # On a day of NQ116's list window: `lists build` refuses a programme that has stopped paying.
            listing = {**env, "DISBURSE_TODAY": os.environ.get("DISBURSE_TODAY", "2021-10-13")}
            steps.append(
                run_measured("lists build", [*_disburse(), "lists", "build", "--program", args.program], listing)
            )
            claims = _count(url, "claims")
            steps[-1].rows = claims
            steps[-1].note = f"{claims:,} claims, {_count(url, 'reductions'):,} reduction rows"
        else:
            steps.append(Step("lists build", 0.0, note="not available yet"))
        employees_in_db = _count(url, "employees")
    finally:
        if not args.keep:
            runtime.drop_database(url)
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(
        f"National point: {args.employees:,} employees, {employers:,} employers, {len(provinces)} province(s); "
        f"{employees_in_db:,} employees in the database."
    )
    print(f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print()
    print("| step | time | rows | rows/s | peak RSS | exit | note |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for s in steps:
        rate = f"{s.rows / s.seconds:,.0f}" if s.rows and s.seconds else ""
        rows = f"{s.rows:,}" if s.rows is not None else ""
        print(f"| {s.name} | {s.seconds:,.1f} s | {rows} | {rate} | {_mb(s.peak_rss)} | {s.exit_code} | {s.note} |")
    total = sum(s.seconds for s in steps)
    print(f"\nTotal: {total / 60:.1f} min.")
    imports = [s for s in steps if s.name.startswith("import")]
    worst = max((s.peak_rss or 0) for s in imports) if imports else 0
    verdict = "PASS" if worst and worst < GB else "FAIL" if worst else "?"
    print(f"Importing process peak memory: {_mb(worst)} ({verdict}: must stay under 1 GB).")
    failed = [s.name for s in steps if s.exit_code not in (0,)]
    if failed:
        print(f"Steps that did not exit 0: {', '.join(failed)}")
    return 1 if failed or verdict == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main())
