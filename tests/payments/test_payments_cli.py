"""``disburse payments``: a bank-file batch out as pain.001 and the bank's pain.002 back, end to end through the
commands, the way an office without a bank connection works; a second import changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyiso20022.pain import pain_002_001_10 as p10
from sqlalchemy import select

from disburse.claims.models import Claim
from disburse.formatting import vnd
from disburse.payments.bankfile import read_batch_file
from disburse.payments.models import Payment, PaymentBatch
from tests.factories import create_claim, create_payment, create_program
from tests.payments.test_bankfile import P10, SENT, pain002, xml


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["payments", *args], catch_exceptions=False)


def test_a_bank_file_batch_goes_out_as_pain001_and_its_pain002_comes_back(app, db_session, bankfile, tmp_path):
    program = create_program()
    claims = [create_claim("approved", program=program, amount_vnd=2_100_000) for _ in range(3)]

    made = _run(app, "batch", "--program", program.code)
    assert made.exit_code == 0, made.output
    batch = db_session.scalars(select(PaymentBatch).where(PaymentBatch.program_id == program.id)).one()
    assert batch.provider == "bankfile" and "6.300.000" in made.output

    exported = _run(app, "export", str(batch.id))
    assert exported.exit_code == 0, exported.output
    path = Path(exported.output.splitlines()[0])
    assert path.is_file() and path.parent == bankfile
    first = path.read_bytes()
    assert _run(app, "export", str(batch.id)).exit_code == 0
    assert path.read_bytes() == first  # the same file: it may already be at the bank

    references = sorted(db_session.scalars(select(Payment.provider_reference).where(Payment.batch_id == batch.id)))
    status = tmp_path / "status.xml"
    status.write_bytes(
        pain002([(references[0], "ACSC", None), (references[1], "RJCT", "AC04"), (references[2], "ACSP", None)])
    )
    imported = _run(app, "import-status", str(status))
    assert imported.exit_code == 0, imported.output
    db_session.expire_all()
    states = dict(
        db_session.execute(
            select(Payment.provider_reference, Claim.state).join(Claim, Claim.id == Payment.claim_id)
        ).all()
    )
    assert [states[r] for r in references] == ["paid", "awaiting_payment_details", "payment_pending"]

    again = _run(app, "import-status", str(status))
    assert again.exit_code == 0 and "nothing new 3" in again.output
    assert {c.id for c in claims} == set(
        db_session.scalars(select(Payment.claim_id).where(Payment.batch_id == batch.id))
    )

    listed = _run(app, "batches")
    assert f"#{batch.id} {batch.reference}" in listed.output and "Thành công / Paid: 1" in listed.output
    assert "Chuyển khoản / Bank transfer (bankfile)" in listed.output and "Đã bàn giao / Handed over" in listed.output

    # A status for a payment of ours that went another way (the sandbox), and one for nobody's: neither applied,
    # each said for what it is, and counted in the summary.
    sandbox = create_payment(create_claim("payment_pending", program=program), "sent")
    status.write_bytes(pain002([(sandbox.provider_reference, "ACSC", None), ("NOT-OURS-1", "ACSC", None)]))
    strangers = _run(app, "import-status", str(status))
    assert strangers.exit_code == 1 and "not applied 2" in strangers.output
    assert f"it went by sandbox); not applied: {sandbox.provider_reference}" in strangers.output
    assert "Not one of our payments: NOT-OURS-1" in strangers.output
    db_session.expire_all()
    assert db_session.get(Payment, sandbox.id).state == "sent"


def _exported_batch(app, db_session) -> tuple[PaymentBatch, Path, list[str]]:
    program = create_program()
    for _ in range(3):
        create_claim("approved", program=program, amount_vnd=2_100_000)  # the amount pain002() reports
    assert _run(app, "batch", "--program", program.code).exit_code == 0
    batch = db_session.scalars(select(PaymentBatch).where(PaymentBatch.program_id == program.id)).one()
    exported = _run(app, "export", str(batch.id))
    assert exported.exit_code == 0, exported.output
    references = sorted(db_session.scalars(select(Payment.provider_reference).where(Payment.batch_id == batch.id)))
    return batch, Path(exported.output.splitlines()[0]), references


def _settle_one(app, folder: Path, reference: str) -> None:
    """The bank's status file, in ``folder``, settles ``reference``."""
    status = folder / "status.xml"
    status.write_bytes(pain002([(reference, "ACSC", None)]))
    assert _run(app, "import-status", str(status)).exit_code == 0


