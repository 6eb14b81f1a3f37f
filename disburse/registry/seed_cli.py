"""``disburse seed --employers N --employees M [--seed S] [--provinces 01,79] [--out DIR]``.

Writes realistic synthetic registry files (:func:`disburse.registry.seeding.files.write_csvs`) and imports them through
the same importer as the agency's files, committing once per file. The files go to a temporary directory that is
removed afterwards, or to ``--out``, where they are kept.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select
from tqdm import tqdm

from disburse.extensions import db
from disburse.formatting import number
from disburse.programs.calendar import programme_today
from disburse.registry.imports.employees import EMPLOYEES
from disburse.registry.imports.employers import EMPLOYERS
from disburse.registry.imports.salary_funds import SALARY_FUNDS
from disburse.registry.imports.spec import Spec
from disburse.registry.models import Employee, Employer
from disburse.registry.seeding.files import SeedFiles, write_csvs
from disburse.registry.seeding.places import province_codes
from disburse.spreadsheets import UnusableFile, writable_dir

if TYPE_CHECKING:
    from disburse.registry.importer import ImportResult

#: (the kind's import spec, file attribute of SeedFiles, its row count attribute, label vi, label en), in the order
#: the files must be imported. What differs between the kinds beyond that is the spec's (``may_be_empty``,
#: ``flags_duplicate_national_ids``).
SEED_FILES: tuple[tuple[Spec, str, str, str, str], ...] = (
    (EMPLOYERS, "employers", "employer_count", "đơn vị", "employers"),
    (EMPLOYEES, "employees", "employee_count", "người lao động", "employees"),
    (SALARY_FUNDS, "salary_funds", "salary_fund_count", "quỹ lương tháng", "monthly salary funds"),
)


def _vi(n: int) -> str:
    return number(n, locale="vi")


def _parse_provinces(value: str) -> list[str]:
    if value.strip().lower() == "all":
        return province_codes()
    codes = [c.strip().zfill(2) for c in value.split(",") if c.strip()]
    if not codes:
        raise click.BadParameter(
            "cần ít nhất một mã tỉnh / at least one province code is needed", param_hint="'--provinces'"
        )
    known = set(province_codes())
    if unknown := ", ".join(code for code in codes if code not in known):  # said by the generator in English alone
        raise click.BadParameter(
            f"không có mã tỉnh {unknown} (mã GSO 2021: 01 đến 96) / unknown province code(s): {unknown} (2021 GSO "
            "codes: 01 to 96)",
            param_hint="'--provinces'",
        )
    return codes


@contextmanager
def _bar(desc: str, total: int | None, enabled: bool) -> Iterator[Callable[[int, int | None], None]]:
    """A progress callback ``(done, total)`` drawing a tqdm bar on a terminal, doing nothing otherwise."""
    bar = tqdm(total=total, desc=desc, unit=" rows", unit_scale=True, disable=not enabled, leave=False)

    def update(done: int, new_total: int | None = None) -> None:
        if new_total is not None and bar.total != new_total:
            bar.total = new_total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()


def import_seed_files(
    files: SeedFiles,
    errors_dir: Path,
    *,
    show_progress: bool = False,
    commit_each: bool = True,
    echo: Callable[[str], None] | None = None,
) -> dict[str, ImportResult]:
    """Import the three files in order through the registry importer; commit after each file unless
    ``commit_each`` is false (the caller then commits). Returns the importer's result per kind."""
    from disburse.registry.importer import import_file

    results: dict[str, ImportResult] = {}
    for spec, attr, count_attr, label_vi, label_en in SEED_FILES:
        path: Path = getattr(files, attr)
        if spec.may_be_empty and not getattr(files, count_attr):
            continue  # e.g. a clock before the first reduced month: no fund yet, and an empty file is not an import
        started = time.monotonic()
        with _bar(f"Nhập {label_vi} / import {label_en}", None, show_progress) as progress:
            result = import_file(spec.kind, path, errors_out=errors_dir / f"{attr}.errors.csv", progress=progress)
        if commit_each:
            db.session.commit()
        results[spec.kind] = result
        if echo:
            echo(_import_line(result, spec, label_vi, label_en, time.monotonic() - started))
    return results


def _import_line(result: ImportResult, spec: Spec, label_vi: str, label_en: str, seconds: float) -> str:
    r = result
    duplicates = spec.flags_duplicate_national_ids
    dup_vi = f", nghi trùng {_vi(r.possible_duplicates)}" if duplicates else ""
    dup_en = f", {r.possible_duplicates:,} possible duplicates" if duplicates else ""
    return (
        f"  {label_vi}: thêm {_vi(r.inserted)}, cập nhật {_vi(r.updated)}, giữ nguyên {_vi(r.unchanged)}, "
        f"từ chối {_vi(r.rejected)}{dup_vi} / {label_en}: {r.inserted:,} added, {r.updated:,} updated, "
        f"{r.unchanged:,} unchanged, {r.rejected:,} rejected{dup_en} ({seconds:.1f} s)"
    )


