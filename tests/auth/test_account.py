"""The account page: who the user is and what they may see; changing the password ends their other sessions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from disburse.auth.models import AuditLog
from disburse.auth.service import verify_password
from disburse.extensions import db
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_employer, create_user

NEW = "mat-khau-moi-that-dai"


@pytest.fixture
def user(db_session):
    unit = create_employer(name="Công ty TNHH Tài Khoản")
    user = create_user("employer", employer_unit=unit.unit_code, password=PASSWORD)
    db.session.commit()  # kept (in the test's transaction) when a view rolls back
    return user


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_account_page_in_both_languages(client, user):
    sign_in(client, user)
    page = _text(client.get("/account"))
    assert "<title>Tài khoản · disburse</title>" in page
    assert user.email in page and "Đơn vị sử dụng lao động" in page and "Công ty TNHH Tài Khoản" in page
    assert '<label for="current_password">Mật khẩu hiện tại</label>' in page
    assert 'href="/account"' in page  # the header links to it
    client.post("/language/en")
    page = _text(client.get("/account"))
    assert "<title>Account · disburse</title>" in page and "Change password" in page
    assert "At least 10 characters." in page


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(app, client, user):
    other = app.test_client()
    sign_in(client, user)
    sign_in(other, user)
    response = client.post(
        "/account", data={"current_password": PASSWORD, "new_password": NEW, "confirm_password": NEW}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    page = _text(client.get("/account"))
    assert "Đã đổi mật khẩu. Các phiên đăng nhập ở trình duyệt khác đã kết thúc." in page
    assert client.get("/account").status_code == 200  # this browser stays signed in
    assert other.get("/account").status_code == 302  # the other one is sent to sign in
    db.session.refresh(user)
    assert verify_password(user, NEW) and not verify_password(user, PASSWORD)
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "user.set_password")).all()
    assert [(a.actor_id, a.object_id) for a in audit] == [(user.id, str(user.id))]


@pytest.mark.parametrize(
    ("data", "field", "vi", "en"),
    [
        ({}, "current_password", "Hãy nhập mật khẩu hiện tại.", "Enter your current password."),
        (
            {"current_password": "sai-mat-khau-roi", "new_password": NEW, "confirm_password": NEW},
            "current_password",
            "Mật khẩu hiện tại không đúng.",
            "The current password is not right.",
        ),
        (
            {"current_password": PASSWORD, "new_password": "ngan", "confirm_password": "ngan"},
            "new_password",
            "Mật khẩu mới cần từ 10 đến 1024 ký tự.",
            "The new password needs 10 to 1024 characters.",
        ),
        (
            {"current_password": PASSWORD, "new_password": NEW, "confirm_password": NEW + "x"},
            "confirm_password",
            "Hai lần nhập mật khẩu mới không giống nhau.",
            "The two new passwords are not the same.",
        ),
    ],
)
def test_bad_input_says_what_to_fix_in_both_languages(client, user, data, field, vi, en):
    sign_in(client, user)
    for locale, text in (("vi", vi), ("en", en)):
        client.post(f"/language/{locale}")
        response = client.post("/account", data=data)
        page = _text(response)
        assert response.status_code == 400
        assert f'<a href="#{field}">{text}</a>' in page  # the error summary links to the field
        prefix = "Lỗi:" if locale == "vi" else "Error:"  # read before the message, not shown
        assert (
            f'<p class="error-message" id="{field}-error"><span class="visually-hidden">{prefix}</span> {text}</p>'
            in page
        )
        assert ("<title>Lỗi: Tài khoản" if locale == "vi" else "<title>Error: Account") in page
    db.session.refresh(user)
    assert verify_password(user, PASSWORD)


def test_signed_out_the_account_page_asks_tosign_in(client, db_session):
    response = client.get("/account")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_guessing_the_current_password_is_slowed_down(client, user, app):
    sign_in(client, user)
    wrong = {"current_password": "sai-mat-khau-roi", "new_password": NEW, "confirm_password": NEW}
    limit = int(app.config["LIMIT_SIGN_IN_PER_ACCOUNT"].split()[0])
    statuses = [client.post("/account", data=wrong).status_code for _ in range(limit + 1)]
    assert statuses == [400] * limit + [429]


@pytest.mark.parametrize("new", ["\x00" * 12, "\x01" * 12, "mat-khau\tmoi-1", "mat-khau\x1b[2Jmoi"])
def test_a_password_with_control_characters_is_refused_on_the_page_and_in_the_service(client, user, new):
    """No sign-in form can type a NUL or an escape: such a password locked the account for good. Refused on the page
    (the form again, saying why) and by the service (the operators' commands)."""
    from disburse.auth.service import UserError, set_password

    sign_in(client, user)
    answer = client.post("/account", data={"current_password": PASSWORD, "new_password": new, "confirm_password": new})
    assert answer.status_code == 400
    assert "Mật khẩu không được có ký tự điều khiển" in _text(answer)
    db.session.refresh(user)
    assert verify_password(user, PASSWORD) and not verify_password(user, new)
    with pytest.raises(UserError):
        set_password(user, new)
