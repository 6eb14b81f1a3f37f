"""The admins' health page says whether e-mails to units go out, how, and how the outbox stands, in both languages;
never the SMTP server's user or password."""

from __future__ import annotations

from sqlalchemy import text, update

from disburse.claims.lists import build_lists
from disburse.notifications import service
from disburse.notifications.models import Notification
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_employee, create_employer, create_user, nq116
from tests.notifications.test_notifications import LISTED_ON


def _page(client, db_session, locale: str = "vi") -> str:
    sign_in(client, create_user("admin", password=PASSWORD), locale)
    response = client.get("/admin/health")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_off_in_production_without_smtp(client, db_session, app, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_TRANSPORT", "off")
    assert "Đang tắt: chưa đặt DISBURSE_SMTP_URL" in _page(client, db_session)


def test_the_server_without_its_secrets_and_the_outbox_counts(client, db_session, app, monkeypatch, smtp):
    monkeypatch.setitem(app.config, "DISBURSE_SMTP_URL", "smtp://mailer:s3cr3t@smtp.example.vn:587")
    create_employee(employer_id=create_employer(email="a@congty.example.vn").id)
    build_lists(nq116(), today=LISTED_ON)
    db_session.execute(update(Notification).values(next_attempt_at=text("now() - interval '1 hour'")))
    html = _page(client, db_session, "en")
    assert "Sent through the SMTP server smtp.example.vn:587." in html
    assert "mailer" not in html and "s3cr3t" not in html
    assert "Queued: 1; sent: 0; failed: 0." in html
    assert 'id="notifications-due"' in html
    assert 'id="notifications-failed"' not in html


def test_failed_messages_are_pointed_to_the_command_that_sends_them_again(client, db_session, smtp):
    create_employee(employer_id=create_employer(email="a@congty.example.vn").id)
    smtp.rcpt_replies["a@congty.example.vn"] = ["550 5.1.1 No such user here"]
    build_lists(nq116(), today=LISTED_ON)
    service.deliver_all()
    html = _page(client, db_session, "en")
    assert "failed: 1." in html
    assert "send them again with disburse notifications retry --all-failed." in html


def test_the_file_transport_names_its_folder(client, db_session, app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_TRANSPORT", "file")
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_DIR", str(tmp_path / "mail"))
    assert service.health().where == str(tmp_path / "mail")
    assert f"tệp .eml trong {tmp_path / 'mail'}" in _page(client, db_session)
