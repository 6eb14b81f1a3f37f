"""Benchmark: the employees check (the one ``CREATE TABLE … AS SELECT`` that types and checks every row) with banks
by code only, as before names were taken, and with names, in turns on the same staged file.

Usage::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_import_bank_check.py \\
        --employees 1000000 --rounds 5

The whole import's time on a shared machine moves by ±25% from run to run (see BENCHMARKS.md), more than the
change it would measure. This times only the statement the change touches, a big file's check of raw cells with
parallel workers (``check._check_rows``), both forms alternately in one transaction on one staged copy of
``bench_import.py``'s file (employers imported first, no employee stored: every row new): "codes only" is today's
spec with the names' join taken out and the bank looked up by code (what the check did before), "names" today's.
``--names S`` writes that share of the banks as names (only today's check knows them: run with 0 to compare).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_import
import bench_import_bank_names


def codes_only(spec: object) -> object:
    """Today's employees spec as it was before names: no names' join, the bank found by its code alone."""
    joins = spec.joins  # type: ignore[attr-defined]
    start = joins.index("    -- A bank written as a name")
    end = joins.index("    LEFT JOIN employers emp")
    joins = joins[:start] + joins[end:]
    joins = joins.replace("coalesce(b.code, bn.code) AS bank", "n.bank AS bank")
    checks = tuple(c.replace("x.bank IS NULL", "b.code IS NULL") for c in spec.checks)  # type: ignore[attr-defined]
    assert joins != spec.joins and checks != spec.checks  # type: ignore[attr-defined]
    return dataclasses.replace(spec, joins=joins, checks=checks, bank_names=False)  # type: ignore[type-var]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=1_000_000)
    parser.add_argument("--employers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--names", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=116)
    args = parser.parse_args()

    from disburse import runtime

    app, url, _server = bench_import.fresh_database()
    libpq = runtime.libpq_url(url)
    times: dict[str, list[float]] = {"codes only": [], "names": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            rng = random.Random(args.seed)
            districts = bench_import.hanoi_districts()
            units = bench_import.write_employers(work / "employers.csv", args.employers, rng, districts)
            bench_import.BANKS = bench_import_bank_names.banks(args.names)
            bench_import.write_employees(work / "employees.csv", args.employees, rng, districts, units)
            bench_import.timed_import(app, libpq, "employers", work / "employers.csv")
            with app.app_context():
                from disburse.bulk import session_connection
                from disburse.extensions import db
                from disburse.programs.calendar import programme_today
                from disburse.registry.imports.check import create_lookups
                from disburse.registry.imports.employees import EMPLOYEES
                from disburse.registry.imports.read import stage_file
                from disburse.registry.imports.statements import Statements
                from disburse.registry.imports.tables import ScratchTables, parallel

                conn = session_connection()
                conn.execute("SET LOCAL work_mem = '256MB'")
                tables = ScratchTables.for_import()
                staged = stage_file(conn, work / "employees.csv", tables.stage, EMPLOYEES.columns, pad=EMPLOYEES.pad)
                create_lookups(conn, tables, analyze=True, bank_names=True)
                conn.execute(f"ANALYZE {tables.stage}")
                parallel(conn, True)
                c = {name: staged.column(name) for name in EMPLOYEES.columns}
                specs = {"codes only": codes_only(EMPLOYEES), "names": EMPLOYEES}
                for n in range(args.rounds):
                    for label in times if n % 2 == 0 else reversed(list(times)):
                        sql = Statements(specs[label], tables, programme_today())  # type: ignore[arg-type]
                        raw = sql.typed(source=f"({sql.raw(stage=tables.stage, c=c)})", dirty="n.dirty")
                        started = time.perf_counter()
                        made = conn.execute(f"CREATE UNLOGGED TABLE bench_ty AS {raw}").rowcount
                        times[label].append(time.perf_counter() - started)
                        bad = conn.execute("SELECT count(*) FROM bench_ty WHERE errs <> ''").fetchone()
                        conn.execute("DROP TABLE bench_ty")
                        print(f"round {n + 1} {label}: {times[label][-1]:.2f} s, {made:,} rows, {bad[0]:,} refused")
                db.session.rollback()
                db.engine.dispose()
    finally:
        runtime.drop_database(url)

    print()
    print(f"{time.strftime('%Y-%m-%d %H:%M')} machine: {bench_import.machine()}, load {os.getloadavg()[0]:.1f}")
    medians = {label: statistics.median(values) for label, values in times.items()}
    for label, values in times.items():
        print(f"{label:>10}: median {medians[label]:.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    print(f"names / codes only: {medians['names'] / medians['codes only']:.3f}")


if __name__ == "__main__":
    main()
