"""API tokens on the admins' user page: listed (never the token itself), created and shown once, revoked after
asking; each change audited under the admin's name; the token made works on the API and the revoked one does not."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from disburse.auth.models import ApiToken, AuditLog
from disburse.auth.service import create_token
from disburse.extensions import db
from tests.admin.conftest import PASSWORD
from tests.factories import create_user

CONFIRMED = {"confirmed": "1"}


def _audit(action: str, token_id: int) -> list[AuditLog]:
    return list(
        db.session.scalars(select(AuditLog).where(AuditLog.action == action, AuditLog.object_id == str(token_id)))
    )


def test_an_admin_creates_a_token_shown_once_that_works_and_is_audited_as_theirs(admin_client, admin, app):
    integration = create_user("supervisor", province="01")
    page = admin_client.get(f"/admin/users/{integration.id}").get_data(as_text=True)
    assert "Người dùng này chưa có token API nào." in page and "hết hạn sau 90 ngày" in page

    answer = admin_client.post(f"/admin/users/{integration.id}/tokens", data={"name": "Cổng dữ liệu tỉnh"})

    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    token = re.search(r'<code id="api-token">(dsb_[^<]+)</code>', html).group(1)
    assert "Đã tạo token “Cổng dữ liệu tỉnh” cho" in html
    [row] = db.session.scalars(select(ApiToken).where(ApiToken.user_id == integration.id)).all()
    assert row.name == "Cổng dữ liệu tỉnh" and token not in (row.token_hash, row.prefix)
    [entry] = _audit("token.create", row.id)
    assert entry.actor_id == admin.id and entry.data == {"user_id": integration.id, "prefix": row.prefix}
    health = app.test_client().get("/api/v1/progress", headers={"Authorization": f"Bearer {token}"})
    assert health.status_code == 200
    listed = admin_client.get(f"/admin/users/{integration.id}").get_data(as_text=True)
    assert f"<code>{row.prefix}…</code>" in listed and "Cổng dữ liệu tỉnh" in listed and token not in listed
    assert "Chưa dùng" not in listed  # it has been used by the call above


def test_revoking_asks_first_then_ends_the_token_at_once(admin_client, admin, app):
    integration = create_user("caseworker")
    token = create_token(integration, "Tổng đài")
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == integration.id))
    url = f"/admin/users/{integration.id}/tokens/{row.id}/revoke"

    asked = admin_client.post(url)
    assert asked.status_code == 200 and "Thu hồi token" in asked.get_data(as_text=True)
    assert "nhận lỗi 401" in asked.get_data(as_text=True)
    db.session.refresh(row)
    assert row.revoked_at is None  # asked, nothing done yet

    done = admin_client.post(url, data=CONFIRMED)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/admin/users/{integration.id}#tokens")
    db.session.refresh(row)
    assert row.revoked_at is not None
    [entry] = _audit("token.revoke", row.id)
    assert entry.actor_id == admin.id
    answer = app.test_client().get("/api/v1/progress", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    page = admin_client.get(f"/admin/users/{integration.id}").get_data(as_text=True)
    assert "Đã thu hồi" in page and url not in page  # no button for a token that no longer works
    again = admin_client.post(url, data=CONFIRMED, follow_redirects=True).get_data(as_text=True)
    assert "đã không dùng được từ trước; không có gì thay đổi." in again
    assert len(_audit("token.revoke", row.id)) == 1


def test_a_token_of_another_user_or_none_is_not_found_and_bad_input_changes_nothing(admin_client, admin):
    one, other = create_user("caseworker"), create_user("caseworker")
    create_token(other)
    theirs = db.session.scalar(select(ApiToken).where(ApiToken.user_id == other.id))
    assert admin_client.post(f"/admin/users/{one.id}/tokens/{theirs.id}/revoke", data=CONFIRMED).status_code == 404
    assert admin_client.post(f"/admin/users/{one.id}/tokens/999999/revoke", data=CONFIRMED).status_code == 404
    db.session.refresh(theirs)
    assert theirs.revoked_at is None

    for name, message in (("x" * 101, "Tối đa 100 ký tự."), ("a\x01b", "Có ký tự ẩn không hợp lệ (U+0001)")):
        refused = admin_client.post(f"/admin/users/{one.id}/tokens", data={"name": name})
        assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    one.active = False
    db.session.flush()
    locked = admin_client.post(f"/admin/users/{one.id}/tokens", data={"name": "x"})
    assert locked.status_code == 400 and "đã bị khoá: không tạo token" in locked.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == one.id)) is None


def test_expired_tokens_are_listed_as_such_in_english(admin_client, admin):
    user = create_user("caseworker")
    create_token(user, "old", now=datetime.now(UTC) - timedelta(days=400))
    admin.locale = "en"
    db.session.flush()
    page = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "API tokens" in page and "Expired" in page and "Never" in page
    assert "Revoke token" not in page


def test_the_page_makes_tokens_only_for_accounts_that_use_the_api_alone(admin_client, admin):
    """A token of a person's account (one with a password), or of an admin's, would let the admin act as that person
    under their name: the page lists and revokes such tokens but makes none (the server's command still can)."""
    person = create_user("caseworker", password=PASSWORD)
    other_admin = create_user("admin")
    for user in (person, other_admin):
        page = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
        assert 'id="tokens-by-command"' in page and f"/admin/users/{user.id}/tokens" not in page
        refused = admin_client.post(f"/admin/users/{user.id}/tokens", data={"name": "x"})
        assert refused.status_code == 400 and "disburse tokens create" in refused.get_data(as_text=True)
        assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id)) is None