def test_exporting_again_after_a_status_file_gives_the_same_file(app, db_session, bankfile, tmp_path, pain001_schema):
    """The bank settled one payment of three: exporting (or sending) the batch again is the same whole file, not a
    file of the two still waiting under the same MsgId, and it is no error."""
    batch, path, references = _exported_batch(app, db_session)
    first = path.read_bytes()
    _settle_one(app, tmp_path, references[0])

    for command in ("export", "send", "export"):
        again = _run(app, command, str(batch.id))
        assert again.exit_code == 0, again.output
        assert path.read_bytes() == first
    assert _run(app, "export", str(batch.id)).output.splitlines()[0] == str(path)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    db_session.expire_all()
    assert db_session.get(PaymentBatch, batch.id).last_error is None
    pain001_schema.validate(path.read_text(encoding="utf-8"))
    assert {ref for ref, _ in read_batch_file(path.read_bytes()).transactions} == set(references)
    states = db_session.execute(select(Payment.state).where(Payment.batch_id == batch.id)).scalars().all()
    assert sorted(states) == ["paid", "sent", "sent"]  # exporting again moved nobody


def test_a_batch_file_lost_from_the_outbox_is_written_again_whole_and_the_same(app, db_session, bankfile, tmp_path):
    """Even when a status file has settled part of the batch, or all of it, since it was first written."""
    batch, path, references = _exported_batch(app, db_session)
    first = path.read_bytes()
    _settle_one(app, tmp_path, references[0])
    path.unlink()
    assert _run(app, "export", str(batch.id)).exit_code == 0
    assert path.read_bytes() == first
    status = tmp_path / "all.xml"
    status.write_bytes(pain002([(reference, "ACSC", None) for reference in references], message_id="VCB-STS-0002"))
    assert _run(app, "import-status", str(status)).exit_code == 0
    path.unlink()
    assert _run(app, "export", str(batch.id)).exit_code == 0
    assert path.read_bytes() == first


def _whole_file_refused(batch: PaymentBatch, reason: str) -> bytes:
    """The bank's pain.002 refusing our whole file ``batch`` for ``reason`` (no transaction listed)."""
    report = p10.CustomerPaymentStatusReportV10(
        grp_hdr=p10.GroupHeader86(msg_id=f"VCB-STS-{reason}", cre_dt_tm=SENT),
        orgnl_grp_inf_and_sts=p10.OriginalGroupHeader17(
            orgnl_msg_id=batch.reference,
            orgnl_msg_nm_id="pain.001.001.09",
            grp_sts="RJCT",
            sts_rsn_inf=[p10.StatusReasonInformation12(rsn=p10.StatusReason6Choice(cd=reason))],
        ),
    )
    return xml(p10.Document(cstmr_pmt_sts_rpt=report), P10)


@pytest.mark.parametrize("reason", ["DUPL", "AM05"])
def test_the_same_file_uploaded_twice_and_refused_as_a_duplicate_fails_nobody(
    app, db_session, bankfile, tmp_path, reason
):
    """An operator uploads the batch file twice; the bank pays from the first copy and refuses the second, whole or
    order by order, as a duplicate. That refusal is "already have it", not a failure: were it read as one, every claim
    of the batch would wait for new details and be paid again while the bank pays the first copy."""
    batch, _path, references = _exported_batch(app, db_session)
    status = tmp_path / "dupl.xml"
    for body in (_whole_file_refused(batch, reason), pain002([(r, "RJCT", reason) for r in references])):
        status.write_bytes(body)
        refused = _run(app, "import-status", str(status))
        assert refused.exit_code == 0, refused.output
        db_session.expire_all()
        assert set(db_session.scalars(select(Payment.state).where(Payment.batch_id == batch.id))) == {"sent"}
    status.write_bytes(pain002([(r, "ACSC", None) for r in references], message_id="VCB-STS-PAID"))
    assert _run(app, "import-status", str(status)).exit_code == 0
    db_session.expire_all()
    assert set(db_session.scalars(select(Payment.state).where(Payment.batch_id == batch.id))) == {"paid"}


