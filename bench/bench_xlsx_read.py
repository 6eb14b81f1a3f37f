"""Benchmark: reading an employees workbook (the registry's XLSX path) through :class:`disburse.spreadsheets.Workbook`
against what it did before it told a formula never calculated from a blank cell (the baseline): openpyxl's own
read-only ``iter_rows(values_only=True)`` of the same sheet, empty rows skipped, each row cut to its last value.

Usage::

    .venv/bin/python bench/bench_xlsx_read.py --rows 200000 [--runs 3]

The workbook is written once with openpyxl (16 columns like an employees file, a tenth of its cells empty, no
formulas), in a temporary folder; each run reads it both ways, alternating which goes first. No database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from disburse.spreadsheets import MAX_COLUMNS, _is_empty, _within_width, open_workbook  # noqa: E402

COLUMNS = 16


def write(path: Path, rows: int) -> None:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([f"col{i}" for i in range(COLUMNS)])
    for n in range(rows):
        # Every tenth cell empty, as optional columns (phone, bank) often are.
        sheet.append(
            [None if (n + i) % 10 == 0 else f"{n:010d}" if i == 0 else f"v{n % 997}-{i}" for i in range(COLUMNS)]
        )
    workbook.save(path)


def ours(path: Path) -> int:
    with open_workbook(path) as workbook:
        return sum(1 for _ in workbook.rows())


def baseline(path: Path) -> int:
    """What ``Workbook.rows`` did before: openpyxl's rows, the empty ones skipped, each cut to its last value."""
    with open_workbook(path) as workbook:
        rows = workbook.sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1)
        return sum(1 for values in rows if values and not _is_empty(values) and _within_width(values) is not None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-xlsx-") as folder:
        path = Path(folder) / "employees.xlsx"
        started = time.perf_counter()
        write(path, args.rows)
        print(f"wrote {args.rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
        ratios = []
        for run in range(args.runs):
            times = {}
            for name, read in sorted((("ours", ours), ("baseline", baseline)), reverse=bool(run % 2)):
                started = time.perf_counter()
                count = read(path)
                times[name] = time.perf_counter() - started
                assert count >= args.rows, (name, count)
            ratios.append(times["ours"] / times["baseline"])
            print(
                f"run {run + 1}: ours {times['ours']:.2f} s, openpyxl iter_rows {times['baseline']:.2f} s, "
                f"ratio {ratios[-1]:.3f}"
            )
        print(f"median ratio {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
