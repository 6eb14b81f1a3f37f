"""Names hold no hidden character. "Nguyễn oảB nằV" with a right-to-left override (U+202E) before "oảB" was taken and
showed as "Nguyễn Văn Bảo" in the users list and the audit log. Every control or format character (Unicode Cc, Cf)
but ordinary white space is refused, wherever a user's name or a token's is typed (the admins' pages, the command
line), with the code points named in the page's language; white space is tidied to single spaces."""

from __future__ import annotations

import unicodedata

from flask_babel import refresh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from disburse.admin.forms import EditUserForm, TokenForm
from disburse.auth import service
from disburse.auth.models import User
from disburse.auth.text import hidden_characters, tidy
from disburse.extensions import db
from tests.factories import create_user

#: A hidden character that is not white space (white space is tidied, not refused).
hidden = st.characters(categories=["Cc", "Cf"]).filter(lambda c: c not in "\t\n\x0b\x0c\r\x85")
#: Letters a Vietnamese name is written with.
letters = st.text(st.sampled_from("aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạễệỗộờởỡợừữựỳỹ ABCĐ"), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=letters, character=hidden, after=letters)
def test_every_hidden_character_is_refused_in_a_name_wherever_it_is_typed(app, db_session, before, character, after):
    name = before + character + after
    point = f"U+{ord(character):04X}"
    assert point in hidden_characters(tidy(name))
    # The admins' page (the edit form and the token's name), in both languages.
    for locale, words in (("vi", "Có ký tự ẩn không hợp lệ"), ("en", "It holds hidden characters")):
        with app.test_request_context(
            "/admin/users/1",
            method="POST",
            data={"full_name": name, "role": "supervisor", "name": name},
            headers={"Accept-Language": locale},
        ):
            refresh()  # the locale of this request, not one an earlier request left in the app's context
            form = EditUserForm(meta={"csrf": False})
            form.role.choices = [("supervisor", "supervisor")]
            assert not form.validate()
            assert any(words in error and point in error for error in form.full_name.errors), form.full_name.errors
            token = TokenForm(meta={"csrf": False})
            assert not token.validate() and point in token.name.errors[0]
    # The service every way of making a user goes through (the command line's too): refused, nothing made.
    savepoint = db_session.begin_nested()
    try:
        service.create_user("an.ho@bhxh.example.vn", "supervisor", full_name=name)
    except service.UserError as exc:
        assert exc.field == "full_name" and point in exc.vi and point in exc.en
    else:
        raise AssertionError(f"{name!r} was taken")
    finally:
        savepoint.rollback()


def test_white_space_is_tidied_not_refused(admin_client, admin):
    user = create_user("supervisor", email="khoang.trang@bhxh.example.vn")
    typed = unicodedata.normalize("NFD", "  Nguyễn\tVăn\u00a0\u00a0Bảo\n ")
    assert tidy(typed) == "Nguyễn Văn Bảo"
    made = service.create_user("khoang.trang.2@bhxh.example.vn", "supervisor", full_name=typed)
    assert made.full_name == "Nguyễn Văn Bảo"
    db.session.commit()
    from disburse.admin.service import user_version

    db.session.refresh(user)
    answer = admin_client.post(
        f"/admin/users/{user.id}", data={"seen": user_version(user), "role": "supervisor", "full_name": typed}
    )
    assert answer.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).full_name == "Nguyễn Văn Bảo"


def test_the_reversed_name_is_refused_on_the_page_and_the_command_line(app, admin_client, admin):
    reversed_name = "Nguyễn \u202eoảB nằV"
    answer = admin_client.post(
        "/admin/users/new",
        data={"email": "dao.chieu@bhxh.example.vn", "role": "supervisor", "full_name": reversed_name},
    )
    assert answer.status_code == 400 and "U+202E" in answer.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "dao.chieu@bhxh.example.vn")) is None
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "--email",
            "dao.chieu@bhxh.example.vn",
            "--role",
            "supervisor",
            "--name",
            reversed_name,
        ]
    )
    assert result.exit_code == 2 and "--name: " in result.output and "U+202E" in result.output
    assert db.session.scalar(select(User).where(User.email == "dao.chieu@bhxh.example.vn")) is None


def test_a_name_kept_before_the_check_shows_its_hidden_characters(admin_client, admin):
    """A row written before names were checked (or by hand) reads as what it holds in the users list and the audit
    log, not as the name it imitates."""
    from disburse.auth.models import AuditLog

    user = create_user("supervisor", email="cu.dao.chieu@bhxh.example.vn")
    user.full_name = "Nguyễn \u202eoảB nằV"
    db.session.add(
        AuditLog(
            actor_id=admin.id,
            action="user.update",
            object_type="user",
            object_id=str(user.id),
            data={"email": user.email, "full_name": user.full_name},
        )
    )
    db.session.commit()
    listed = admin_client.get("/admin/users?q=cu.dao.chieu").get_data(as_text=True)
    assert "Nguyễn [U+202E]oảB nằV" in listed and "\u202e" not in listed
    logged = admin_client.get(f"/admin/audit?object_type=user&record={user.id}").get_data(as_text=True)
    assert "Nguyễn [U+202E]oảB nằV" in logged and "\u202e" not in logged
