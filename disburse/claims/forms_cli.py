"""``disburse forms``: the employer's forms on paper, for offices that receive lists by mail.

- ``disburse forms list UNIT --out FILE.xlsx|.csv``: the unit's Form 01 list, with the Form 02 columns to fill
  (bank, account, "Không nhận hỗ trợ");
- ``disburse forms confirm UNIT FILE [--errors OUT.csv]``: the returned Form 02 spreadsheet (the same columns).

Exit codes as for imports: 0 every row taken, 1 some rows refused (the others taken), 2 the file or the unit
cannot be used and nothing changed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from disburse.claims.employer_forms import confirm, employer_for_unit
from disburse.claims.models import Claim
from disburse.claims.outcomes import FormRefused
from disburse.claims.states import STATE_LABELS, ClaimState
from disburse.extensions import db
from disburse.programs.service import ProgramNotFound, get_program
from disburse.registry.models import Employee
from disburse.spreadsheets import (
    UnusableFile,
    other_sheets_note,
    read_table,
    writable,
    write_csv,
    write_xlsx,
)

forms_cli = AppGroup("forms", help="Employer forms on paper: Form 01 out, Form 02 back / Mẫu số 01, 02.")

EXIT_REFUSED_ROWS = 1
EXIT_UNUSABLE = 2

#: The Form 01 columns, then the Form 02 columns the employer fills in: "Label (name)"; the name is what is read.
FORM_01_COLUMNS = [
    ("STT", "row"),
    ("Mã số BHXH", "si_code"),
    ("Họ và tên", "full_name"),
    ("Số CMND/CCCD", "national_id"),
    ("Số điện thoại", "phone"),
    ("Số tháng đóng BHTN chưa hưởng", "unused_months"),
    ("Mức hỗ trợ (đồng)", "amount_vnd"),
    ("Trạng thái", "state"),
    ("Ngân hàng", "bank_code"),
    ("Số tài khoản", "bank_account"),
    ("Không nhận hỗ trợ: ghi x", "decline"),
]


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


@forms_cli.command("list")
@click.argument("unit_code")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help=".xlsx or .csv")
@click.option("--program", "program_code", help="The program's code (default: DISBURSE_PROGRAM).")
def list_cmd(unit_code: str, out: Path, program_code: str | None) -> None:
    """Write the unit's Form 01 list with the Form 02 columns to fill in."""
    program, employer = _program(program_code), _unit(unit_code)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        click.echo("Tệp ra phải là .xlsx hoặc .csv / The output must be .xlsx or .csv", err=True)
        sys.exit(EXIT_UNUSABLE)
    claims = db.session.execute(
        select(Claim, Employee)
        .join(Employee, Employee.id == Claim.employee_id)
        .where(Claim.program_id == program.id, Claim.employer_id == employer.id, Claim.track == "A")
        .order_by(Employee.si_code)
    ).all()
    header = [f"{label} ({name})" for label, name in FORM_01_COLUMNS]
    rows = [
        [
            n,
            employee.si_code,
            employee.full_name,
            employee.national_id,
            employee.phone,
            claim.unused_months,
            claim.amount_vnd,
            STATE_LABELS[ClaimState(claim.state)][0],
            claim.bank_code,
            claim.bank_account,
            "x" if claim.state == ClaimState.DECLINED else None,
        ]
        for n, (claim, employee) in enumerate(claims, start=1)
    ]
    if out.suffix.lower() == ".xlsx":
        write_xlsx(out, header, rows, title=f"Mẫu 01 {employer.unit_code}")
    else:
        write_csv(out, header, rows)
    click.echo(
        f"Mẫu số 01 của đơn vị {employer.unit_code} ({employer.name}): {len(rows)} người → {out}\n"
        f"Form 01 of unit {employer.unit_code}: {len(rows)} people → {out}"
    )


@forms_cli.command("confirm")
@click.argument("unit_code")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--errors", "errors_out", type=click.Path(dir_okay=False, path_type=Path), help="CSV of refused rows.")
@click.option("--program", "program_code", help="The program's code (default: DISBURSE_PROGRAM).")
def confirm_cmd(unit_code: str, path: Path, errors_out: Path | None, program_code: str | None) -> None:
    """Take a returned Form 02 spreadsheet (the Form 01 file with bank details or 'x' filled in)."""
    program, _ = _program(program_code), _unit(unit_code)
    try:
        if errors_out is not None:
            writable(errors_out, not_this=path)
        header, rows, others = read_table(path)
        if "si_code" not in header:
            raise UnusableFile(
                "Thiếu cột Mã số BHXH (si_code); hãy dùng tệp Mẫu số 01 đã tải về.",
                "The SI code column (si_code) is missing; use the Form 01 file you downloaded.",
            )
        result = confirm(program, unit_code, [cells for _, cells in rows])
    except (UnusableFile, FormRefused) as exc:
        db.session.rollback()
        click.echo(f"{exc.message_vi}\n{exc.message_en}", err=True)
        sys.exit(EXIT_UNUSABLE)
    db.session.commit()
    if others:
        vi, en = other_sheets_note(others)
        click.echo(f"{vi}\n{en}", err=True)
    spreadsheet_rows = [n for n, _ in rows]
    refused = [(spreadsheet_rows[r.row - 1], r) for r in result.rows if r.outcome == "error"]
    if errors_out is not None:
        write_csv(
            errors_out,
            ("row", "column", "value", "error_code", "message_vi", "message_en"),
            (
                (row_no, e.field, rows[r.row - 1][1].get(e.field), e.code, e.message_vi, e.message_en)
                for row_no, r in refused
                for e in r.errors
            ),
        )
    summary = result.as_dict()["summary"]
    click.echo(
        f"Mẫu số 02 của đơn vị {unit_code}: xác nhận {summary.get('confirmed', 0)}, không nhận "
        f"{summary.get('declined', 0)}, không đổi {summary.get('unchanged', 0)}, bị từ chối {len(refused)} dòng.\n"
        f"Form 02 of unit {unit_code}: {summary.get('confirmed', 0)} confirmed, {summary.get('declined', 0)} "
        f"declined, {summary.get('unchanged', 0)} unchanged, {len(refused)} rows refused."
    )
    for row_no, r in refused[:10]:
        click.echo(f"  dòng/row {row_no}: {r.errors[0].message_vi} / {r.errors[0].message_en}")
    if refused:
        sys.exit(EXIT_REFUSED_ROWS)
