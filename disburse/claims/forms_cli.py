"""``disburse forms``: the employer's forms on paper, for offices that receive lists by mail.

- ``disburse forms list UNIT --out FILE.xlsx|.csv``: the unit's Form 01 list, with the Form 02 columns to fill
  (bank, account, "Không nhận hỗ trợ");
- ``disburse forms confirm UNIT FILE [--errors OUT.csv]``: the returned Form 02 spreadsheet (the same columns).

Exit codes as for imports: 0 every row taken, 1 some rows refused (the others taken), 2 the file or the unit
cannot be used and nothing changed.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from disburse.claims.employer_forms import confirm, employer_for_unit, row_claims
from disburse.claims.outcomes import FormRefused, FormResult, RowResult
from disburse.claims.unit import (
    ERRORS_HEADER,
    FORM_01_FORMATS,
    form_01_table,
    listed_people,
    read_returned_form,
    refused_rows,
)
from disburse.cli import PROGRAM_OPTION
from disburse.extensions import db
from disburse.formatting import counted, number
from disburse.programs.models import SECTOR_LABELS
from disburse.programs.service import ProgramNotFound, get_program
from disburse.registry.import_cli import SHOWN_ERRORS, more_line
from disburse.spreadsheets import (
    OUTPUT_FILE,
    UnusableFile,
    other_sheets_note,
    writable,
    write_csv,
    write_xlsx,
)

forms_cli = AppGroup(
    "forms",
    help="Mẫu số 01, 02 trên giấy / Employer forms on paper: Form 01 out, Form 02 back.",
    short_help="Mẫu số 01, 02 / Forms 01, 02.",
)

EXIT_REFUSED_ROWS = 1
EXIT_UNUSABLE = 2


def _refused(rows: list[tuple[int, dict[str, Any]]], result: FormResult) -> list[tuple[int, RowResult]]:
    """The refused rows with the row number the spreadsheet shows."""
    return [(rows[r.row - 1][0], r) for r in result.rows if r.outcome == "error"]


def _program(code: str | None) -> Any:
    try:
        return get_program(code or current_app.config["DISBURSE_PROGRAM"])
    except ProgramNotFound as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_UNUSABLE)


def _unit(unit_code: str) -> Any:
    try:
        return employer_for_unit(unit_code)
    except FormRefused as exc:
        click.echo(f"{exc.message_vi}\n{exc.message_en}", err=True)
        sys.exit(EXIT_UNUSABLE)


@forms_cli.command("list", short_help="Ghi Mẫu số 01 của đơn vị / Write a unit's Form 01.")
@click.argument("unit_code")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tệp ra, .xlsx hoặc .csv, trong một thư mục có sẵn / The output file, .xlsx or .csv, in a folder that exists.",
)
@PROGRAM_OPTION
def list_cmd(unit_code: str, out: Path, program_code: str | None) -> None:
    """Ghi danh sách Mẫu số 01 của đơn vị UNIT_CODE, với các cột Mẫu số 02 để điền.

    Write the unit's (UNIT_CODE) Form 01 list with the Form 02 columns to fill in."""
    program, employer = _program(program_code), _unit(unit_code)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        click.echo("Tệp ra phải là .xlsx hoặc .csv / The output must be .xlsx or .csv", err=True)
        sys.exit(EXIT_UNUSABLE)
    try:
        writable(out, what=OUTPUT_FILE, make_folder=False)
    except UnusableFile as exc:
        click.echo(f"{exc.message_vi}\n{exc.message_en}", err=True)
        sys.exit(EXIT_UNUSABLE)
    header, rows = form_01_table(program, employer)
    if out.suffix.lower() == ".xlsx":
        write_xlsx(out, header, rows, title=f"Mẫu 01 {employer.unit_code}", formats=FORM_01_FORMATS)
    else:
        write_csv(out, header, rows)
    click.echo(
        f"Mẫu số 01 của đơn vị {employer.unit_code} ({employer.name}), chương trình {program.code}: "
        f"{number(len(rows), locale='vi')} người → {out}\n"
        f"Form 01 of unit {employer.unit_code}, programme {program.code}: {counted(len(rows), 'person', 'people')} "
        f"→ {out}"
    )
    if not rows and employer.sector in (program.excluded_sectors or ()):  # an empty list, and why
        sector_vi, sector_en = SECTOR_LABELS.get(employer.sector, (employer.sector, employer.sector))
        click.echo(
            f"Đơn vị thuộc khu vực “{sector_vi}”, không thuộc đối tượng của chương trình {program.code}: không ai "
            f"của đơn vị được lập danh sách.\n"
            f"The unit's sector ({sector_en}) is not in programme {program.code}: nobody of the unit is listed.",
            err=True,
        )


