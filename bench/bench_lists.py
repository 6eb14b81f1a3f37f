"""Benchmark: ``lists build`` over N employees against a bare ``INSERT … SELECT`` of the same claim rows.

Usage::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/bench_lists.py --employees 1000000 [--runs 3] [--write-md]

It creates a scratch database ``bench_lists`` on the same server (dropped at the end unless ``--keep``), runs the
migrations with ``disburse db upgrade``, generates the registry in SQL straight into ``employers``, ``employees``
and ``salary_funds`` (deterministic: ``setseed``), then measures in the same run, alternating, ``--runs`` times:

* **baseline** (primary): one bare ``INSERT … SELECT`` writing the same claim rows (same columns and values: tier
  amount, reasons, district, bank details, review date) into the same ``claims`` table as it stands (same indexes,
  foreign keys, CHECKs and its ``claim_counters`` rollup trigger), with the amounts and rules hard-coded as plain
  ``CASE`` expressions, no events, no conflict handling; one commit.
* **baseline without rollups** (orientation only): the same with the rollup trigger switched off.
* **build_lists**: the real thing, ``build_lists(program)`` + commit: rules SQL, id-range batches, ``ON CONFLICT``,
  one ``claim_events`` row per claim, rollup triggers, and the employer reductions (12 months × employers); claims,
  events and reductions with the set-based foreign-key guarantee.
* **build_lists through the FK triggers** (orientation, ``--fk-variant``): the same with
  ``skip_fk_triggers=False``, to show what the replica-role writes save.

Between runs ``claims``, ``claim_events``, ``claim_counters`` and ``reductions`` are truncated and a CHECKPOINT is
taken, so every run starts from the same state. Each run's rows are checked to be identical to the baseline's
(count, amounts, reasons fingerprint), the rollups against a GROUP BY over claims. Reported: machine, data size,
per-run times, the paired per-run ratios build / baseline and their median (target ≤ 1.5).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from disburse import runtime  # noqa: E402  (after the path is set)

LISTED_ON = date(2021, 10, 20)
SECTION = "## Lists build"

GENERATE_EMPLOYERS = """
INSERT INTO employers (unit_code, name, tax_code, sector, district_code, address, ui_joined_on, email)
SELECT 'BL' || lpad(g::text, 8, '0'),
       'Công ty TNHH Thử nghiệm ' || g,
       '01' || lpad(g::text, 8, '0'),
       -- 88 in 100 enterprises, 4 autonomous public units, 8 across the four excluded sectors
       CASE WHEN g %% 100 < 88 THEN 'enterprise'
            WHEN g %% 100 < 92 THEN 'public_autonomous'
            WHEN g %% 100 < 95 THEN 'public_budget'
            WHEN g %% 100 < 97 THEN 'state_agency'
            WHEN g %% 100 < 99 THEN 'political_org'
            ELSE 'armed_forces' END,
       d.code,
       'Số ' || (g %% 300 + 1) || ' Đường Thử nghiệm',
       date '2010-01-01' + (g %% 4000),
       -- 9 units in 10 have an e-mail in the registry: the build queues their "list ready" message
       CASE WHEN g %% 10 <> 0 THEN 'ketoan' || g || '@bl' || (g %% 50) || '.example.vn' END
FROM generate_series(1, %(employers)s) g
JOIN (SELECT code, (row_number() OVER (ORDER BY code) - 1)::int AS i FROM districts) d
  ON d.i = g %% (SELECT count(*) FROM districts)
"""

# Employer sizes are skewed (a few units of thousands, many of a handful): employer = floor(n × u²).
GENERATE_EMPLOYEES = """
INSERT INTO employees (si_code, national_id, full_name, date_of_birth, gender, phone, district_code, address,
                       employer_id, ui_status, ui_stopped_on, unused_months, pension_decision, bank_code,
                       bank_account, possible_duplicate)
