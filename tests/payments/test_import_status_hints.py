"""``payments import-status`` says what to do with the files it cannot apply: a bank statement (camt.053) goes to
``payments reconcile --file`` (it listed the message types it takes, no more), and a pain.002 for a whole batch whose
file is not in the outbox names the export that writes it again."""

from __future__ import annotations

from datetime import date

from tests.payments.test_bankfile import pain002
from tests.payments.test_reconcile import camt053, entry08


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["payments", *args], catch_exceptions=False)


def test_a_statement_given_to_the_status_import_is_sent_to_the_reconciliation(app, db_session, bankfile, tmp_path):
    path = tmp_path / "statement.camt.053.xml"
    path.write_bytes(camt053(date(2021, 11, 2), entry08("NQ116-P1", 2_100_000, "DBIT", date(2021, 11, 2))))
    result = _run(app, "import-status", str(path))
    assert result.exit_code == 2, result.output
    assert f"Đây là sao kê tài khoản (camt.053): hãy đối chiếu bằng `disburse payments reconcile --file {path}`." in (
        result.output
    )
    assert (
        f"This is an account statement (camt.053): reconcile it with `disburse payments reconcile --file {path}`."
        in (result.output)
    )


def test_a_whole_batch_status_without_its_file_names_the_export_that_writes_it_again(
    app, db_session, bankfile, tmp_path
):
    path = tmp_path / "status.xml"
    path.write_bytes(pain002([], group_status="RJCT"))
    result = _run(app, "import-status", str(path))
    assert result.exit_code == 2, result.output
    assert "its original file is not in the outbox." in result.output
    assert "Lệnh `disburse payments export B2021-0001` ghi lại tệp đó (giống hệt)" in result.output
    assert "`disburse payments export B2021-0001` writes it again (the same file)" in result.output


def test_another_unusable_file_gets_no_such_hint(app, db_session, bankfile, tmp_path):
    path = tmp_path / "note.xml"
    path.write_text("<note>hello</note>", encoding="utf-8")
    result = _run(app, "import-status", str(path))
    assert result.exit_code == 2 and "not a supported ISO 20022 document" in result.output, result.output
    assert "reconcile" not in result.output and "export" not in result.output