@click.command("seed", short_help="Tạo dữ liệu giả lập / Make synthetic registry data.")
@click.option(
    "--employers",
    type=click.IntRange(min=0),
    required=True,
    help="Số đơn vị / Number of employers (units).",
)
@click.option("--employees", type=click.IntRange(min=0), required=True, help="Số người lao động / Number of employees.")
@click.option(
    "--seed",
    "seed_value",
    type=int,
    default=0,
    show_default=True,
    help="Hạt giống ngẫu nhiên: cùng hạt giống, cùng dữ liệu / Same seed, same data.",
)
@click.option(
    "--provinces",
    default="01",
    show_default=True,
    help="Mã tỉnh GSO 2021, cách nhau bằng dấu phẩy (01 = Hà Nội, 79 = TP. Hồ Chí Minh), hoặc 'all' / "
    "Comma-separated 2021 GSO province codes (01 = Hà Nội, 79 = TP. Hồ Chí Minh), or 'all'.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Giữ các tệp CSV trong thư mục này, tạo nếu chưa có trong một thư mục có sẵn (mặc định: thư mục tạm, xoá "
    "sau khi xong) / Keep the CSV files in this directory, made if need be in a folder that exists (default: a "
    "temporary directory, removed afterwards).",
)
@click.option(
    "--into-existing",
    is_flag=True,
    help="Tạo dữ liệu vào cơ sở dữ liệu đã có đơn vị: đơn vị và người lao động mẫu ghi đè những người cùng mã (chỉ "
    "cho cơ sở dữ liệu diễn tập, không bao giờ cho dữ liệu thật) / Seed a database whose registry already holds "
    "units: seeded units and people overwrite those of the same codes (for rehearsal databases only, never real "
    "data).",
)
@with_appcontext
def seed_cmd(
    employers: int, employees: int, seed_value: int, provinces: str, out: Path | None, into_existing: bool
) -> None:
    """Tạo dữ liệu đăng ký giả lập như thật và nhập qua chương trình nhập danh sách (chỉ vào cơ sở dữ liệu chưa có
    đơn vị, trừ khi có --into-existing).

    Generate realistic synthetic registry data and import it through the registry importer (an empty registry
    only, unless --into-existing)."""
    province_codes = _parse_provinces(provinces)
    if out is not None:
        try:
            writable_dir(out)  # before any work, not after the data is generated
        except UnusableFile as exc:
            click.echo(f"{exc.message_vi}\n{exc.message_en}", err=True)
            sys.exit(2)
    registry_held = db.session.scalar(select(Employee.id).limit(1)) or db.session.scalar(select(Employer.id).limit(1))
    if registry_held is not None and not into_existing:
        held = db.session.scalar(select(func.count()).select_from(Employer)) or 0
        people = db.session.scalar(select(func.count()).select_from(Employee)) or 0
        # Seeded unit codes follow the real ones' pattern: on a real registry they would rename real units.
        click.echo(
            f"Cơ sở dữ liệu đã có {_vi(held)} đơn vị, {_vi(people)} người lao động: dữ liệu mẫu có mã đơn vị và mã "
            "số BHXH theo đúng dạng thật nên sẽ ghi đè các đơn vị, người lao động cùng mã. Không làm gì. Hãy dùng một "
            "cơ sở dữ liệu trống "
            "(DATABASE_URL khác), hoặc thêm --into-existing nếu đây là cơ sở dữ liệu diễn tập.\n"
            f"The database already holds {held:,} unit{'s' if held != 1 else ''} and {people:,} "
            f"employee{'s' if people != 1 else ''}: seeded unit and SI codes look like "
            "real ones, so they would overwrite the units and people of the same codes. Nothing was done. Use an "
            "empty database (another DATABASE_URL), or add --into-existing if this is a rehearsal database.",
            err=True,
        )
        sys.exit(2)
    interactive = sys.stderr.isatty()
    workdir = out or Path(tempfile.mkdtemp(prefix="disburse-seed-"))
    keep = out is not None
    started = time.monotonic()
    try:
        bars: dict[str, Any] = {}

        def write_progress(name: str, done: int, total: int) -> None:
            bar = bars.get(name)
            if bar is None:
                bar = bars[name] = tqdm(
                    total=total, desc=f"Tạo / write {name}.csv", unit=" rows", unit_scale=True, leave=False
                )
            bar.update(done - bar.n)

        try:
            files = write_csvs(
                workdir,
                employers=employers,
                employees=employees,
                seed=seed_value,
                provinces=province_codes,
                not_after=programme_today(),
                progress=write_progress if interactive else None,
            )
        except ValueError as exc:  # the generator's own limits, in its words
            raise click.UsageError(f"Không tạo được dữ liệu mẫu / The data cannot be generated: {exc}") from None
        finally:
            for bar in bars.values():
                bar.close()
        click.echo(
            f"Đã tạo dữ liệu mẫu: {_vi(files.employer_count)} đơn vị, {_vi(files.employee_count)} người lao động "
            f"({_vi(files.participating)} đang tham gia, {_vi(files.stopped)} đã dừng), "
            f"{_vi(files.salary_fund_count)} dòng quỹ lương ({time.monotonic() - started:.1f} s)."
        )
        click.echo(
            f"Generated: {files.employer_count:,} employers, {files.employee_count:,} employees "
            f"({files.participating:,} participating, {files.stopped:,} stopped), "
            f"{files.salary_fund_count:,} salary-fund rows, in {workdir if keep else 'a temporary directory'}."
        )
        try:
            results = import_seed_files(files, workdir, show_progress=interactive, echo=click.echo)
        except BaseException:
            db.session.rollback()
            raise
        rejected = sum(r.rejected for r in results.values())
        elapsed = time.monotonic() - started
        if rejected:
            keep = True
            click.echo(
                f"Có {_vi(rejected)} dòng bị từ chối: xem các tệp *.errors.csv trong {workdir}.\n"
                f"{rejected:,} rows were rejected: see the *.errors.csv files in {workdir}.",
                err=True,
            )
            sys.exit(1)
        click.echo(f"Xong sau {elapsed:.1f} s. / Done in {elapsed:.1f} s.")
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