def test_revoking_a_token_that_already_does_not_work_changes_and_audits_nothing(admin_client, admin):
    user = create_user("caseworker")
    create_token(user, "old", now=datetime.now(UTC) - timedelta(days=400))
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    answer = admin_client.post(f"/admin/users/{user.id}/tokens/{row.id}/revoke", data=CONFIRMED, follow_redirects=True)
    assert "đã không dùng được từ trước; không có gì thay đổi." in answer.get_data(as_text=True)
    db.session.refresh(row)
    assert row.revoked_at is None and _audit("token.revoke", row.id) == []


def test_an_admin_makes_an_api_only_account_on_the_page_then_its_token(admin_client, admin, app):
    """An API-only account was made only on the server (``disburse users create --no-password``), and the user page
    then said tokens are made only for such accounts: the new-user page offers the choice, audited as the command
    audits it, under the admin's name, and leads to the account's tokens."""
    from disburse.auth.models import User
    from disburse.auth.service import get_user_by_email, verify_password
    from tests.admin.conftest import sign_in

    form = admin_client.get("/admin/users/new").get_data(as_text=True)
    assert "Cách dùng tài khoản" in form and 'value="api"' in form
    assert '<input checked id="access-0" name="access" required type="radio" value="password">' in form
    data = {"email": "cong.du.lieu@bhxh.example.vn", "role": "supervisor", "province": "01", "access": "api"}
    made = admin_client.post("/admin/users/new", data={**data, "full_name": "Cổng dữ liệu tỉnh Hà Nội"})

    user = get_user_by_email("cong.du.lieu@bhxh.example.vn")
    assert made.status_code == 302 and made.headers["Location"].endswith(f"/admin/users/{user.id}#tokens")
    assert user.password_hash is None and not user.password_temporary and not verify_password(user, "")
    assert (user.role, user.province_code) == ("supervisor", "01")
    [entry] = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "user.create", AuditLog.object_id == str(user.id))
    ).all()
    assert entry.actor_id == admin.id and entry.data["api_only"] is True and entry.data["after"]["province"] == "01"
    page = admin_client.get(made.headers["Location"]).get_data(as_text=True)
    assert "Đã tạo tài khoản chỉ dùng API cong.du.lieu@bhxh.example.vn (không có mật khẩu)." in page
    assert "Chỉ dùng token API" in page and 'id="tokens-by-command"' not in page
    answer = admin_client.post(f"/admin/users/{user.id}/tokens", data={"name": "Cổng dữ liệu"})
    token = re.search(r'<code id="api-token">(dsb_[^<]+)</code>', answer.get_data(as_text=True)).group(1)
    assert app.test_client().get("/api/v1/progress", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    audit = admin_client.get(f"/admin/audit?action=user.create&record={user.id}").get_data(as_text=True)
    assert "Chỉ dùng token API (không có mật khẩu):</span> Có" in audit

    # Not an admin's (the page makes no token for one), said on the choice; a choice not on the page is refused.
    before = db.session.scalar(select(User.id).order_by(User.id.desc()).limit(1))
    for access, words in (("api", "Tài khoản quản trị phải đăng nhập bằng mật khẩu"), ("both", "Hãy chọn một trong")):
        refused = admin_client.post(
            "/admin/users/new", data={"email": "qt@bhxh.example.vn", "role": "admin", "access": access}
        )
        html = refused.get_data(as_text=True)
        checked = "#access-1" if access == "api" else "#access-0"  # the summary links the choice made, else the first
        assert refused.status_code == 400 and words in html and f'href="{checked}"' in html
    assert db.session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) == before
    sign_in(admin_client, admin, "en")
    form = admin_client.get("/admin/users/new").get_data(as_text=True)
    assert "How the account is used" in form and "API only: another system calls the API with tokens" in form
    refused = admin_client.post(
        "/admin/users/new", data={"email": "qt@bhxh.example.vn", "role": "admin", "access": "api"}
    )
    assert "An admin&#39;s account signs in with a password" in refused.get_data(as_text=True)
