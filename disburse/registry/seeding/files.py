"""The seed's files: ``write_csvs`` writes employers.csv, employees.csv and salary_funds.csv in exactly the columns
the importer reads (the import specs' EMPLOYER_COLUMNS, EMPLOYEE_COLUMNS and SALARY_FUND_COLUMNS), so the data
reaches the database through the same path as the agency's files.

Speed and memory: employees are generated in fixed-size chunks, each from its own seeded random generator,
with every per-row choice drawn from pools built once (Faker per row would take hours at 13 million rows).
A chunk depends only on (seed, chunk number), so the files are byte-identical for the same arguments however
many processes write them, and memory depends on the number of employers, never on the number of employees.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from disburse.registry.imports.employees import EMPLOYEE_COLUMNS
from disburse.registry.imports.employers import EMPLOYER_COLUMNS
from disburse.registry.imports.salary_funds import SALARY_FUND_COLUMNS
from disburse.registry.seeding.calendar import REDUCTION_MONTHS
from disburse.registry.seeding.context import Context, build_context
from disburse.registry.seeding.employees import employee_chunk
from disburse.registry.seeding.employers import employer_rows
from disburse.registry.seeding.salary_funds import salary_fund_rows

#: Rows per employee chunk. Each chunk draws from its own generator: another size gives other (valid) files.
EMPLOYEE_CHUNK = 40_000
ProgressFn = Callable[[str, int, int], None]

#: The context of the write under way: module-global so that forked workers inherit it.
_CTX: Context | None = None


@dataclass(frozen=True)
class SeedFiles:
    """Paths of the three files and what they hold."""

    employers: Path
    employees: Path
    salary_funds: Path
    employer_count: int
    employee_count: int
    salary_fund_count: int
    participating: int
    stopped: int
    #: Unit code of the unit with exactly 2,682 employees (None when there are fewer employees than that).
    big_unit_code: str | None
    #: Employers per district code (demo users pick the busiest district).
    employers_by_district: dict[str, int] = field(default_factory=dict)


def write_csvs(
    out_dir: Path,
    *,
    employers: int,
    employees: int,
    seed: int = 0,
    provinces: Sequence[str] = ("01",),
    shift_days: int = 0,
    funds_through: date | None = None,
    not_after: date | None = None,
    workers: int | None = None,
    progress: ProgressFn | None = None,
) -> SeedFiles:
    """Write employers.csv, employees.csv and salary_funds.csv under ``out_dir`` (created if needed).

    ``shift_days`` moves every date (births, stops, UI joining, salary-fund months) by that many days, for a
    programme whose calendar is NQ116's moved the same way (the demo's). ``funds_through`` leaves out the salary
    funds of the months after that date's month (the demo's months still to come). ``not_after`` (the programme
    clock's today) keeps every date (stops, UI joining, salary-fund months) on or before it, so that the importer,
    which refuses dates in the future, takes every row.

    The same arguments give byte-identical files, whatever ``workers`` is (processes that generate employee
    chunks in parallel; default: one per CPU, at most eight, for large files). ``progress(file, done, total)``
    is called as rows are written.
    """
    global _CTX
    if employers < 0 or employees < 0:
        raise ValueError("counts cannot be negative")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = build_context(seed, employers, employees, list(provinces), EMPLOYEE_CHUNK, shift_days, not_after)
    funds_through = min((d for d in (funds_through, not_after) if d is not None), default=None)
    ctx.funds_through = f"{funds_through:%Y-%m}" if funds_through else None
    _CTX = ctx
    try:
        paths = (out_dir / "employers.csv", out_dir / "employees.csv", out_dir / "salary_funds.csv")
        _write_employers(paths[0], ctx, employers, progress)
        if workers is None:
            workers = min(8, os.cpu_count() or 1) if employees >= 200_000 else 1
        _write_employees(paths[1], ctx, workers, progress)
        funds = _write_salary_funds(paths[2], ctx, progress)
        e = ctx.employers
        by_district: dict[str, int] = {}
        for d in e.district_codes:
            by_district[d] = by_district.get(d, 0) + 1
        return SeedFiles(
            employers=paths[0],
            employees=paths[1],
            salary_funds=paths[2],
            employer_count=employers,
            employee_count=employees,
            salary_fund_count=funds,
            participating=employees - ctx.stopped,
            stopped=ctx.stopped,
            big_unit_code=e.unit_codes[e.big_index] if e.big_index is not None else None,
            employers_by_district=by_district,
        )
    finally:
        _CTX = None


def _write_employers(path: Path, ctx: Context, employers: int, progress: ProgressFn | None) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(EMPLOYER_COLUMNS) + "\n")
        for n, line in enumerate(employer_rows(ctx), 1):
            fh.write(line)
            if progress and n % 10_000 == 0:
                progress("employers", n, employers)
    if progress:
        progress("employers", employers, employers)


def _write_employees(path: Path, ctx: Context, workers: int, progress: ProgressFn | None) -> None:
    employees = ctx.employees
    chunks = math.ceil(employees / ctx.chunk_size)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(EMPLOYEE_COLUMNS) + "\n")
        for c, text in enumerate(_map_chunks(chunks, workers)):
            fh.write(text)
            if progress:
                progress("employees", min((c + 1) * ctx.chunk_size, employees), employees)


def _write_salary_funds(path: Path, ctx: Context, progress: ProgressFn | None) -> int:
    """Write the file; return how many funds it holds."""
    employers = len(ctx.employers.unit_codes)
    funds = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(SALARY_FUND_COLUMNS) + "\n")
        for k, (rows, text) in enumerate(salary_fund_rows(ctx)):
            fh.write(text)
            funds += rows
            if progress and k % 5_000 == 0:
                progress("salary_funds", funds, employers * REDUCTION_MONTHS)
    if progress:
        progress("salary_funds", funds, funds)
    return funds


def _employee_chunk(c: int) -> str:
    """Chunk ``c`` of the write under way (a worker process is given the context when it starts)."""
    assert _CTX is not None
    return employee_chunk(_CTX, c)


def _use_context(ctx: Context | None) -> None:
    global _CTX
    _CTX = ctx


def _map_chunks(chunks: int, workers: int) -> Iterator[str]:
    """Employee chunks in order; with several workers, other processes generate them ahead while this process
    writes.

    The workers start from a fork server, not by forking this process: a fork inherits this process's open
    connections, and the child's after-fork clean-up of a Redis connection that Celery was waiting on blocked for
    ever (seen in the test suite after the worker tests). They are given the context once, when they start."""
    if workers <= 1 or chunks <= 1 or "forkserver" not in multiprocessing.get_all_start_methods():
        for c in range(chunks):
            yield _employee_chunk(c)
        return
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_use_context,
        initargs=(_CTX,),
    ) as pool:
        # A bounded window of chunks in flight, so memory stays flat even if the disk is slower than the CPUs.
        window = deque(pool.submit(_employee_chunk, c) for c in range(min(chunks, 2 * workers)))
        submitted = len(window)
        while window:
            text = window.popleft().result()
            if submitted < chunks:
                window.append(pool.submit(_employee_chunk, submitted))
                submitted += 1
            yield text
