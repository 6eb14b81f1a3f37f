"""``disburse import employers|employees|salary-funds FILE [--errors OUT.csv] [--strict]``.

Exit codes (the README's "Importing the registry"): 0 every row imported; 1 some rows rejected (the others
imported, unless ``--strict``, which commits nothing); 2 the file cannot be used, nothing imported.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from disburse.extensions import db
from disburse.formatting import counted, number, os_reason
from disburse.registry.importer import SPECS, ImportResult, UnusableFile, import_file
from disburse.spreadsheets import other_sheets_note, writable

import_cli = AppGroup(
    "import",
    help="Nhập tệp danh sách (CSV UTF-8 hoặc XLSX) / Import registry files (CSV UTF-8 or XLSX).",
    short_help="Nhập tệp danh sách / Import registry files.",
)

SHOWN_ERRORS = 10


def more_line(more: int, errors_path: Path | str | None, what_vi: str, what_en: tuple[str, str]) -> str:
    """What the terminal leaves out after the first few refused rows or errors: how many more, and where they all
    are (the errors file), or how to have them (``--errors``). The list stopped at ten with nothing said."""
    vi = f"  … và {number(more, locale='vi')} {what_vi}"
    en = f"… and {counted(more, 'more ' + what_en[0], 'more ' + what_en[1])}"
    if errors_path:
        return f"{vi}, trong tệp lỗi {errors_path}. / {en}, in the errors file {errors_path}."
    return f"{vi}: dùng --errors LOI.csv để ghi toàn bộ ra tệp. / {en}: use --errors OUT.csv to write every one."


def _n(value: int, sep: str) -> str:
    return number(value, locale="vi" if sep == "." else "en")


def summary_line(result: ImportResult) -> str:
    spec = SPECS[result.kind]
    vi_kind, en_kind = spec.label
    vi = (
        f"Nhập {vi_kind}: {_n(result.total_rows, '.')} dòng, thêm {_n(result.inserted, '.')}, "
        f"cập nhật {_n(result.updated, '.')}, không đổi {_n(result.unchanged, '.')}, "
        f"bị từ chối {_n(result.rejected, '.')}"
    )
    en = (
        f"Import {en_kind}: {counted(result.total_rows, 'row')}, {_n(result.inserted, ',')} inserted, "
        f"{_n(result.updated, ',')} updated, {_n(result.unchanged, ',')} unchanged, "
        f"{_n(result.rejected, ',')} rejected"
    )
    if spec.flags_duplicate_national_ids:
        vi += f", nghi trùng {_n(result.possible_duplicates, '.')}"
        en += f", {counted(result.possible_duplicates, 'possible duplicate')}"
    if not result.applied:
        vi += " — chế độ --strict: không nhập dòng nào"
        en += " — --strict: nothing imported"
    seconds = f"{result.seconds:.1f}"
    return f"{vi} ({seconds.replace('.', ',')} giây). / {en} ({seconds} s)."


class _Bar:
    """A tqdm bar on a terminal (rows, rate, ETA); nothing otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=None, unit=" dòng/rows", unit_scale=True, dynamic_ncols=True, desc="Đọc tệp / Reading"
            )

    def __call__(self, done: int, total: int | None) -> None:
        if self.bar is None:
            return
        if total is not None and total != self.bar.total:
            self.bar.total = total
        if done > self.bar.n:
            self.bar.update(done - self.bar.n)

    STEPS = {"check": "Kiểm tra / Checking", "write": "Ghi / Writing", "report": "Báo lỗi / Reporting"}

    def step(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_description(self.STEPS.get(name, name))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _say_waiting(kind: str) -> None:
    vi_kind, en_kind = SPECS[kind].label
    click.echo(
        f"Đang chờ một lượt nhập {vi_kind} khác kết thúc… / Waiting for another import of {en_kind} to finish…",
        err=True,
    )


def run_import(kind: str, file: Path, errors: Path | None, strict: bool) -> None:
    tty = sys.stdout.isatty()
    bar = _Bar(tty)
    try:
        if errors is not None:  # in a folder that exists (the importer makes a job's, in the export folder)
            writable(errors, not_this=file, make_folder=False)
        result = import_file(
            kind, file, errors_out=errors, strict=strict, progress=bar, on_step=bar.step, on_wait=_say_waiting
        )
    except UnusableFile as exc:
        bar.close()
        db.session.rollback()
        click.echo(
            f"Không thể nhập tệp {file}: {exc.message_vi}\nThe file {file} cannot be imported: {exc.message_en}",
            err=True,
        )
        sys.exit(2)
    except OSError as exc:  # the errors file could not be written (a full disk, a folder we may not write)
        bar.close()
        db.session.rollback()
        if errors is None:
            raise
        vi, en = os_reason(exc)
        click.echo(
            f"Không ghi được tệp lỗi {errors}: {vi}; chưa nhập dòng nào.\n"
            f"The errors file {errors} cannot be written: {en}; nothing was imported.",
            err=True,
        )
        sys.exit(2)
    except KeyboardInterrupt:  # the import is one transaction: said so, before the group's "Stopped at your request"
        bar.close()
        db.session.rollback()
        click.echo("\nChưa nhập dòng nào của tệp. / Nothing of the file was imported.", err=True)
        raise
    except BaseException:
        bar.close()
        db.session.rollback()
        raise
    bar.close()
    if result.applied:
        db.session.commit()
    else:
        db.session.rollback()
    click.echo(summary_line(result))
    if result.other_sheets:
        vi, en = other_sheets_note(result.other_sheets)
        click.echo(f"{vi} / {en}", err=True)
    if result.rejected:  # the first few on the terminal (or a job's log), every one with --errors
        shown = result.errors[:SHOWN_ERRORS]
        for error in shown:
            where = f"dòng/row {error.row}" + (f", {error.column}" if error.column else "")
            click.echo(f"  {where}: {error.message_vi} / {error.message_en}", err=True)
        if (more := result.error_count - len(shown)) > 0:
            click.echo(more_line(more, result.errors_path, "lỗi khác", ("error", "errors")), err=True)
        elif result.errors_path:
            click.echo(f"Danh sách lỗi / Errors: {result.errors_path}", err=True)
    if kind == "employees" and result.applied and result.inserted:
        _say_next_step()
    sys.exit(result.exit_code)


def _say_next_step() -> None:
    """An import makes no claim: what brings the people it added into the programme (build the lists again, Form 03,
    Form 04), with its dates, as the job's page says it to an admin; the command said nothing of it."""
    from flask import current_app

    from disburse.claims.list_builds import next_step
    from disburse.programs.service import ProgramNotFound, get_program

    try:
        program = get_program(current_app.config["DISBURSE_PROGRAM"])
    except ProgramNotFound:
        return
    vi, en = next_step(program).words
    click.echo(f"Chương trình {program.code}: {vi}\nProgramme {program.code}: {en}")


def _command(kind: str, name: str, help_text: str, short_help: str) -> None:
    @import_cli.command(name, help=help_text, short_help=short_help)
    @click.argument("file", type=click.Path(path_type=Path))  # a missing file gets its message in both languages
    @click.option(
        "--errors",
        "errors",
        type=click.Path(path_type=Path),  # checked by the import itself, in both languages, before any work
        help="Ghi mọi dòng bị từ chối vào tệp này, trong một thư mục có sẵn (CSV: row,column,value,error_code,"
        "message_vi,message_en) / Write every rejected row here, in a folder that exists (CSV: row,column,value,"
        "error_code,message_vi,message_en).",
    )
    @click.option(
        "--strict",
        is_flag=True,
        help="Không nhập dòng nào khi có dòng bị từ chối / Import nothing when any row is rejected.",
    )
    def command(file: Path, errors: Path | None, strict: bool) -> None:
        run_import(kind, file, errors, strict)


_command(
    "employers",
    "employers",
    "Nhập đơn vị theo mã đơn vị / Import employers (units) by unit_code.",
    "Nhập đơn vị / Import employers.",
)
_command(
    "employees",
    "employees",
    "Nhập người lao động theo mã số BHXH / Import employees by si_code.",
    "Nhập người lao động / Import employees.",
)
_command(
    "salary_funds",
    "salary-funds",
    "Nhập quỹ tiền lương đóng BHTN theo tháng / Import monthly UI salary funds by (unit_code, month).",
    "Nhập quỹ lương BHTN / Import UI salary funds.",
)
