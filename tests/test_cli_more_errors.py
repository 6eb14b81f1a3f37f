"""The import and ``forms confirm`` print the first ten refused rows (or errors) on the terminal, then say how many
more there are and where: the errors file ``--errors`` wrote, or how to have one. They stopped at ten, saying
nothing of the rest."""

from __future__ import annotations

import csv

import pytest

from disburse.registry.imports.employers import EMPLOYER_COLUMNS
from tests.factories import create_claim, create_employee, create_employer


def _errors_in(path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return len(list(csv.DictReader(fh)))


def _import(app, tmp_path, errors):
    rows = "".join(f"DN99{n:06d},Công ty {n}\n" for n in range(12))  # no sector, province, district: refused
    (tmp_path / "units.csv").write_text(",".join(EMPLOYER_COLUMNS) + "\n" + rows, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["import", "employers", str(tmp_path / "units.csv"), *errors])


def _confirm(app, tmp_path, errors):
    employer = create_employer()
    for _ in range(12):
        create_claim("listed", employee=create_employee(employer_id=employer.id))
    form = tmp_path / "mau01.csv"
    runner = app.test_cli_runner()
    assert (
        runner.invoke(args=["forms", "list", employer.unit_code, "--out", str(form), "--program", "NQ116"]).exit_code
        == 0
    )
    with form.open(encoding="utf-8-sig", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    bank, account = header.index("Ngân hàng (bank_code)"), header.index("Số tài khoản (bank_account)")
    for row in rows:
        row[bank], row[account] = "KHONGCO", "123456"  # an unknown bank: every row refused
    with form.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return runner.invoke(args=["forms", "confirm", employer.unit_code, str(form), "--program", "NQ116", *errors])


@pytest.mark.parametrize(
    ("run", "vi", "en"),
    [(_import, "lỗi khác", "more errors"), (_confirm, "dòng khác bị từ chối", "more refused rows")],
    ids=["import employers", "forms confirm"],
)
def test_the_rows_left_off_the_terminal_are_counted_and_said_where(app, db_session, tmp_path, run, vi, en):
    errors = tmp_path / "loi.csv"
    result = run(app, tmp_path, ["--errors", str(errors)])
    assert result.exit_code == 1, result.output
    more = _errors_in(errors) - 10
    assert more > 0
    assert f"… và {more} {vi}, trong tệp lỗi {errors}. / … and {more} {en}, in the errors file {errors}." in (
        result.output
    )


@pytest.mark.parametrize("run", [_import, _confirm], ids=["import employers", "forms confirm"])
def test_without_an_errors_file_the_rest_are_counted_and_how_to_have_them_said(app, db_session, tmp_path, run):
    result = run(app, tmp_path, [])
    assert result.exit_code == 1, result.output
    assert "dùng --errors LOI.csv để ghi toàn bộ ra tệp. /" in result.output
    assert ": use --errors OUT.csv to write every one." in result.output
