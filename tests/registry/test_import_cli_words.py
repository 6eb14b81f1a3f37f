"""What `disburse import` says beyond its counts: an employees import that added people says what brings them into
the programme (an import makes no claim), as the job's page says it to an admin; Ctrl-C says that nothing of the file
was imported (the import is one transaction)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from disburse.registry import import_cli
from tests.registry.test_import_support import employee_row, run_cli, seed_employer, write_csv


def test_an_employees_import_that_added_people_says_what_brings_them_in(
    app: Flask, db_session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "DISBURSE_PROGRAM", "NQ116")
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-01")  # before NQ116's list deadline
    unit = seed_employer(tmp_path)
    path = write_csv(tmp_path / "e.csv", "employees", [employee_row(unit)])

    added = run_cli(app, "employees", str(path))
    assert added.exit_code == 0, added.output
    assert "Chương trình NQ116: Người lao động mới đang tham gia BHTN chỉ có hồ sơ hỗ trợ khi danh sách Mẫu số 01" in (
        added.output
    )
    assert "Programme NQ116: New participating employees get a support claim only when the Form 01 lists are built" in (
        added.output
    )

    again = run_cli(app, "employees", str(path))  # nobody added: nothing to say of it
    assert again.exit_code == 0, again.output
    assert "Form 01 lists" not in again.output and "Programme NQ116" not in again.output


def test_ctrl_c_during_an_import_says_nothing_of_the_file_was_imported(
    app: Flask, db_session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(import_cli, "import_file", interrupted)
    with app.app_context(), pytest.raises(KeyboardInterrupt):
        import_cli.run_import("employees", tmp_path / "e.csv", None, False)
    assert "Chưa nhập dòng nào của tệp. / Nothing of the file was imported." in capsys.readouterr().err