def test_money_moved_for_a_payment_we_hold_failed_is_a_conflict_reported_not_applied(
    app, db_session, bankfile, tmp_path
):
    """The class the duplicate refusal belonged to: the bank says it paid (or returned) a payment we took for lost.
    Nothing is applied, the command lists it and exits 1, so that a person checks before the claim is paid again."""
    _batch, _path, references = _exported_batch(app, db_session)
    status = tmp_path / "status.xml"
    status.write_bytes(pain002([(references[0], "RJCT", "AC04")]))
    assert _run(app, "import-status", str(status)).exit_code == 0
    status.write_bytes(pain002([(references[0], "ACSC", None)], message_id="VCB-STS-LATE"))
    late = _run(app, "import-status", str(status))
    assert late.exit_code == 1, late.output
    assert f"check the statement before paying the claim again: {references[0]}" in late.output
    assert "not applied 1" in late.output
    db_session.expire_all()
    assert db_session.scalars(select(Payment.state).where(Payment.provider_reference == references[0])).one() == (
        "failed"
    )


def test_another_file_under_the_batchs_name_is_never_overwritten(app, db_session, bankfile, tmp_path):
    batch, path, references = _exported_batch(app, db_session)
    _settle_one(app, tmp_path, references[0])
    foreign = path.read_bytes().replace(b">2100000<", b">2200000<", 1)
    path.write_bytes(foreign)
    again = _run(app, "export", str(batch.id))
    assert again.exit_code == 2 and "BatchFileConflict" not in again.output
    assert "không ghi đè" in again.output and "not overwritten" in again.output
    assert again.output.count("not overwritten") == 1  # said once (it was three times)
    assert "orders," not in again.output and str(path) + "\n" not in again.output  # nothing that reads as done
    assert path.read_bytes() == foreign
    good = _exported_batch(app, db_session)[0]
    totals = _run(app, "export", str(good.id)).output  # each language its own way of writing the sums
    assert f"Lô {good.id}: 3 lệnh, 6.300.000 ₫. / Batch {good.id}: 3 orders, VND 6,300,000." in totals


def test_a_status_file_about_payments_that_are_not_ours_says_so(app, db_session, bankfile, tmp_path):
    status = tmp_path / "status.xml"
    status.write_bytes(pain002([("NOT-OURS-1", "ACSC", None)]))
    result = _run(app, "import-status", str(status))
    assert result.exit_code == 1
    assert "NOT-OURS-1" in result.output


@pytest.mark.parametrize("content", [b"", b"not xml at all", b"<?xml version='1.0'?><Document/>"])
def test_an_unusable_status_file_changes_nothing_and_says_why(app, db_session, bankfile, tmp_path, content):
    status = tmp_path / "status.xml"
    status.write_bytes(content)
    result = _run(app, "import-status", str(status))
    assert result.exit_code == 2
    assert "Traceback" not in result.output and result.output.strip()


def test_unknown_batches_and_the_wrong_provider_are_refused(app, db_session, bankfile):
    assert _run(app, "export", "999999999").exit_code == 2
    assert _run(app, "send", "999999999").exit_code == 2


def test_a_return_after_settlement_is_owed_then_written_off_with_a_note(app, db_session):
    from disburse.payments.models import Recovery
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.recoveries import history
    from disburse.payments.states import PaymentState
    from disburse.payments.status import apply_updates
    from tests.factories import create_payment, create_user

    payment = create_payment(state=PaymentState.PAID)
    apply_updates("sandbox", [StatusUpdate(payment.provider_reference, ProviderStatus.RETURNED, "AC04")], source="t")
    recovery = db_session.scalars(select(Recovery).where(Recovery.payment_id == payment.id)).one()
    supervisor = create_user("supervisor")

    listed = _run(app, "recoveries", "--state", "owed")
    assert f"#{recovery.id}" in listed.output and "Chờ thu hồi / Owed" in listed.output
    assert f"0 ₫ / {vnd(payment.amount_vnd, 'vi')}" in listed.output  # what came back of it, of what is owed
    # Its claim and payment named in both languages, as `recovery ID` names them ("claim 3174 payment 16360").
    assert f"#{recovery.id} · hồ sơ / claim {payment.claim_id} · khoản chi / payment {payment.id} · " in listed.output
    assert f"1 recovery: owed {vnd(payment.amount_vnd, 'en')}, recovered VND 0." in listed.output
    other = create_payment(state=PaymentState.PAID)
    apply_updates("sandbox", [StatusUpdate(other.provider_reference, ProviderStatus.RETURNED, "AC04")], source="t")
    latest = _run(app, "recoveries", "--limit", "1")
    assert "The latest 1 of 2 recoveries" in latest.output and f"#{recovery.id} " not in latest.output
    by = ("--by", supervisor.email)
    nobody = _run(app, "recovery", str(recovery.id), "written_off", "--note", "Mất liên lạc", "--after-step", "1")
    assert nobody.exit_code == 2 and "--by is needed: the e-mail of who decided" in nobody.output
    no_note = _run(app, "recovery", str(recovery.id), "written_off", "--after-step", "1", *by)
    assert no_note.exit_code == 2 and "needs a note" in no_note.output
    # owed cannot be closed
    assert _run(app, "recovery", str(recovery.id), "closed", "--after-step", "1", *by).exit_code == 2
    # Part of it back at the office; more than the rest is refused.
    part = _run(app, "recovery", str(recovery.id), "recovered", "--amount", "500000", "--after-step", "1", *by)
    assert part.exit_code == 0 and "Chờ thu hồi / Owed · đã thu / recovered 500.000 ₫" in part.output, part.output
    # The steps in words, as the supervisors' page says them.
    steps = _run(app, "recovery", str(recovery.id)).output
    assert "Mở / Opened: Chờ thu hồi / Owed" in steps and "Thu hồi một phần / Part recovered · 500.000 ₫" in steps
    too_much = _run(
        app, "recovery", str(recovery.id), "recovered", "--amount", str(payment.amount_vnd), "--after-step", "2", *by
    )
    assert too_much.exit_code == 2 and "still owed" in too_much.output
    done = _run(
        app,
        "recovery",
        str(recovery.id),
        "written_off",
        "--note",
        "Người nhận đã mất",
        "--by",
        supervisor.email,
        "--after-step",
        "2",
    )
    assert done.exit_code == 0, done.output
    db_session.refresh(recovery)
    assert recovery.state == "written_off"
    assert [(s.who, s.to_state, s.note) for s in history(recovery.id)][-1] == (
        supervisor.email,
        "written_off",
        "Người nhận đã mất",
    )


