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

import random
import sys
from pathlib import Path

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
