"""E-mail notifications to units, end to end on real PostgreSQL and a real SMTP server: queued once, delivered
once, retried after a temporary failure, failed for good after a permanent one, resent with the same Message-ID after
a crash between the send and its record."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, text, update

from disburse.background import BEAT_SCHEDULE, TASK_QUEUES, QueueNames
from disburse.claims.lists import build_lists
from disburse.notifications import messages, service
from disburse.notifications.models import Notification
from disburse.notifications.transport import SmtpTransport
from disburse.programs.calendar import add_working_days
from tests.factories import create_claim, create_employee, create_employer, create_salary_fund, create_user, nq116
from tests.notifications.conftest import Mailbox, free_port

LISTED_ON = date(2021, 10, 20)  # a Wednesday
OCT_2021 = date(2021, 10, 1)


def _unit_with_people(n: int = 3, **employer):
    unit = create_employer(**{"email": "ketoan@congty.example.vn", **employer})
    create_salary_fund(unit, OCT_2021, 100_000_000)
    people = [create_employee(employer_id=unit.id) for _ in range(n)]
    return unit, people


def _rows(db_session, kind: str | None = None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db_session.scalars(query))


def _due_now(db_session) -> None:
    """Time passes: every queued row is due (a retry's wait, a dead sender's lease)."""
    db_session.execute(update(Notification).where(Notification.state == "queued").values(next_attempt_at=text("now()")))


def test_the_list_ready_message_is_queued_once_and_delivered_once(db_session, smtp):
    unit, people = _unit_with_people()
    create_user("employer", employer_unit=unit.unit_code, email="giamdoc@congty.example.vn").locale = "en"
    # The same address as the registry's, in another case: told once, in the user's language.
    create_user("employer", employer_unit=unit.unit_code, email="KETOAN@congty.example.vn").locale = "en"
    create_user("employer", employer_unit=unit.unit_code, email="nghiviec@congty.example.vn").active = False
    db_session.flush()

    program = nq116()
    build_lists(program, today=LISTED_ON)
    build_lists(program, today=LISTED_ON)  # nothing new: nothing queued again
    rows = _rows(db_session)
    assert sorted(r.recipient.lower() for r in rows) == ["giamdoc@congty.example.vn", "ketoan@congty.example.vn"]
    assert {r.kind for r in rows} == {"form_01_ready"}
    assert {r.key for r in rows} == {f"form_01_ready/NQ116/{unit.unit_code}/2021-10-20"}
    assert all(r.state == "queued" and r.subject is None for r in rows)

    first = service.deliver_all()
    second = service.deliver_all()
    assert (first.sent, second.taken) == (2, 0)
    assert len(smtp.received) == 2
    due = add_working_days(LISTED_ON, program.employer_review_wd)
    by_address = {m["To"].lower(): m for m in smtp.received}
    for address, message in by_address.items():
        body = message.get_content()
        assert f"{due:%d/%m/%Y}" in body and f"{due:%d/%m/%Y}" in message["Subject"]
        assert f"https://chitra.example.vn/employers/{unit.unit_code}/form-02" in body
        assert "Kính gửi" in body and "Mẫu số 02" in body  # Vietnamese
        assert "To " in body and "Form 02" in body  # and English
        assert "3 người" in body and "3 people" in body
        assert message["From"] == "BHXH <no-reply@bhxh.example.vn>"
        assert message["Message-ID"] == service.message_id(rows[0].key, address, "no-reply@bhxh.example.vn")
        for person in people:  # a count, never a person
            for fact in (person.full_name, person.si_code, person.national_id, person.bank_account):
                assert not fact or fact not in body
    assert by_address["giamdoc@congty.example.vn"].get_content().startswith("To ")
    assert by_address["ketoan@congty.example.vn"].get_content().startswith("To ")  # the user's choice wins
    for row in _rows(db_session):
        assert row.state == "sent" and row.attempts == 1 and row.sent_at is not None
        assert row.body is not None and "Kính gửi" in row.body  # kept as sent


def test_a_unit_without_any_address_gets_no_row_and_others_are_not_held_up(db_session, smtp):
    silent = create_employer(email=None)
    create_salary_fund(silent, OCT_2021, 100_000_000)
    create_employee(employer_id=silent.id)
    _unit_with_people(1)
    build_lists(nq116(), today=LISTED_ON)
    assert [r.recipient for r in _rows(db_session)] == ["ketoan@congty.example.vn"]


def test_the_form_02_reminder_goes_once_per_unit_and_deadline_within_its_working_days(db_session, smtp, app):
    program = nq116()
    due = date(2021, 11, 3)  # a Wednesday
    today = add_working_days(due, -2)  # Monday
    near, _ = _unit_with_people(0)
    far, _ = _unit_with_people(0, name="Công ty Xa")
    done, _ = _unit_with_people(0, name="Công ty Đã gửi")
    people = []
    for unit, due_on in ((near, due), (far, add_working_days(due, 1))):
        for _ in range(2):
            people.append(create_employee(employer_id=unit.id))
            create_claim("listed", employee=people[-1], review_due_on=due_on)
    create_claim("verifying", employee=create_employee(employer_id=done.id), review_due_on=due)

    assert service.queue_reminders(program, today) == 1
    assert service.queue_reminders(program, today) == 0  # the beat again: nothing new
    assert service.queue_reminders(program, add_working_days(today, 1)) == 1  # the far one's turn; the near one's done
    rows = _rows(db_session, "form_02_reminder")
    assert [(r.employer_id, r.params["due_on"]) for r in rows] == [
        (near.id, due.isoformat()),
        (far.id, add_working_days(due, 1).isoformat()),
    ]
    service.deliver_all()
    service.deliver_all()
    assert len(smtp.received) == 2
    body = smtp.received[0].get_content()
    assert "03/11/2021" in body and "2 người" in body and "2 people" in body and "Nhắc" in smtp.received[0]["Subject"]
    _no_personal_data(smtp.received, people)


def _no_personal_data(received, people) -> None:
    for message in received:
        said = message["Subject"] + message.get_content()
        for person in people:
            for fact in (person.full_name, person.si_code, person.national_id, person.bank_account, person.phone):
                assert not fact or fact not in said, fact


def test_the_details_needed_digest_is_daily_per_unit_while_form_03_is_taken(db_session, smtp):
    program = nq116()
    unit, _ = _unit_with_people(0)
    people = [create_employee(employer_id=unit.id) for _ in range(2)]
    for person in people:
        create_claim("awaiting_payment_details", employee=person)
    create_claim("approved", employee=create_employee(employer_id=unit.id))
    quiet, _ = _unit_with_people(0, name="Công ty Không chờ")
    create_claim("approved", employee=create_employee(employer_id=quiet.id))
    day = program.adjustment_deadline - timedelta(days=3)

    assert service.queue_details_needed(program, day) == 1
    assert service.queue_details_needed(program, day) == 0  # the same day again: nothing
    assert service.queue_details_needed(program, day + timedelta(days=1)) == 1  # the next day's digest
    assert service.queue_details_needed(program, program.adjustment_deadline + timedelta(days=1)) == 0  # closed
    (first, _second) = _rows(db_session, "details_needed")
    assert first.key == f"details_needed/NQ116/{unit.unit_code}/{day.isoformat()}"
    service.deliver_all()
    assert len(smtp.received) == 2
    body = smtp.received[0].get_content()
    assert f"https://chitra.example.vn/employers/{unit.unit_code}/form-03" in body
    assert "2 người" in body and "2 employees" in body and "Mẫu số 03" in body and "Form 03" in body
    assert f"{program.adjustment_deadline:%d/%m/%Y}" in body
    _no_personal_data(smtp.received, people)


def test_a_build_rolled_back_tells_nobody(db_session, smtp):
    _unit_with_people(2)
    with db_session.begin_nested() as savepoint:
        build_lists(nq116(), today=LISTED_ON)
        assert len(_rows(db_session)) == 1
        savepoint.rollback()
    assert _rows(db_session) == []
    assert service.deliver_all().taken == 0 and smtp.received == []


def test_a_temporary_refusal_is_retried_later_then_sent(db_session, smtp, app, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_RETRY_BASE_S", 120)
    _unit_with_people(1)
    smtp.rcpt_replies["ketoan@congty.example.vn"] = ["451 4.3.0 Mailbox busy, try later"]
    build_lists(nq116(), today=LISTED_ON)

    before = datetime.now(UTC)
    assert service.deliver_all().retrying == 1
    (row,) = _rows(db_session)
    assert row.state == "queued" and row.attempts == 1 and "451" in (row.last_error or "")
    assert row.next_attempt_at >= before + timedelta(seconds=119)
    assert service.deliver_all().taken == 0  # not yet due

    _due_now(db_session)
    assert service.deliver_all().sent == 1
    db_session.refresh(row)
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, None)
    assert len(smtp.received) == 1


def test_the_wait_grows_and_the_attempts_end(db_session, smtp, app, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_RETRY_BASE_S", 60)
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_RETRY_CAP_S", 150)
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_MAX_ATTEMPTS", 3)
    assert [service.retry_wait(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 150, 150]
    _unit_with_people(1)
    smtp.rcpt_replies["ketoan@congty.example.vn"] = ["421 4.7.0 Try again later"] * 5
    build_lists(nq116(), today=LISTED_ON)
    for _ in range(3):
        _due_now(db_session)
        service.deliver_all()
    (row,) = _rows(db_session)
    assert (row.state, row.attempts) == ("failed", 3) and "421" in (row.last_error or "")
    assert smtp.received == []


def test_a_permanent_refusal_is_recorded_and_never_retried(db_session, smtp):
    _unit_with_people(1)
    smtp.rcpt_replies["ketoan@congty.example.vn"] = ["550 5.1.1 No such user here"]
    build_lists(nq116(), today=LISTED_ON)
    assert service.deliver_all().failed == 1
    (row,) = _rows(db_session)
    assert row.state == "failed" and row.attempts == 1 and "550 5.1.1 No such user here" in (row.last_error or "")
    _due_now(db_session)
    assert service.deliver_all().taken == 0
    assert smtp.received == []


def test_a_crash_between_the_send_and_its_record_resends_with_the_same_message_id(db_session, smtp, monkeypatch):
    _unit_with_people(1)
    build_lists(nq116(), today=LISTED_ON)
    real_send = SmtpTransport.send

    def send_then_die(self, message):
        real_send(self, message)
        raise SystemExit("the worker was killed after the server took the message")

    monkeypatch.setattr(SmtpTransport, "send", send_then_die)
    with pytest.raises(SystemExit):
        service.deliver_all()
    db_session.rollback()  # what the dead worker's connection would have done
    (row,) = _rows(db_session)
    assert row.state == "queued" and row.attempts == 0
    assert row.next_attempt_at > datetime.now(UTC) + timedelta(minutes=9)  # its lease: no other sender takes it yet
    assert service.deliver_all().taken == 0

    monkeypatch.setattr(SmtpTransport, "send", real_send)
    _due_now(db_session)  # the lease ran out
    assert service.deliver_all().sent == 1
    assert len(smtp.received) == 2
    assert smtp.received[0]["Message-ID"] == smtp.received[1]["Message-ID"]
    assert service.deliver_all().taken == 0


def test_a_server_that_cannot_be_reached_leaves_every_message_queued(db_session, app, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")  # nobody listens
    for n in range(3):
        _unit_with_people(1, name=f"Công ty {n}", email=f"u{n}@congty.example.vn")
    build_lists(nq116(), today=LISTED_ON)
    done = service.deliver_all()
    assert (done.retrying, done.handed_back, done.sent) == (1, 2, 0)
    rows = _rows(db_session)
    assert {r.state for r in rows} == {"queued"} and sorted(r.attempts for r in rows) == [0, 0, 1]
    assert "cannot reach" in next(r.last_error for r in rows if r.attempts)


def test_a_password_never_goes_to_a_server_without_starttls(db_session, app, smtp_server, monkeypatch):
    """The test's server offers no STARTTLS: with a user and password in the URL nothing is said to it (no AUTH in
    clear text), the message waits and the reason is recorded."""
    mailbox, port = smtp_server
    monkeypatch.setitem(app.config, "DISBURSE_SMTP_URL", f"smtp://mailer:s%40cret@127.0.0.1:{port}")
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_TRANSPORT", "smtp")
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_FROM", "BHXH <no-reply@bhxh.example.vn>")
    monkeypatch.setitem(app.config, "DISBURSE_BASE_URL", "https://chitra.example.vn")
    _unit_with_people(1, email="nhansu@congty.example.vn")
    build_lists(nq116(), today=LISTED_ON)
    done = service.deliver_all()
    assert done.sent == 0 and mailbox.received == []
    (row,) = _rows(db_session)
    assert row.state == "queued" and "does not offer STARTTLS" in (row.last_error or "")


def test_without_smtp_development_writes_eml_files(db_session, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_TRANSPORT", "file")
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_DIR", str(tmp_path / "mail"))
    unit, _ = _unit_with_people(2)
    build_lists(nq116(), today=LISTED_ON)
    assert service.deliver_all().sent == 1
    service.deliver_all()
    (file,) = (tmp_path / "mail").iterdir()
    assert file.suffix == ".eml"
    message = message_from_bytes(file.read_bytes(), policy=policy.default)
    assert message["To"] == "ketoan@congty.example.vn"
    body = message.get_content()
    assert unit.unit_code in body and "2 người" in body and "2 people" in body


def test_off_in_production_without_smtp_nothing_is_queued(db_session, app, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_TRANSPORT", "off")
    _unit_with_people(1)
    build_lists(nq116(), today=LISTED_ON)
    assert _rows(db_session) == []
    assert service.deliver_all().taken == 0


def test_a_row_that_cannot_be_said_fails_alone_and_the_others_are_sent(db_session, smtp):
    for n in range(2):
        _unit_with_people(1, name=f"Công ty {n}", email=f"u{n}@congty.example.vn")
    build_lists(nq116(), today=LISTED_ON)
    first = _rows(db_session)[0]
    first.params = {**first.params, "due_on": None}
    db_session.flush()
    done = service.deliver_all()
    assert (done.failed, done.sent) == (1, 1)
    db_session.refresh(first)
    assert first.state == "failed" and "cannot render" in (first.last_error or "")


def test_the_tasks_are_routed_to_the_notifications_queue_and_beat_sends_every_minute():
    assert TASK_QUEUES["notifications.send"] == QueueNames.NOTIFICATIONS
    assert TASK_QUEUES["notifications.reminders"] == QueueNames.NOTIFICATIONS
    assert TASK_QUEUES["notifications.digests"] == QueueNames.NOTIFICATIONS
    assert BEAT_SCHEDULE["notifications-send"] == {"task": "notifications.send", "schedule": 60.0}


def test_an_address_the_server_cannot_take_fails_alone(db_session, app, smtp, monkeypatch):
    plain = Mailbox()
    port = free_port()
    server = Controller(plain, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)  # ASCII addresses only
    server.start()
    try:
        monkeypatch.setitem(app.config, "DISBURSE_SMTP_URL", f"smtp://127.0.0.1:{port}")
        _unit_with_people(1, email="kếtoán@congty.example.vn")
        _unit_with_people(1, name="Công ty Khác", email="u2@congty.example.vn")
        build_lists(nq116(), today=LISTED_ON)
        done = service.deliver_all()
    finally:
        server.stop()
    assert (done.failed, done.sent) == (1, 1)
    failed = next(r for r in _rows(db_session) if r.state == "failed")
    assert failed.recipient.startswith("kếtoán") and "cannot take" in (failed.last_error or "")
    assert [m["To"] for m in plain.received] == ["u2@congty.example.vn"]


def test_counts_are_grouped_as_each_language_writes_them():
    params = {
        "unit_code": "DN01",
        "unit_name": "Công ty A",
        "program_code": "NQ116",
        "people": 12345,
        "due_on": "2021-11-03",
        "path": "/employers/DN01/form-02",
    }
    subject, body = messages.render("form_01_ready", params, "vi", "https://chitra.example.vn/")
    assert "12.345 người" in body and "12,345 people" in body and "03/11/2021" in subject
    assert body.index("Kính gửi") < body.index("To Công ty A")
    assert "https://chitra.example.vn/employers/DN01/form-02" in body
    _subject, english_first = messages.render("form_01_ready", params, "en", "https://chitra.example.vn")
    assert english_first.index("To Công ty A") < english_first.index("Kính gửi")


def test_a_failed_message_is_sent_again_to_the_corrected_address_and_once_to_each(db_session, smtp):
    """After a 550 the office corrects the unit's e-mail in the registry: ``retry_failed`` sends the same message (its
    key and facts) to the new address; the old address, no longer the unit's, stays failed. Asked twice, it adds
    nothing: each address is still told once."""
    unit, _ = _unit_with_people(2)
    smtp.rcpt_replies["ketoan@congty.example.vn"] = ["550 5.1.1 No such user here"]
    build_lists(nq116(), today=LISTED_ON)
    service.deliver_all()
    (failed,) = _rows(db_session)
    unit.email = "Ke.Toan@congty.example.vn "
    db_session.flush()

    done = service.retry_failed(None, LISTED_ON)
    assert (done.chosen, done.again, done.added) == (1, 0, 1)
    assert service.retry_failed(None, LISTED_ON) == service.Retried(1, 0, 0)
    service.deliver_all()
    old, new = _rows(db_session)
    assert (old.id, old.state) == (failed.id, "failed")
    assert (new.key, new.params, new.recipient, new.state) == (
        failed.key,
        failed.params,
        "Ke.Toan@congty.example.vn",
        "sent",
    )
    assert [message["To"] for message in smtp.received] == ["Ke.Toan@congty.example.vn"]


def test_a_failed_message_to_an_address_still_the_units_is_tried_afresh(db_session, smtp, app, monkeypatch):
    """A mailbox that was full (or a server down for days) for all the attempts: once fixed, the same row is queued
    again with its attempts counted anew, and sent."""
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_MAX_ATTEMPTS", 1)
    _unit_with_people(1)
    smtp.rcpt_replies["ketoan@congty.example.vn"] = ["452 4.2.2 Mailbox full"]
    build_lists(nq116(), today=LISTED_ON)
    service.deliver_all()
    (row,) = _rows(db_session)
    assert row.state == "failed"

    assert service.retry_failed([row.id], LISTED_ON) == service.Retried(1, 1, 0)
    db_session.refresh(row)
    assert (row.state, row.attempts, row.last_error) == ("queued", 0, None)
    assert service.deliver_all().sent == 1
    db_session.refresh(row)
    assert row.state == "sent" and len(smtp.received) == 1


def test_a_failed_message_whose_deadline_has_passed_is_not_sent_again(db_session, smtp):
    """The list-ready message names the Form 02 deadline: once it has passed the message would tell of a deadline
    gone (the overdue sweep has moved those people), so it stays failed; other chosen ids are not touched."""
    _unit_with_people(1)
    other = create_employer(email="other@congty.example.vn")
    create_employee(employer_id=other.id)
    smtp.rcpt_replies["ketoan@congty.example.vn"] = ["550 5.1.1 No such user here"]
    smtp.rcpt_replies["other@congty.example.vn"] = ["550 5.1.1 No such user here"]
    build_lists(nq116(), today=LISTED_ON)
    service.deliver_all()
    first, second = _rows(db_session)
    due_on = date.fromisoformat(first.params["due_on"])

    gone = service.PassedOver(first.id, "failed", due_on)  # said back, with its deadline
    assert service.retry_failed([first.id], due_on + timedelta(days=1)) == service.Retried(0, 0, 0, (gone,))
    assert service.retry_failed([first.id], due_on) == service.Retried(1, 1, 0)
    db_session.refresh(second)
    assert second.state == "failed"
