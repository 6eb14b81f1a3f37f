"""Benchmark: ``import employees`` of N rows from CSV against the physical floor (a plain COPY).

Usage::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_import.py \\
        --employees 1000000 --employers 20000

It creates its own database (``<name>_bench_import`` on the same server, dropped at the end unless ``--keep``),
runs the migrations, writes the CSV files under a temporary directory, then measures in the same run:

1. the floor: ``COPY`` of the employees file into a durable table with the same column types and the same
   indexes as ``employees`` (no foreign keys, no validation);
2. the first import of the file (``import_file("employees", ...)``: parsing, validation, errors file, upsert,
   commit), on a registry that holds only the employers;
3. the re-import of the unchanged file (must change nothing);

and prints rates and the ratios the issue asks for (first import ≥ 0.5× the floor's rate; re-import ≤ 0.5× the
first import's time). The generator is deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EMPLOYER_HEADER = "unit_code,name,tax_code,sector,province_code,district_code,address,ui_joined_on,email,phone\n"
EMPLOYEE_HEADER = (
    "si_code,national_id,full_name,date_of_birth,gender,phone,province_code,district_code,address,"
    "employer_unit_code,ui_status,ui_stopped_on,unused_months,pension_decision,bank_code,bank_account\n"
)
SECTORS = ["enterprise"] * 14 + ["public_autonomous", "public_budget", "state_agency", "political_org", "armed_forces"]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Thu", "Anh"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Phúc"]
STREETS = ["Nguyễn Trãi", "Lê Duẩn", "Trần Phú", "Hoàng Hoa Thám", "Giải Phóng", "Cầu Giấy", "Kim Mã", "Láng"]
BANKS = ["VCB", "BIDV", "ICB", "VBA", "TCB", "MB", "ACB", "VPB", ""]


def hanoi_districts() -> list[str]:
    import json

    import vietnam_provinces

    with open(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as fh:
        data = json.load(fh)
    return [f"{d['code']:03d}" for p in data if p["code"] == 1 for d in p["districts"]]


def write_employers(path: Path, n: int, rng: random.Random, districts: list[str]) -> list[str]:
    codes = [f"TA{i:08d}" for i in range(1, n + 1)]
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(EMPLOYER_HEADER)
        for i, code in enumerate(codes, 1):
            fh.write(
                f"{code},Công ty TNHH {rng.choice(GIVEN)} {i},01{i:08d},{rng.choice(SECTORS)},01,"
                f"{rng.choice(districts)},Số {i % 300 + 1} {rng.choice(STREETS)},"
                f"20{rng.randrange(0, 21):02d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d},"
                f"hr{i}@example.vn,024{i % 10_000_000:07d}\n"
            )
    return codes


def write_employees(path: Path, n: int, rng: random.Random, districts: list[str], units: list[str]) -> None:
    """About 1% of the national IDs repeat under another SI code (possible duplicates); no invalid rows."""
    rand = rng.random
    randrange = rng.randrange
    choice = rng.choice
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(EMPLOYEE_HEADER)
        lines = []
        for i in range(1, n + 1):
            nid = f"001{(i - 1 if i % 100 == 0 else i):09d}"
            stopped = rand() < 0.15
            bank = choice(BANKS)
            lines.append(
                f"01{i:08d},{nid},{choice(SURNAMES)} {choice(MIDDLE)} {choice(GIVEN)},"
                f"19{randrange(60, 100)}-{randrange(1, 13):02d}-{randrange(1, 29):02d},"
                f"{'male' if rand() < 0.5 else 'female'},09{randrange(10**8):08d},01,{choice(districts)},"
                f'"Số {i % 500 + 1}, {choice(STREETS)}",{choice(units)},'
                f"{'stopped' if stopped else 'participating'},"
                f"{f'2021-{randrange(1, 10):02d}-{randrange(1, 29):02d}' if stopped else ''},"
                f"{randrange(0, 200)},{'yes' if stopped and rand() < 0.05 else ''},"
                f"{bank},{f'{randrange(10**12):012d}' if bank else ''}\n"
            )
            if len(lines) == 10_000:
                fh.write("".join(lines))
                lines.clear()
        fh.write("".join(lines))


# ------------------------------------------------------------------------------------------------ the bench

FLOOR_TABLE = """
CREATE TABLE bench_floor_employees (
    id bigserial PRIMARY KEY,
    si_code varchar(10) NOT NULL UNIQUE,
    national_id varchar(12) NOT NULL,
    full_name varchar(200) NOT NULL,
    date_of_birth date,
    gender varchar(6),
    phone varchar(20),
    province_code varchar(2),
    district_code varchar(3),
    address varchar(500),
    employer_unit_code varchar(20),
    ui_status varchar(13) NOT NULL,
    ui_stopped_on date,
    unused_months smallint NOT NULL,
    pension_decision varchar(3),
    bank_code varchar(20),
    bank_account varchar(30),
    possible_duplicate boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- The same indexes as employees (employer_unit_code stands in for employer_id).
CREATE INDEX ON bench_floor_employees (national_id);
CREATE INDEX ON bench_floor_employees (employer_unit_code);
CREATE INDEX ON bench_floor_employees (id) WHERE possible_duplicate;
"""


def _checkpoint(conn: object) -> None:
    """Start each timed step from a clean checkpoint when the role may ask for one."""
    import psycopg

    with contextlib.suppress(psycopg.Error):
        conn.execute("CHECKPOINT")  # type: ignore[attr-defined]


def measure_floor(url: str, path: Path) -> float:
    """A plain COPY of the file into a durable table with employees' column types and indexes; seconds."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_floor_employees")
        conn.execute(FLOOR_TABLE)
        _checkpoint(conn)
        started = time.perf_counter()
        statement = f"COPY bench_floor_employees ({EMPLOYEE_HEADER.strip()}) FROM STDIN (FORMAT csv, HEADER true)"
        with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy, path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_floor_employees")
        return seconds


def timed_import(app: object, url: str, kind: str, path: Path) -> tuple[float, object]:
    import psycopg

    from disburse.extensions import db
    from disburse.registry.importer import import_file

    with psycopg.connect(url, autocommit=True) as conn:
        _checkpoint(conn)
    with app.app_context():  # type: ignore[attr-defined]
        started = time.perf_counter()
        result = import_file(kind, path)
        db.session.commit()
        seconds = time.perf_counter() - started
        db.session.remove()
    return seconds, result


def machine() -> dict[str, str]:
    mem_kb = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "cpus": str(os.cpu_count()),
        "ram": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def fresh_database() -> tuple[Any, str, str]:
    """An empty, migrated ``<DATABASE_URL's database>_bench_import`` (dropped first if there) and an app on it: (app,
    its SQLAlchemy URL, PostgreSQL's version). Redis: REDIS_URL, else the machine's database 15."""
    from flask_migrate import upgrade

    from config import Test
    from disburse import create_app, runtime
    from disburse.extensions import db

    base = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    url = runtime.with_database(base, f"{runtime.database_name(base)}_bench_import")
    runtime.drop_database(url)
    runtime.ensure_database(url)
    config = Test()
    config.DATABASE_URL = url
    config.REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    app = create_app(config)
    with app.app_context():
        upgrade()
        server = db.session.execute(db.text("SHOW server_version")).scalar_one()
        db.session.remove()
    return app, url, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=1_000_000)
    parser.add_argument("--employers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=116)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="Where to write the CSV files (default: a temp dir)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database afterwards.")
    args = parser.parse_args()

    from disburse import runtime

    app, url, server = fresh_database()
    libpq = runtime.libpq_url(url)

    try:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            work = Path(tmp)
            rng = random.Random(args.seed)
            districts = hanoi_districts()
            started = time.perf_counter()
            units = write_employers(work / "employers.csv", args.employers, rng, districts)
            write_employees(work / "employees.csv", args.employees, rng, districts, units)
            generated = time.perf_counter() - started
            size_mb = (work / "employees.csv").stat().st_size / 1e6
            print(
                f"data: {args.employees:,} employees ({size_mb:.0f} MB CSV), {args.employers:,} employers; "
                f"generated in {generated:.1f} s",
                flush=True,
            )

            employers_s, _ = timed_import(app, libpq, "employers", work / "employers.csv")
            print(f"employers import: {employers_s:.1f} s", flush=True)

            floor_before = measure_floor(libpq, work / "employees.csv")
            print(f"floor (COPY into a durable table, same types and indexes): {floor_before:.1f} s", flush=True)
            first_s, first = timed_import(app, libpq, "employees", work / "employees.csv")
            print(f"first import: {first_s:.1f} s {first.timings}", flush=True)  # type: ignore[attr-defined]
            # A re-import comes days later, after autovacuum has visited the table (hint bits set, statistics
            # fresh); without this the re-import would pay for the first reads of a million fresh tuples.
            import psycopg

            with psycopg.connect(libpq, autocommit=True) as conn:
                conn.execute("VACUUM (ANALYZE) employees")
            again_s, again = timed_import(app, libpq, "employees", work / "employees.csv")
            print(f"re-import: {again_s:.1f} s {again.timings}", flush=True)  # type: ignore[attr-defined]
            floor_after = measure_floor(libpq, work / "employees.csv")
            print(f"floor again: {floor_after:.1f} s", flush=True)
    finally:
        with app.app_context():
            from disburse.extensions import db

            db.engine.dispose()
        if not args.keep:
            runtime.drop_database(url)

    floor = (floor_before + floor_after) / 2
    n = args.employees
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"machine: {machine()}, PostgreSQL {server}")
    print(
        f"floor rate:         {n / floor:12,.0f} rows/s  ({floor:.1f} s; runs {floor_before:.1f} and {floor_after:.1f})"
    )
    print(
        f"first import rate:  {n / first_s:12,.0f} rows/s  ({first_s:.1f} s)  ratio to floor {floor / first_s:.2f}x "
        f"(target >= 0.5x)  inserted {first.inserted:,}, rejected {first.rejected:,}, "  # type: ignore[attr-defined]
        f"possible duplicates {first.possible_duplicates:,}, "  # type: ignore[attr-defined]
        f"set-based references {first.set_based_references}"
    )  # type: ignore[attr-defined]
    print(
        f"re-import rate:     {n / again_s:12,.0f} rows/s  ({again_s:.1f} s)  time ratio to first import "
        f"{again_s / first_s:.2f} (target <= 0.5)  inserted {again.inserted:,}, "  # type: ignore[attr-defined]
        f"updated {again.updated:,}, unchanged {again.unchanged:,}"
    )  # type: ignore[attr-defined]
    print(f"peak memory of this process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