def test_a_status_file_naming_more_references_than_a_statement_takes_parameters_is_answered(
    app, db_session, bankfile, tmp_path
):
    """70,000 references that are not ours (a file imported with the wrong provider configured): listed, exit 1,
    nothing changed; PostgreSQL takes at most 65,535 parameters in a statement, so the references go as one array
    (disburse.bulk.any_of), not one parameter each."""
    status = tmp_path / "status.xml"
    status.write_bytes(pain002([(f"NOT-OURS-{n}", "ACSC", None) for n in range(70_000)]))
    strangers = _run(app, "import-status", str(status))
    assert strangers.exit_code == 1, strangers.output[-2000:]
    assert "Not one of our payments: NOT-OURS-69999" in strangers.output and "not applied 70,000" in strangers.output


def test_a_recovery_step_is_recorded_only_under_the_name_of_one_who_may_take_it(app, db_session):
    """--by names who decided: an employer, a caseworker, a supervisor of another province or a deactivated one is
    refused (exit 2, both languages, nothing recorded), as on the pages; the claim's province's supervisor may."""
    from disburse.payments.models import Recovery
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.recoveries import history
    from disburse.payments.states import PaymentState
    from disburse.payments.status import apply_updates
    from tests.factories import create_payment, create_user

    claim = create_claim("payment_pending", amount_vnd=2_100_000, district_code="017")  # Đông Anh, Hà Nội
    payment = create_payment(claim, state=PaymentState.PAID)
    apply_updates("sandbox", [StatusUpdate(payment.provider_reference, ProviderStatus.RETURNED, "AC04")], source="t")
    recovery = db_session.scalars(select(Recovery).where(Recovery.payment_id == payment.id)).one()
    retired = create_user("supervisor", province="01")
    retired.active = False
    refused = [
        create_user("employer"),
        create_user("caseworker", district="017"),
        create_user("supervisor", province="79"),
        retired,
    ]
    db_session.flush()
    for user in refused:
        move = ["recovery", str(recovery.id), "written_off", "--note", "Mất liên lạc", "--after-step", "1"]
        done = _run(app, *move, "--by", user.email)
        assert done.exit_code == 2, (user.role, done.output)
        assert "không được ghi nhận khoản thu hồi" in done.output and "may not record a step" in done.output
    assert len(history(recovery.id)) == 1
    hanoi = create_user("supervisor", province="01")
    done = _run(
        app,
        "recovery",
        str(recovery.id),
        "written_off",
        "--note",
        "Mất liên lạc",
        "--after-step",
        "1",
        "--by",
        hanoi.email,
    )
    assert done.exit_code == 0, done.output
    db_session.refresh(recovery)
    assert recovery.state == "written_off"


