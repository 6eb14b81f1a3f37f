"""Benchmark: Form 02 for a 3,000-person unit through the JSON API (target: p95 of the request under 1 s).

Usage::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/bench_forms.py [--units 20] [--people 3000]

It creates a scratch database ``bench_forms`` on the same server (dropped at the end unless ``--keep``), runs the
migrations, writes ``--units`` units of ``--people`` participating employees each in SQL, builds the Form 01 lists
(``build_lists``), and then sends one Form 02 per unit through the Flask app's HTTP stack (the test client: routing,
token sign-in, JSON, the service, the commit), every row confirmed with bank details except one in fifty declining
and one in a hundred with an unknown bank. Reported: the request times (median, p95, max), rows per second, and a
check that every claim of the units ended in the state its row asked for.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from disburse import runtime  # noqa: E402  (after the path is set)

EMPLOYERS = """
INSERT INTO employers (unit_code, name, tax_code, sector, district_code, address, ui_joined_on)
SELECT 'BF' || lpad(g::text, 6, '0'), 'Công ty TNHH Đo tốc độ ' || g, '09' || lpad(g::text, 8, '0'), 'enterprise',
       '017', 'Khu công nghiệp Thử nghiệm', date '2012-01-01'
FROM generate_series(1, %(units)s) g
"""

EMPLOYEES = """
INSERT INTO employees (si_code, national_id, full_name, date_of_birth, gender, phone, district_code, address,
                       employer_id, ui_status, unused_months, pension_decision)
SELECT lpad((7000000000 + g)::text, 10, '0'), '0010' || lpad(g::text, 8, '0'),
       'Nguyễn Văn Thử ' || g, date '1980-01-01' + (g %% 9000), 'male', '0912345678', '017', 'Đông Anh',
       e.id, 'participating', 12 + g %% 120, false
FROM generate_series(1, %(units)s::int * %(people)s::int) g
JOIN employers e ON e.unit_code = 'BF' || lpad((1 + (g - 1) / %(people)s::int)::text, 6, '0')
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    base = os.environ["DATABASE_URL"]
    url = runtime.with_database(base, "bench_forms")
    runtime.drop_database(url)
    runtime.ensure_database(url)
    os.environ.update(DATABASE_URL=url, DISBURSE_ENV="development", DISBURSE_TODAY="2021-10-25")
    from flask_migrate import upgrade

    from disburse import create_app
    from disburse.auth.service import create_token, create_user
    from disburse.claims.lists import build_lists
    from disburse.extensions import db
    from disburse.programs.service import get_program

    app = create_app()
    try:
        with app.app_context():
            upgrade()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(EMPLOYERS, {"units": args.units})
                conn.execute(EMPLOYEES, {"units": args.units, "people": args.people})
            build_lists(get_program("NQ116"))
            token = create_token(create_user("bench@forms.example.vn", "admin"))
            db.session.commit()
            si_codes = _si_codes_by_unit(url)

        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        times = []
        expected = {"employer_confirmed": 0, "declined": 0, "listed": 0}
        for unit, codes in sorted(si_codes.items()):
            rows = []
            for n, si in enumerate(codes):
                if n % 50 == 0:
                    rows.append({"si_code": si, "decline": True})
                    expected["declined"] += 1
                elif n % 100 == 1:
                    rows.append({"si_code": si, "bank_code": "NOPE", "bank_account": "12345678"})
                    expected["listed"] += 1
                else:
                    rows.append({"si_code": si, "bank_code": "VCB", "bank_account": f"00{si}"})
                    expected["employer_confirmed"] += 1
            started = time.perf_counter()
            response = client.post(f"/api/v1/employers/{unit}/confirmations", json={"rows": rows}, headers=headers)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
        states = _states(url)
        assert states == expected, (states, expected)
        _report(args, times)
    finally:
        with app.app_context():
            db.engine.dispose()
        if not args.keep:
            runtime.drop_database(url)


def _si_codes_by_unit(url: str) -> dict[str, list[str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT r.unit_code, e.si_code FROM claims c JOIN employees e ON e.id = c.employee_id "
            "JOIN employers r ON r.id = c.employer_id ORDER BY 1, 2"
        ).fetchall()
    units: dict[str, list[str]] = {}
    for unit, si in rows:
        units.setdefault(unit, []).append(si)
    return units


def _states(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {state: int(n) for state, n in conn.execute("SELECT state, count(*) FROM claims GROUP BY 1")}


def _report(args: argparse.Namespace, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"machine: {platform.node()} {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"data: {args.units} units × {args.people} people; one Form 02 per unit through the API")
    print(
        f"request: median {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms; {args.people / statistics.median(times):,.0f} rows/s (target p95 < 1 s)"
    )


if __name__ == "__main__":
    main()