SELECT lpad(g::text, 10, '0'),
       '001' || lpad((g %% 999999999)::text, 9, '0'),
       (ARRAY['Nguyễn','Trần','Lê','Phạm','Hoàng','Vũ','Đặng','Bùi'])[1 + g %% 8] || ' '
         || (ARRAY['Văn','Thị','Hữu','Minh','Ngọc','Thanh'])[1 + g %% 6] || ' '
         || (ARRAY['An','Bình','Chi','Dũng','Hà','Hải','Lan','Linh','Nam','Phúc'])[1 + g %% 10],
       date '1965-01-01' + (g %% 13000),
       CASE WHEN g %% 2 = 0 THEN 'male' ELSE 'female' END,
       '09' || lpad((g %% 100000000)::text, 8, '0'),
       e.district_code,
       'Số ' || (g %% 500 + 1) || ' Phố Thử nghiệm',
       e.id,
       CASE WHEN s.b < 0.9 THEN 'participating' ELSE 'stopped' END,
       CASE WHEN s.b >= 0.9 THEN date '2019-06-01' + floor(s.c * 900)::int END,
       CASE WHEN g %% 250 = 0 THEN 0 ELSE 1 + floor(s.c * s.c * 240)::int END,
       s.b >= 0.9 AND g %% 20 = 0,
       CASE WHEN g %% 3 <> 0 THEN (ARRAY['VCB','BIDV','ICB','VBA','TCB','MB','ACB','VPB'])[1 + g %% 8] END,
       CASE WHEN g %% 3 <> 0 THEN lpad(g::text, 13, '0') END,
       g %% 200 = 0
FROM (
    SELECT g, random() AS a, random() AS b, random() AS c FROM generate_series(1, %(employees)s) g
) s
JOIN employers e ON e.id = (SELECT min(id) FROM employers) + floor(%(employers)s * s.a * s.a)::int
ORDER BY g
"""

GENERATE_FUNDS = """
INSERT INTO salary_funds (employer_id, month, ui_salary_fund_vnd, ui_participants)
SELECT r.id, m::date, (r.id %% 97 + 3) * 6543210 + extract(month from m)::int * 1001, r.id %% 97 + 3
FROM employers r
CROSS JOIN generate_series(date '2021-09-01', date '2022-09-01', interval '1 month') m
"""

# The bare baseline: the same claim rows, hard-coded rules, nothing else.
BASELINE = """
INSERT INTO claims (program_id, employee_id, employer_id, district_code, track, support_group, unused_months,
                    amount_vnd, state, reasons, bank_code, bank_account, review_due_on)
SELECT %(program_id)s, e.id, e.employer_id, r.district_code, 'A', 'A', e.unused_months,
       CASE WHEN e.unused_months < 12 THEN 1800000 WHEN e.unused_months < 60 THEN 2100000
            WHEN e.unused_months < 84 THEN 2400000 WHEN e.unused_months < 108 THEN 2650000
            WHEN e.unused_months < 132 THEN 2900000 ELSE 3300000 END,
       'listed',
       CASE WHEN e.possible_duplicate AND e.unused_months = 0 THEN '{possible_duplicate,zero_months}'
            WHEN e.possible_duplicate THEN '{possible_duplicate}'
            WHEN e.unused_months = 0 THEN '{zero_months}'
            ELSE '{}' END::varchar[],
       e.bank_code, e.bank_account, %(review_due_on)s
FROM employees e
JOIN employers r ON r.id = e.employer_id
WHERE e.ui_status = 'participating'
  AND r.sector NOT IN ('public_budget', 'state_agency', 'political_org', 'armed_forces')
"""

FINGERPRINT = """
SELECT count(*), sum(amount_vnd), sum(unused_months),
       md5(string_agg(concat_ws(':', employee_id, employer_id, district_code, amount_vnd, unused_months,
                                array_to_string(reasons, ','), bank_code, bank_account, review_due_on, state, track),
                      ',' ORDER BY employee_id))
