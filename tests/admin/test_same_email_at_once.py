"""The same e-mail created twice at the same moment: both requests look, find no such user, and insert; the unique
index lets one through and the other waits for it. The second answers with the form's own error (as if the first
had been there when it looked), never a 500: on the admins' page and on the service the command uses."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import delete, func, or_, select, text

from disburse.auth import service as auth
from disburse.auth.models import AuditLog, User, UserSession
from disburse.extensions import db
from tests.conftest import PASSWORD
from tests.factories import create_user

EMAIL = "cung.luc@bhxh.example.vn"
_SOMEONE_WAITS_FOR_ME = text(
    "SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
)


@pytest.fixture
def committed_admin(app: Any) -> Iterator[tuple[int, str]]:
    """An admin committed for real (the requests below run on connections of their own), and everything the test
    committed removed after it."""
    with app.app_context():
        admin = create_user("admin", password=PASSWORD)
        db.session.commit()
        ids = (admin.id, admin.email)
        db.session.remove()
    try:
        yield ids
    finally:
        with app.app_context():
            made = list(db.session.scalars(select(User.id).where(func.lower(User.email) == EMAIL)))
            users = [ids[0], *made]
            db.session.execute(
                delete(AuditLog).where(
                    or_(
                        AuditLog.actor_id.in_(users),
                        (AuditLog.object_type == "user") & AuditLog.object_id.in_([str(u) for u in users]),
                    )
                )
            )
            db.session.execute(delete(UserSession).where(UserSession.user_id.in_(users)))
            db.session.execute(delete(User).where(User.id.in_(users)))
            db.session.commit()
            db.session.remove()


def _while_a_first_insert_waits(app: Any, admin_id: int, second: Callable[[], Any]) -> Any:
    """Create EMAIL on this connection and keep it uncommitted until ``second``, on a thread, waits for it (10 s at
    most); commit; what ``second`` returned or raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(second())
        except Exception as exc:  # reported below
            outcome.append(exc)

    with app.app_context():
        auth.create_user(EMAIL, "admin", password=None, actor=db.session.get(User, admin_id))
        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 10
        while not db.session.execute(_SOMEONE_WAITS_FOR_ME).scalar_one() and time.monotonic() < deadline:
            time.sleep(0.02)
        db.session.commit()
        db.session.remove()
    thread.join(30)
    assert not thread.is_alive() and len(outcome) == 1
    return outcome[0]


def test_the_same_email_created_twice_at_once_on_the_page_is_the_forms_error(app, committed_admin):
    admin_id, admin_email = committed_admin
    client = app.test_client()
    assert client.post("/login", data={"email": admin_email, "password": PASSWORD}).status_code == 302
    answer = _while_a_first_insert_waits(
        app, admin_id, lambda: client.post("/admin/users/new", data={"email": EMAIL.upper(), "role": "admin"})
    )
    assert not isinstance(answer, Exception), answer
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400, html
    assert f"Đã có người dùng với e-mail {EMAIL.upper()}." in html and "Có lỗi cần sửa" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(func.lower(User.email) == EMAIL)) == 1
        db.session.remove()


def test_the_same_email_created_twice_at_once_by_the_service_is_refused_in_both_languages(app, committed_admin):
    def second() -> Any:
        with app.app_context():
            try:
                auth.create_user(EMAIL, "caseworker", district="017")
            finally:
                db.session.rollback()
                db.session.remove()

    refused = _while_a_first_insert_waits(app, committed_admin[0], second)
    assert isinstance(refused, auth.UserError), refused
    assert (refused.vi, refused.en, refused.field) == (
        f"Đã có người dùng với e-mail {EMAIL}.",
        f"A user with e-mail {EMAIL} already exists.",
        "email",
    )
