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


# Files carried the other way. An operator with a folder of files to and from the bank gave the bank's status file to
# the reconciliation, or our own payment file to either command, and was told only "not a supported ISO 20022
# document (…); its root is '{urn:…:pain.002.001.10}Document'": which command takes it is said now.


def _our_payment_file(tmp_path):
    from disburse.payments.bankfile import BankFileSettings, build_batch_file
    from tests.payments.test_bankfile import BINS, CREATED, ORDERS

    settings = BankFileSettings(tmp_path / "outbox", "Bảo hiểm xã hội Việt Nam - Quỹ BHTN", "1200000116", "BIDV")
    path = tmp_path / "B2021-0001.pain.001.xml"
    path.write_bytes(build_batch_file("B2021-0001", ORDERS, CREATED, settings, BINS))
    return path


def test_a_status_file_given_to_the_reconciliation_is_sent_to_the_status_import(app, db_session, bankfile, tmp_path):
    path = tmp_path / "status.xml"
    path.write_bytes(pain002([("NQ116-P1", "ACSC", None)]))
    result = _run(app, "reconcile", "--provider", "bankfile", "--file", str(path))
    assert result.exit_code == 2, result.output
    assert (
        f"Đây là tệp trạng thái của ngân hàng (pain.002): hãy nhập bằng `disburse payments import-status {path}`."
        in (result.output)
    )
    assert f"This is the bank's status file (pain.002): apply it with `disburse payments import-status {path}`." in (
        result.output
    )


def test_our_own_payment_file_given_for_the_banks_answer_is_said_to_be_ours(app, db_session, bankfile, tmp_path):
    path = _our_payment_file(tmp_path)
    for args in (["import-status", str(path)], ["reconcile", "--provider", "bankfile", "--file", str(path)]):
        result = _run(app, *args)
        assert result.exit_code == 2, result.output
        assert "Đây là tệp lệnh chi (pain.001) disburse ghi để gửi ngân hàng, không phải tệp ngân hàng trả về" in (
            result.output
        )
        assert "This is a payment file (pain.001) disburse wrote for the bank, not a file the bank sent back" in (
            result.output
        )


def test_the_reconciliation_gives_no_such_hint_for_another_file(app, db_session, bankfile, tmp_path):
    path = tmp_path / "note.xml"
    path.write_text("<note>hello</note>", encoding="utf-8")
    result = _run(app, "reconcile", "--provider", "bankfile", "--file", str(path))
    assert result.exit_code == 2 and "not a supported ISO 20022 document" in result.output, result.output
    assert "import-status" not in result.output and "pain.001) disburse" not in result.output
