"""Benchmark: ``import employees`` of N rows whose bank is written as a code, or (``--names``) partly as a name.

Usage::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_import_bank_names.py \\
        --employees 300000 --employers 6000 --names 0.5

The data and the steps are :mod:`bench_import`'s (its generator, its own database ``<name>_bench_import``, dropped
at the end): the employers, then the first import of the employees file and the re-import of the same file, each
timed with its commit. ``--names`` is the share of the rows with a bank whose bank is written as units write it in
Form 02 (a brand, the legal name, "NH …", the NAPAS number, lower case) rather than as its code; 0 is the code-only
file of ``bench_import.py``. Every row is good: the names are ones the registry's banks answer to
(:func:`disburse.reference.service.bank_names`). The floor is not measured here (``bench_import.py`` does).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_import

#: How units write the banks of bench_import.BANKS in their spreadsheets (every one known to bank_names()).
WRITTEN = {
    "VCB": ["Vietcombank", "NH TMCP Ngoại thương Việt Nam", "Ngân hàng Ngoại thương", "970436"],
    "BIDV": ["Ngân hàng TMCP Đầu tư và Phát triển Việt Nam", "bidv", "NH Đầu tư và Phát triển"],
    "ICB": ["VietinBank", "Ngân hàng Công thương", "970415"],
    "VBA": ["Agribank", "NH Nông nghiệp và Phát triển Nông thôn Việt Nam"],
    "TCB": ["Techcombank", "Ngân hàng TMCP Kỹ thương Việt Nam"],
    "MB": ["MB Bank", "Ngân hàng Quân đội", "mb"],
    "ACB": ["Ngân hàng Á Châu", "ACB"],
    "VPB": ["VPBank", "ngan hang viet nam thinh vuong"],
}


def banks(names_share: float) -> list[str]:
    """bench_import.BANKS (eight codes and a blank), with ``names_share`` of each code's draws a way of writing it."""
    if not names_share:
        return list(bench_import.BANKS)
    drawn: list[str] = []
    for code in bench_import.BANKS:
        if not code:
            drawn += [""] * 100
            continue
        written = WRITTEN[code]
        named = round(100 * names_share)
        drawn += [code] * (100 - named) + [written[i % len(written)] for i in range(named)]
    return drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=300_000)
    parser.add_argument("--employers", type=int, default=6_000)
    parser.add_argument("--names", type=float, default=0.0, help="Share of the banks written as a name (0 to 1).")
    parser.add_argument("--seed", type=int, default=116)
    args = parser.parse_args()

    from disburse import runtime

    app, url, server = bench_import.fresh_database()
    libpq = runtime.libpq_url(url)

    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            rng = random.Random(args.seed)
            districts = bench_import.hanoi_districts()
            units = bench_import.write_employers(work / "employers.csv", args.employers, rng, districts)
            bench_import.BANKS = banks(args.names)
            bench_import.write_employees(work / "employees.csv", args.employees, rng, districts, units)
            print(f"data: {args.employees:,} employees, {args.names:.0%} of the banks as names", flush=True)
            bench_import.timed_import(app, libpq, "employers", work / "employers.csv")
            first_s, first = bench_import.timed_import(app, libpq, "employees", work / "employees.csv")
            print(f"first import: {first_s:.1f} s {first.timings}", flush=True)  # type: ignore[attr-defined]
            import psycopg

            with psycopg.connect(libpq, autocommit=True) as conn:
                conn.execute("VACUUM (ANALYZE) employees")
                named = conn.execute("SELECT count(*) FROM employees WHERE bank_code IS NOT NULL").fetchone()
            again_s, again = bench_import.timed_import(app, libpq, "employees", work / "employees.csv")
            print(f"re-import: {again_s:.1f} s {again.timings}", flush=True)  # type: ignore[attr-defined]
    finally:
        with app.app_context():
            from disburse.extensions import db

            db.engine.dispose()
        runtime.drop_database(url)

    n = args.employees
    started = time.strftime("%Y-%m-%d %H:%M")
    print()
    print(f"{started} machine: {bench_import.machine()}, PostgreSQL {server}")
    print(
        f"first import: {first_s:6.1f} s  {n / first_s:10,.0f} rows/s  inserted {first.inserted:,}, "  # type: ignore[attr-defined]
        f"rejected {first.rejected:,}, with a bank {named[0] if named else 0:,}"  # type: ignore[attr-defined]
    )
    print(
        f"re-import:    {again_s:6.1f} s  {n / again_s:10,.0f} rows/s  updated {again.updated:,}, "  # type: ignore[attr-defined]
        f"unchanged {again.unchanged:,}, rejected {again.rejected:,}"  # type: ignore[attr-defined]
    )


if __name__ == "__main__":
    main()
