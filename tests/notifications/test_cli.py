"""``disburse notifications list|send``: the outbox for operators, in both languages."""

from __future__ import annotations

from sqlalchemy import select

from disburse.claims.lists import build_lists
from disburse.notifications.models import Notification
from tests.factories import create_employee, create_employer, nq116
from tests.notifications.test_notifications import LISTED_ON


def test_send_then_list(app, db_session, smtp):
    unit = create_employer(email="ketoan@congty.example.vn")
    create_employee(employer_id=unit.id)
    build_lists(nq116(), today=LISTED_ON)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["notifications", "list"])
    assert listed.exit_code == 0, listed.output
    assert "Chờ gửi: 1; đã gửi: 0; thất bại: 0 (smtp). / Queued: 1; sent: 0; failed: 0 (smtp)." in listed.output
    assert "ketoan@congty.example.vn" in listed.output and "form_01_ready" in listed.output
    # The table headed in Vietnamese, then in English (the English line alone was printed).
    vietnamese, english = listed.output.splitlines()[1:3]
    assert vietnamese.split()[:3] == ["Số", "Trạng", "thái"] and "Lỗi gần nhất" in vietnamese, listed.output
    assert english.split()[:3] == ["id", "state", "attempts"] and "last error" in english, listed.output

    sent = runner.invoke(args=["notifications", "send"])
    assert sent.exit_code == 0, sent.output
    assert "Đã gửi 1;" in sent.output and "Sent 1;" in sent.output
    assert len(smtp.received) == 1

    failed_only = runner.invoke(args=["notifications", "list", "--state", "failed"])
    assert "Queued: 0; sent: 1; failed: 0" in failed_only.output
    assert "ketoan@congty.example.vn" not in failed_only.output


def test_send_when_off_says_so(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_TRANSPORT", "off")
    result = app.test_cli_runner().invoke(args=["notifications", "send"])
    assert result.exit_code == 0
    assert "DISBURSE_SMTP_URL" in result.output and "nothing sent" in result.output


def test_retry_sends_a_failed_message_again_and_says_what_it_did(app, db_session, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-10-20")
    unit = create_employer(email="ketoan@congty.example.vn")
    create_employee(employer_id=unit.id)
    smtp.rcpt_replies["ketoan@congty.example.vn"] = ["550 5.1.1 No such user here"]
    build_lists(nq116(), today=LISTED_ON)
    runner = app.test_cli_runner()
    runner.invoke(args=["notifications", "send"])
    unit.email = "ketoan.moi@congty.example.vn"
    db_session.flush()

    neither = runner.invoke(args=["notifications", "retry"])
    assert neither.exit_code == 2 and "--all-failed" in neither.output
    result = runner.invoke(args=["notifications", "retry", "--all-failed"])
    assert result.exit_code == 0, result.output
    assert "Gửi lại 0 thư; thêm 1 thư đến địa chỉ mới; 1 thư để nguyên" in result.output
    assert "Queued again 0; added 1 to new addresses; 1 left failed" in result.output
    runner.invoke(args=["notifications", "send"])
    assert [message["To"] for message in smtp.received] == ["ketoan.moi@congty.example.vn"]

    # Each id not retried is named with why: "1 ids are not failed messages within their deadline" named none.
    sent_id = db_session.scalar(select(Notification.id).where(Notification.state == "sent"))
    failed_id = db_session.scalar(select(Notification.id).where(Notification.state == "failed"))
    unknown = runner.invoke(args=["notifications", "retry", "999999", str(sent_id)])
    assert unknown.exit_code == 0, unknown.output
    assert "Không có thư số 999999: bỏ qua. / There is no message 999999: skipped." in unknown.output
    assert f"Thư {sent_id} đang ở trạng thái sent, không phải failed: bỏ qua." in unknown.output
    assert f"Message {sent_id} is sent, not failed: skipped." in unknown.output
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", "2021-12-31")  # the Form 02 deadline it tells of is gone
    gone = runner.invoke(args=["notifications", "retry", str(failed_id)])
    assert gone.exit_code == 0, gone.output
    assert f"Thư {failed_id} báo hạn " in gone.output and ", đã qua: để nguyên." in gone.output
    assert f"Message {failed_id} tells of the deadline " in gone.output and ", gone: left failed." in gone.output
