"""A password an admin gives (a new user's, or one given again) signs in only to choose one's own: every other page
leads to the account page until then; the API (tokens) is not concerned."""

from __future__ import annotations

import re
import unicodedata

import pytest

from disburse.auth.models import User
from disburse.auth.service import create_token, get_user_by_email, verify_password
from disburse.extensions import db
from disburse.jobs.service import create_job
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user


def _given_password(admin_client, user: User) -> str:
    answer = admin_client.post(f"/admin/users/{user.id}/password", data={"confirmed": "1"})
    return re.search(r'<code id="one-time-password">([^<]+)</code>', answer.get_data(as_text=True)).group(1)


def test_a_given_password_leads_to_the_account_page_until_the_user_chooses_their_own(app, admin_client, admin):
    from tests.conftest import FreshRequestClient

    user = create_user("caseworker", password=PASSWORD)
    given = _given_password(admin_client, user)
    app.test_client_class = FreshRequestClient
    theirs = app.test_client()
    assert theirs.post("/login", data={"email": user.email, "password": given}).status_code == 302
    for path in ("/", "/caseworker/queue", "/dashboard/"):
        answer = theirs.get(path)
        assert (answer.status_code, answer.headers["Location"]) == (302, "/account"), path
    page = theirs.get("/account").get_data(as_text=True)
    assert 'id="temporary-password"' in page and "Hãy đặt mật khẩu của riêng bạn trước khi tiếp tục." in page
    # Nor the API with the session's cookie (it read and wrote claims); with a token, the API is not concerned.
    for method, path in (("get", "/api/v1/claims"), ("post", "/api/v1/claims/1/contacts")):
        answer = getattr(theirs, method)(path, json={}, headers={"Accept-Language": "en"})
        assert answer.status_code == 403 and answer.json["error"] == "password_temporary", (path, answer.json)
        assert "Choose your own password" in answer.json["message"]
    token = create_token(db.session.get(User, user.id))
    job = create_job("notices.batch", {"district": user.district_code}, created_by=user.id)
    db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/claims", headers=bearer).status_code == 200
    # Nor off the API: the job an API call started is followed at /jobs/<id>.json "with the same token".
    followed = app.test_client().get(f"/jobs/{job.id}.json", headers=bearer)
    assert followed.status_code == 200 and followed.json["state"] == "queued"
    # A token named beside the session's cookie: the request is the token's alone, never the cookie's.
    junk = theirs.get(f"/jobs/{job.id}.json", headers={"Authorization": "Bearer dsb_nothing"})
    assert junk.status_code == 302 and junk.headers["Location"].startswith("/login"), junk.headers.get("Location")

    same = {"current_password": given, "new_password": given, "confirm_password": given}
    refused = theirs.post("/account", data=same)
    assert refused.status_code == 400 and "Hãy chọn một mật khẩu khác mật khẩu được cấp." in refused.get_data(
        as_text=True
    )
    own = "mật khẩu của riêng tôi 7"
    chosen = theirs.post("/account", data={"current_password": given, "new_password": own, "confirm_password": own})
    assert chosen.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, user.id).password_temporary
    assert theirs.get("/caseworker/queue").status_code == 200
    assert 'id="temporary-password"' not in theirs.get("/account").get_data(as_text=True)


def test_a_new_users_password_is_given_too(admin_client, admin):
    answer = admin_client.post(
        "/admin/users/new", data={"email": "moi.tao@bhxh.example.vn", "role": "supervisor", "full_name": "Mới Tạo"}
    )
    assert answer.status_code == 200
    user = get_user_by_email("moi.tao@bhxh.example.vn")
    assert user is not None and user.password_temporary


def test_a_password_set_by_the_user_or_an_operator_is_their_own(client, db_session):
    user = create_user("supervisor", password=PASSWORD)
    assert not user.password_temporary
    sign_in(client, user)
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.parametrize("typed", ["NFC", "NFD"])
def test_an_e_mail_typed_decomposed_is_the_same_account(admin_client, admin, typed):
    """A new address is in ASCII (letters with diacritics are a Vietnamese keyboard left in Telex, and few mail systems
    take them: tests/admin/test_email_forms.py), refused alike composed or decomposed; an account kept before with
    one is found however it is typed."""
    email = unicodedata.normalize(typed, "người.dùng@bhxh.example.vn")
    first = admin_client.post("/admin/users/new", data={"email": email, "role": "supervisor", "full_name": "A"})
    assert first.status_code == 400 and "E-mail chỉ được có chữ cái không dấu" in first.get_data(as_text=True)
    kept = create_user("supervisor", email="nguoi.dung@bhxh.example.vn")
    kept.email = unicodedata.normalize("NFC", "người.dùng@bhxh.example.vn")  # as an account made before
    db.session.flush()
    found = get_user_by_email(unicodedata.normalize("NFD", email.upper()))
    assert found is not None and found.id == kept.id
    assert not verify_password(found, PASSWORD)


def test_a_password_typed_decomposed_is_the_same_password(client, db_session):
    from disburse.auth.service import hash_password

    typed = "mật khẩu mới số 1"
    user = create_user("supervisor", password=unicodedata.normalize("NFC", typed))
    for form in ("NFC", "NFD"):
        assert verify_password(user, unicodedata.normalize(form, typed)), form
    assert not verify_password(user, "mat khau moi so 1")
    # One set before passwords were hashed composed (its hash is of the decomposed text) still signs in.
    user.password_hash = _hasher_of_text(unicodedata.normalize("NFD", typed))
    assert verify_password(user, unicodedata.normalize("NFD", typed))
    # Set decomposed now (the command line reads what the terminal sends): hashed composed, typed either way.
    user.password_hash = hash_password(unicodedata.normalize("NFD", typed))
    assert verify_password(user, unicodedata.normalize("NFC", typed))


def _hasher_of_text(text: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(text)


def test_the_users_list_says_who_has_not_chosen_a_password_and_who_uses_tokens_only(admin_client, admin):
    """The list said "Hoạt động" of an account whose one-time password was never replaced, and of an API-only one:
    an admin could not tell who still had to sign in, or which accounts were integrations'."""
    waiting = create_user("caseworker", password=PASSWORD, email="cho.dat.mat.khau@bhxh.example.vn")
    _given_password(admin_client, waiting)
    tokens_only = create_user("supervisor", email="chi.token@bhxh.example.vn")
    assert tokens_only.password_hash is None
    own = create_user("caseworker", password=PASSWORD, email="da.co.mat.khau@bhxh.example.vn")
    page = admin_client.get("/admin/users?q=bhxh.example.vn").get_data(as_text=True)

    def status(user: User) -> str:
        row = re.search(rf"<tr>(?:(?!</tr>).)*{re.escape(user.email)}(?:(?!</tr>).)*</tr>", page, re.S)
        assert row is not None, user.email
        return re.sub(r"<[^>]+>", " ", re.findall(r"<td>(.*?)</td>", row.group(0), re.S)[-1]).split()

    assert status(waiting) == ["Hoạt", "động", "Chưa", "đặt", "mật", "khẩu", "riêng"]
    assert status(tokens_only) == ["Hoạt", "động", "Chỉ", "dùng", "token", "API"]
    assert status(own) == ["Hoạt", "động"]
