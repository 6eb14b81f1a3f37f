"""What the commands say they did is what they did, with a count of one said in the singular in English: ``payments
send`` of a batch paid in full said "đã gửi 1 lệnh. / 1 orders handed over." though it handed nothing over, and
summaries said "1 orders", "1 recoveries", "1 people", "1 rows"."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from disburse.payments import reconcile_cli
from disburse.payments.models import Payment, PaymentBatch
from disburse.payments.reconcile import Difference, ReconcileResult
from disburse.registry.imports.employers import EMPLOYER_COLUMNS
from tests.factories import create_claim, create_employee, create_employer, create_program
from tests.payments.test_bankfile import pain002


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def _one_order_batch(app, db_session) -> PaymentBatch:
    program = create_program()
    create_claim("approved", program=program, amount_vnd=2_100_000)  # the amount pain002() reports
    made = _run(app, "payments", "batch", "--program", program.code)
    assert "1 payment batch made." in made.output, made.output
    return db_session.scalars(select(PaymentBatch).where(PaymentBatch.program_id == program.id)).one()


def test_sending_a_batch_paid_in_full_says_there_is_nothing_to_send(app, db_session, bankfile, tmp_path):
    batch = _one_order_batch(app, db_session)
    assert _run(app, "payments", "export", str(batch.id)).exit_code == 0
    reference = db_session.scalars(select(Payment.provider_reference).where(Payment.batch_id == batch.id)).one()
    status = tmp_path / "status.xml"
    status.write_bytes(pain002([(reference, "ACSC", None)]))
    assert _run(app, "payments", "import-status", str(status)).exit_code == 0

    sent = _run(app, "payments", "send", str(batch.id))
    assert sent.exit_code == 0, sent.output
    assert "handed over" not in sent.output and "đã gửi" not in sent.output, sent.output
    assert f"Lô {batch.id} ({batch.reference}): không có gì để gửi, cả 1 lệnh đã có kết quả (đã chi 1)." in sent.output
    assert f"Batch {batch.id} ({batch.reference}): nothing to send, its 1 order is already settled (paid 1)." in (
        sent.output
    )


def _counts_of_one(app, db_session, tmp_path, capsys, what: str) -> str:
    if what == "payments export":
        return _run(app, "payments", "export", str(_one_order_batch(app, db_session).id)).output
    if what == "payments import-status":
        batch = _one_order_batch(app, db_session)
        _run(app, "payments", "export", str(batch.id))
        reference = db_session.scalars(select(Payment.provider_reference).where(Payment.batch_id == batch.id)).one()
        (tmp_path / "status.xml").write_bytes(pain002([(reference, "ACSC", None)]))
        return _run(app, "payments", "import-status", str(tmp_path / "status.xml")).output
    if what == "forms list":
        employer = create_employer()
        create_claim("listed", employee=create_employee(employer_id=employer.id))
        return _run(
            app, "forms", "list", employer.unit_code, "--out", str(tmp_path / "f.csv"), "--program", "NQ116"
        ).output
    if what == "import employers":  # a row refused (no sector, no province) is still a row of the file
        header = ",".join(EMPLOYER_COLUMNS)
        (tmp_path / "units.csv").write_text(f"{header}\nDN99000001,Công ty Một\n", encoding="utf-8")
        return _run(app, "import", "employers", str(tmp_path / "units.csv")).output
    assert what == "payments reconcile"
    difference = Difference("ours_only", "settlement", "NQ116-P1", 2_100_000, None)
    with app.app_context():
        reconcile_cli._report(
            ReconcileResult(1, "sandbox", date(2021, 11, 2), datetime(2021, 11, 3), 1, [difference], 1, 1)
        )
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("what", "said"),
    [
        ("payments export", r"1 order, "),
        ("payments import-status", r"1 status; "),
        ("forms list", r"1 person → "),
        ("import employers", r"Import employers: 1 row, "),
        ("payments reconcile", r"1 difference \(1 statement entry; 1 recovery back in the fund\)"),
    ],
)
def test_a_count_of_one_is_said_in_the_singular(app, db_session, bankfile, tmp_path, capsys, what, said):
    output = _counts_of_one(app, db_session, tmp_path, capsys, what)
    assert re.search(said, output), output
    assert not re.search(r"\b1 (orders|statuses|people|rows|differences|entries|recoveries)\b", output), output