def test_a_recovery_step_run_again_records_once_and_one_decided_before_another_step_is_refused(app, db_session):
    """A part of the sum back, typed twice (or a script retried): the command names the step it was decided after
    (the last one it printed), so the second run finds this very step already recorded and records nothing more;
    a step decided before someone else's is refused, naming what came in between."""
    from disburse.auth.models import AuditLog
    from disburse.payments.models import Recovery
    from disburse.payments.providers import ProviderStatus, StatusUpdate
    from disburse.payments.recoveries import history
    from disburse.payments.states import PaymentState
    from disburse.payments.status import apply_updates
    from tests.factories import create_payment, create_user

    payment = create_payment(create_claim("payment_pending", amount_vnd=2_100_000), state=PaymentState.PAID)
    apply_updates("sandbox", [StatusUpdate(payment.provider_reference, ProviderStatus.RETURNED, "AC04")], source="t")
    recovery = db_session.scalars(select(Recovery).where(Recovery.payment_id == payment.id)).one()
    rid = str(recovery.id)
    supervisor, other = create_user("supervisor"), create_user("supervisor")

    shown = _run(app, "recovery", rid)
    assert shown.exit_code == 0 and "1. " in shown.output and "Bước cuối: 1" in shown.output, shown.output
    assert "Last step: 1" in shown.output and "2.100.000 ₫" in shown.output

    for typed in ("1.5", "5.000,50", "0"):  # never read as another sum of đồng: refused in both languages
        odd = _run(app, "recovery", rid, "recovered", "--amount", typed, "--by", supervisor.email, "--after-step", "1")
        assert odd.exit_code == 2 and "không phải một số tiền đồng" in odd.output and "not a sum of đồng" in odd.output
    part = ["recovery", rid, "recovered", "--amount", "500.000", "--note", "Biên lai 0012", "--by", supervisor.email]
    first = _run(app, *part, "--after-step", "1")
    assert first.exit_code == 0 and "Owed · đã thu / recovered 500.000 ₫ / 2.100.000 ₫" in first.output, first.output
    assert "last step 2" in first.output
    again = _run(app, *part, "--after-step", "1")
    assert again.exit_code == 0, again.output
    assert "đã ghi đúng như vậy rồi: không ghi thêm" in again.output and "nothing more recorded" in again.output
    db_session.refresh(recovery)
    assert (recovery.state, recovery.recovered_vnd) == ("owed", 500_000)
    assert [s.recovered_vnd for s in history(recovery.id)] == [0, 500_000]
    moves = select(AuditLog).where(AuditLog.action == "recovery.move", AuditLog.object_id == rid)
    assert len(db_session.scalars(moves).all()) == 1

    # Without the step it was decided after, nothing is recorded (it could not tell a retry from a new part).
    blind = _run(app, "recovery", rid, "recovered", "--amount", "500000")
    assert blind.exit_code == 2 and "--after-step" in blind.output
    # Someone else records a part; the first command, run again now, is refused and shows what came in between.
    between = _run(app, "recovery", rid, "recovered", "--amount", "300000", "--by", other.email, "--after-step", "2")
    assert between.exit_code == 0, between.output
    stale = _run(app, *part, "--after-step", "1")
    assert stale.exit_code == 2, stale.output
    assert "đã có bước khác được ghi sau bước 1" in stale.output and "after step 1" in stale.output
    assert "3. " in stale.output and other.email in stale.output and "300.000 ₫" in stale.output
    unknown = _run(app, "recovery", rid, "closed", "--after-step", "9", "--by", supervisor.email)
    assert unknown.exit_code == 2 and "has 3 steps" in unknown.output
    db_session.refresh(recovery)
    assert (recovery.state, recovery.recovered_vnd) == ("owed", 800_000)
    assert [s.recovered_vnd for s in history(recovery.id)] == [0, 500_000, 300_000]
    assert len(db_session.scalars(moves).all()) == 2


def test_batching_a_programme_that_stopped_paying_says_how_to_name_another(app, db_session, monkeypatch):
    """A shell beside `up --demo` batches NQ116 (its default), long over: refused, and it said nothing more, where
    `lists build` names the --program to use and the programmes there are."""
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2026-12-05")
    other = create_program()
    result = _run(app, "batch", "--program", "NQ116")
    assert result.exit_code == 2, result.output
    assert "Programme NQ116 stopped paying on 10/09/2022: no new payment can be made." in result.output
    assert f"Dùng --program để chọn chương trình khác ({other.code})." in result.output
    assert f"Use --program to choose another programme ({other.code})." in result.output
    assert not db_session.scalars(select(PaymentBatch)).first()