FROM claims
"""

UNITS_WITH_EMAIL = """
SELECT count(*) FROM employers e
WHERE e.email IS NOT NULL AND EXISTS (SELECT 1 FROM claims c WHERE c.employer_id = e.id)
"""

RESET = (
    "TRUNCATE claim_events, claims, claim_counters, district_counters, province_counters, reductions, notifications"
    " RESTART IDENTITY CASCADE"
)
COUNTER_TRIGGER = "ALTER TABLE claims {} TRIGGER claim_counters_insert"

# Rows where claim_counters and a GROUP BY over claims disagree (0 when the rollups are exact).
ROLLUPS_MATCH = """
SELECT count(*) FROM (
    (SELECT program_id, district_code, employer_id, state, claims, amount_vnd FROM claim_counters
     WHERE claims <> 0 OR amount_vnd <> 0
     EXCEPT
     SELECT program_id, district_code, employer_id, state, count(*), sum(amount_vnd) FROM claims
     GROUP BY program_id, district_code, employer_id, state)
    UNION ALL
    (SELECT program_id, district_code, employer_id, state, count(*), sum(amount_vnd) FROM claims
     GROUP BY program_id, district_code, employer_id, state
     EXCEPT
     SELECT program_id, district_code, employer_id, state, claims, amount_vnd FROM claim_counters
     WHERE claims <> 0 OR amount_vnd <> 0)
) diff
"""


def machine() -> dict[str, Any]:
    mem_kb = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    model = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1), "cpu": model, "os": platform.platform()}


def execute(url: str, sql: str, params: dict[str, Any] | None = None) -> float:
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute(sql, params)  # type: ignore[arg-type]
    return time.perf_counter() - started


def scalar_row(url: str, sql: str, params: dict[str, Any] | None = None) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return tuple(row)


def reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(RESET)
        conn.execute("VACUUM ANALYZE claims, claim_events, claim_counters, reductions")
        conn.execute("CHECKPOINT")


def generate(url: str, employees: int, employers: int) -> dict[str, int]:
    params = {"employees": employees, "employers": employers}
    with psycopg.connect(url) as conn:
        conn.execute("SELECT setseed(0.116)")
        conn.execute(GENERATE_EMPLOYERS, params)
        conn.execute(GENERATE_EMPLOYEES, params)
        conn.execute(GENERATE_FUNDS, params)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE employers, employees, salary_funds")
        conn.execute("CHECKPOINT")
        counts = conn.execute(
            """
            SELECT (SELECT count(*) FROM employers), (SELECT count(*) FROM employees),
                   (SELECT count(*) FROM employees WHERE ui_status = 'participating'),
                   (SELECT count(*) FROM salary_funds),
                   (SELECT max(n) FROM (SELECT count(*) n FROM employees GROUP BY employer_id) x)
            """
        ).fetchone()
    assert counts is not None
    keys = ("employers", "employees", "participating", "salary_fund_rows", "largest_employer")
    return dict(zip(keys, (int(c) for c in counts), strict=True))


def run_build(app: Any, employee_span: int, *, skip_fk_triggers: bool = True) -> tuple[float, dict[str, Any]]:
    from sqlalchemy import select

    from disburse.claims.lists import build_lists
    from disburse.extensions import db
    from disburse.programs.models import Program

    with app.app_context():
        program = db.session.scalar(select(Program).where(Program.code == "NQ116"))
        marks: list[tuple[float, int]] = []
        started = time.perf_counter()
        result = build_lists(
            program,
            today=LISTED_ON,
            progress=lambda d, t: marks.append((time.perf_counter(), d)),
            skip_fk_triggers=skip_fk_triggers,
        )
        db.session.commit()
        elapsed = time.perf_counter() - started
        db.session.remove()
    claims_done = max((at for at, done in marks if done <= employee_span), default=started)
    return elapsed, {
        "claims_phase_s": claims_done - started,
        "claims_created": result.claims_created,
        "reductions_created": result.reductions_created,
        "employers_listed": result.employers_listed,
        "set_based_references": result.set_based_references,
    }


def write_section(path: Path, body: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + (text[end + 1 :] if end != -1 else "")
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=1_000_000)
    parser.add_argument("--employers", type=int, help="default: employees / 40")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--write-md", action="store_true", help="write the results into BENCHMARKS.md")
    parser.add_argument("--fk-variant", action="store_true", help="also time the build through the FK triggers")
    args = parser.parse_args()
    employers = args.employers or max(1, args.employees // 40)

    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = runtime.with_database(base, "bench_lists")
    libpq = runtime.libpq_url(url)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    runtime.drop_database(url)
    runtime.ensure_database(url)
    try:
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "DISBURSE_ENV": "development"}
        subprocess.run([str(Path(sys.executable).parent / "disburse"), "db", "upgrade"], env=env, check=True)  # noqa: S603

        print(f"generating {args.employees:,} employees at {employers:,} employers…", flush=True)
        t = time.perf_counter()
        data = generate(libpq, args.employees, employers)
        print(f"  {data} in {time.perf_counter() - t:.1f} s", flush=True)
        pg_version = scalar_row(libpq, "SHOW server_version")[0]
        settings = dict(
            (name, scalar_row(libpq, f"SHOW {name}")[0])
            for name in ("shared_buffers", "max_wal_size", "synchronous_commit", "work_mem")
        )

        from config import Development
        from disburse import create_app

        config = Development()
        config.DATABASE_URL = url
        config.REDIS_URL = redis_url
        app = create_app(config)
        with app.app_context():
            from sqlalchemy import select

            from disburse.extensions import db
            from disburse.programs.calendar import add_working_days
            from disburse.programs.models import Program

            program = db.session.scalar(select(Program).where(Program.code == "NQ116"))
            assert program is not None
            params = {
                "program_id": program.id,
                "review_due_on": add_working_days(LISTED_ON, program.employer_review_wd),
            }
            db.session.remove()

        kinds = ["baseline", "build", "baseline_off"] + (["build_fk"] if args.fk_variant else [])
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        claims_phase: dict[str, list[float]] = {"build": [], "build_fk": []}
        reductions = told = 0
        employee_span = int(scalar_row(libpq, "SELECT max(id) - min(id) + 1 FROM employees")[0])
        expected = None
        for run in range(1, args.runs + 1):
            for kind in kinds:
                reset(libpq)
                if kind == "baseline":
                    elapsed = execute(libpq, BASELINE, params)
                elif kind == "baseline_off":
                    execute(libpq, COUNTER_TRIGGER.format("DISABLE"))
                    try:
                        elapsed = execute(libpq, BASELINE, params)
                    finally:
                        execute(libpq, COUNTER_TRIGGER.format("ENABLE ALWAYS"))  # as migration 0005 sets it
                else:
                    elapsed, summary = run_build(app, employee_span, skip_fk_triggers=kind == "build")
                    assert summary["set_based_references"] is (kind == "build"), summary
                    claims_phase[kind].append(summary["claims_phase_s"])
                    reductions = int(scalar_row(libpq, "SELECT count(*) FROM reductions")[0])
                    told = int(scalar_row(libpq, "SELECT count(*) FROM notifications")[0])
                    assert told == scalar_row(libpq, UNITS_WITH_EMAIL)[0], told  # each listed unit's address, once
                    events = scalar_row(libpq, "SELECT count(*) FROM claim_events")[0]
                    counted = scalar_row(libpq, "SELECT coalesce(sum(claims), 0) FROM claim_counters")[0]
                    assert events == counted == summary["claims_created"], (events, counted, summary)
                    orphans = scalar_row(
                        libpq,
                        "SELECT count(*) FROM claim_events v LEFT JOIN claims c ON c.id = v.claim_id "
                        "WHERE c.id IS NULL",
                    )[0]
                    assert orphans == 0, orphans
                if kind != "baseline_off":
                    grouped = scalar_row(libpq, ROLLUPS_MATCH)[0]
                    assert grouped == 0, f"{kind}: claim_counters differ from a GROUP BY over claims ({grouped} rows)"
                fingerprint = scalar_row(libpq, FINGERPRINT)
                if expected is None:
                    expected = fingerprint
                assert fingerprint == expected, f"{kind} wrote different claim rows: {fingerprint} != {expected}"
                times[kind].append(elapsed)
                print(f"run {run} {kind:13s} {elapsed:7.2f} s  ({fingerprint[0]:,} claims)", flush=True)

        def paired(top: str, bottom: str) -> list[float]:
            # Per run (measured back to back in the same process): robust to the load drifting between runs.
            return [b / a for a, b in zip(times[bottom], times[top], strict=True)]

        def fmt(values: list[float], unit: str = "") -> str:
            return ", ".join(f"{v:.2f}{unit}" for v in values)

        median = {kind: statistics.median(values) for kind, values in times.items()}
        primary = paired("build", "baseline")
        orientation = paired("build", "baseline_off")
        ratio = statistics.median(primary)
        claims = expected[0] if expected else 0
        info = machine()
        phase = statistics.median(claims_phase["build"])
        phase_ratio = statistics.median([p / a for a, p in zip(times["baseline"], claims_phase["build"], strict=True)])
        verdict = "meets" if ratio <= 1.5 else "MISSES"
        rows = [
            f"| run {i + 1} | {times['baseline'][i]:.2f} s | {times['build'][i]:.2f} s | **{primary[i]:.2f}** "
            f"| {times['baseline_off'][i]:.2f} s | {orientation[i]:.2f} |"
            + (f" {times['build_fk'][i]:.2f} s |" if args.fk_variant else "")
            for i in range(args.runs)
        ]
        fk_head = " build through FK triggers |" if args.fk_variant else ""
        fk_rule = "---:|" if args.fk_variant else ""
        fk_line = ""
        if args.fk_variant:
            fk_ratio = statistics.median(paired("build_fk", "baseline"))
            fk_line = (
                f"\nThe same build through the foreign-key triggers (`skip_fk_triggers=False`): "
                f"median {median['build_fk']:.2f} s, {fk_ratio:.2f}× the baseline (paired median)."
            )
        table = "\n".join(rows)
        body = f"""{SECTION}