@forms_cli.command("confirm", short_help="Nhận Mẫu số 02 / Take a Form 02 file.")
@click.argument("unit_code")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--errors",
    "errors_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ghi các dòng bị từ chối vào tệp CSV này, trong một thư mục có sẵn / Write the refused rows to this CSV, in a "
    "folder that exists.",
)
@PROGRAM_OPTION
def confirm_cmd(unit_code: str, path: Path, errors_out: Path | None, program_code: str | None) -> None:
    """Nhận tệp Mẫu số 02 đơn vị gửi lại (tệp Mẫu số 01 đã điền thông tin ngân hàng, hoặc 'x' ở cột “Không nhận hỗ
    trợ”). Mã thoát 0: nhận hết; 1: có dòng bị từ chối; 2: không dùng được tệp, không thay đổi gì.

    Take a returned Form 02 spreadsheet (the Form 01 file with bank details or 'x' filled in). Exit 0: every row
    taken; 1: some rows refused; 2: the file cannot be used, nothing changed."""
    program, employer = _program(program_code), _unit(unit_code)
    try:
        if errors_out is not None:
            writable(errors_out, not_this=path, make_folder=False)
        rows, others = read_returned_form(path, program, listed_people(program, employer))
        result = confirm(program, unit_code, [cells for _, cells in rows], row_numbers=[n for n, _ in rows])
    except (UnusableFile, FormRefused) as exc:
        db.session.rollback()
        click.echo(f"{exc.message_vi}\n{exc.message_en}", err=True)
        sys.exit(EXIT_UNUSABLE)
    claims = dict(zip((r.row for r in result.rows), row_claims(program, employer, result), strict=True))
    db.session.commit()
    if others:
        vi, en = other_sheets_note(others)
        click.echo(f"{vi}\n{en}", err=True)
    refused = _refused(rows, result)
    if errors_out is not None:
        write_csv(errors_out, ERRORS_HEADER, refused_rows(rows, result))
    summary = result.as_dict()["summary"]
    n_vi, n_en = partial(number, locale="vi"), partial(number, locale="en")
    click.echo(
        f"Mẫu số 02 của đơn vị {unit_code}: xác nhận {n_vi(summary.get('confirmed', 0))}, không nhận "
        f"{n_vi(summary.get('declined', 0))}, không đổi {n_vi(summary.get('unchanged', 0))}, bị từ chối "
        f"{n_vi(len(refused))} dòng.\n"
        f"Form 02 of unit {unit_code}: {n_en(summary.get('confirmed', 0))} confirmed, "
        f"{n_en(summary.get('declined', 0))} declined, {n_en(summary.get('unchanged', 0))} unchanged, "
        f"{counted(len(refused), 'row')} refused."
    )
    for row_no, r in refused[:SHOWN_ERRORS]:
        # The claim the row is about, as the API names it (none for a person not on the unit's list).
        about = f" (hồ sơ/claim {claim_id}, {r.si_code})" if (claim_id := claims.get(r.row)) is not None else ""
        click.echo(f"  dòng/row {row_no}{about}: {r.errors[0].message_vi} / {r.errors[0].message_en}")
    if (more := len(refused) - SHOWN_ERRORS) > 0:
        click.echo(more_line(more, errors_out, "dòng khác bị từ chối", ("refused row", "refused rows")))
    if refused:
        sys.exit(EXIT_REFUSED_ROWS)