`lists build` over {data["employees"]:,} employees against a bare `INSERT … SELECT` of the same claim rows into the
same `claims` table as it stands (indexes, foreign keys, CHECKs and its `claim_counters` rollup trigger), same run
(`bench/bench_lists.py --employees {args.employees} --runs {args.runs}{" --fk-variant" if args.fk_variant else ""}`;
runs alternate in one process; tables truncated, VACUUM and CHECKPOINT before each).

- Machine: {info["nproc"]} CPUs ({info["cpu"]}), {info["ram_gb"]} GB RAM, PostgreSQL {pg_version}
  (shared_buffers {settings["shared_buffers"]}, max_wal_size {settings["max_wal_size"]},
  synchronous_commit {settings["synchronous_commit"]}, work_mem {settings["work_mem"]}; the build raises work_mem
  for itself); load average {os.getloadavg()[0]:.1f} as the runs ended.
- Data: {data["employers"]:,} employers (largest {data["largest_employer"]:,} employees), {data["employees"]:,}
  employees ({data["participating"]:,} participating), {data["salary_fund_rows"]:,} salary-fund rows; each run
  writes {claims:,} claims; the build also writes {claims:,} claim events, {reductions:,} reduction rows and
  queues {told:,} "list ready" e-mails (one per listed unit with an address; 9 units in 10 have one).
  Every run wrote identical claim rows (fingerprint of count, amounts, reasons, dates, bank details), the rollups
  equal a GROUP BY over claims, and every event has its claim.

| run | baseline | `build_lists` + commit | build / baseline | trigger off (orientation) | build / that |{fk_head}
|---|---:|---:|---:|---:|---:|{fk_rule}
{table}

**Ratio build / baseline = {ratio:.2f}** (median of the paired per-run ratios {fmt(primary)}; target ≤ 1.5:
{verdict} it). Against the orientation baseline without the rollup trigger: median {statistics.median(orientation):.2f}.
The claims phase alone (rules, claims, events, rollups) took {phase:.2f} s (median), {phase_ratio:.2f}× the
baseline; the rest is the reductions ({reductions:,} rows) and the totals.{fk_line}
"""
        print()
        print(body)
        if args.write_md:
            write_section(ROOT / "BENCHMARKS.md", body)
            print("written to BENCHMARKS.md")
        with app.app_context():
            db.engine.dispose()
    finally:
        if not args.keep:
            runtime.drop_database(url)


if __name__ == "__main__":
    main()
