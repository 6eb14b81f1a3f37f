"""Users and roles with their scopes, on real PostgreSQL: the list (search, role filter, keyset pages), creating a user
with a one-time password, changing role and scope, deactivating (their sessions end), reactivating, a new password;
every change audited; an admin never removes their own admin role or deactivates themselves; bad input refused with
a specific message in both languages, changing nothing."""

from __future__ import annotations

import re
import unicodedata

import pytest
from sqlalchemy import select, text

from disburse.admin.service import user_version
from disburse.auth.models import ApiToken, AuditLog, User
from disburse.auth.service import create_token, get_user_by_email, verify_password
from disburse.extensions import db
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_employer, create_user


def _edit(client, user, data):
    """The user's page saved with ``data``, made on the user as stored now (its ``seen``)."""
    db.session.refresh(user)
    return client.post(f"/admin/users/{user.id}", data={"seen": user_version(user), **data})


def _audit(action: str, user_id: int) -> list[AuditLog]:
    return list(
        db.session.scalars(select(AuditLog).where(AuditLog.action == action, AuditLog.object_id == str(user_id)))
    )


def test_the_list_searches_by_email_or_name_and_filters_by_role(admin_client, admin, monkeypatch):
    from disburse.admin import views

    nguyen = create_user("caseworker", full_name="Nguyễn Văn Tìm Thấy", email="tim.thay@bhxh.example.vn")
    supervisor = create_user("supervisor", province="01", email="lanh.dao.tim@bhxh.example.vn")
    html = admin_client.get("/admin/users?q=tìm thấy").get_data(as_text=True)
    assert "<title>Người dùng và vai trò · disburse</title>" in html
    assert nguyen.email in html and supervisor.email not in html
    html = admin_client.get("/admin/users?q=TIM&role=supervisor").get_data(as_text=True)
    assert supervisor.email in html and nguyen.email not in html and "Lãnh đạo, giám sát" in html
    html = admin_client.get("/admin/users?q=tim.thay").get_data(as_text=True)
    assert f'href="/admin/users/{nguyen.id}"' in html and "017" in html and "Hoạt động" in html

    monkeypatch.setattr(views, "PAGE", 1)
    first = admin_client.get("/admin/users?q=tim").get_data(as_text=True)
    following = re.search(r'href="(/admin/users\?[^"]*after=\d+[^"]*)" rel="next"', first)
    assert following and nguyen.email in first
    assert 'rel="prev"' not in first
    second = admin_client.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert supervisor.email in second and nguyen.email not in second
    assert 'rel="next"' not in second  # the last page
    previous = re.search(r'href="(/admin/users\?[^"]*before=\d+[^"]*)" rel="prev"', second)
    assert previous and "q=tim" in previous.group(1)
    back = admin_client.get(previous.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert nguyen.email in back and supervisor.email not in back
    assert 'rel="prev"' not in back and 'rel="next"' in back  # the first page again, with its way on

    bad = admin_client.get("/admin/users?role=boss")
    assert bad.status_code == 400 and "Hãy chọn một trong các lựa chọn có trên trang." in bad.get_data(as_text=True)


def test_names_are_stored_composed_and_found_with_or_without_diacritics_however_typed(admin_client, admin):
    """A name typed decomposed (NFD: "e" and its marks as separate characters, as some keyboards and spreadsheets
    send it) is stored composed (NFC), on creating and on editing; the list finds a name typed either way, and
    without diacritics, as the employer pages' name search does (an older row stored decomposed too)."""
    name = "Nguyễn Thị Hằng"
    decomposed = unicodedata.normalize("NFD", name)
    assert decomposed != name
    answer = admin_client.post(
        "/admin/users/new",
        data={"email": "nfd.mot@bhxh.example.vn", "role": "supervisor", "full_name": decomposed},
    )
    assert answer.status_code == 200
    hang = get_user_by_email("nfd.mot@bhxh.example.vn")
    assert hang.full_name == name
    edited = create_user("supervisor", email="nfd.hai@bhxh.example.vn", full_name="Trần Hương")
    answer = _edit(
        admin_client, edited, {"role": "supervisor", "full_name": unicodedata.normalize("NFD", "Trần Thu Hương")}
    )
    assert answer.status_code == 302
    db.session.refresh(edited)
    assert edited.full_name == "Trần Thu Hương"
    older = create_user("supervisor", email="nfd.ba@bhxh.example.vn")
    db.session.execute(
        text("UPDATE users SET full_name = :n WHERE id = :i"),
        {"n": unicodedata.normalize("NFD", "Lê Văn Đức"), "i": older.id},
    )
    db.session.flush()
    other = create_user("supervisor", email="nfd.bon@bhxh.example.vn", full_name="Phạm Minh")

    def found(q: str) -> set[str]:
        html = admin_client.get("/admin/users", query_string={"q": q}).get_data(as_text=True)
        return {email for email in (hang.email, edited.email, older.email, other.email) if email in html}

    assert found(unicodedata.normalize("NFD", "Hằng")) == {hang.email}
    assert found("Hằng") == {hang.email}
    assert found("hang") == {hang.email}
    assert found("NGUYEN THI") == {hang.email}
    assert found("thu huong") == found("Thu Hương") == {edited.email}
    assert found("Đức") == found("van duc") == found(unicodedata.normalize("NFD", "Văn Đức")) == {older.email}
    assert found("100%") == set()


def test_the_list_names_each_users_place_not_its_code(admin_client, admin):
    """The scope column names the district and its province, the province, or the unit (the code after the name),
    never a bare "017" or "01"."""
    unit = create_employer(district_code="017", name="Công ty Phạm Vi")
    users = {
        "caseworker": create_user("caseworker", district="017", email="pv.canbo@bhxh.example.vn"),
        "supervisor": create_user("supervisor", province="79", email="pv.lanhdao@bhxh.example.vn"),
        "employer": create_user("employer", employer_unit=unit.unit_code, email="pv.donvi@bhxh.example.vn"),
        "national": create_user("supervisor", email="pv.toanquoc@bhxh.example.vn"),
    }
    html = admin_client.get("/admin/users?q=pv.").get_data(as_text=True)
    scopes = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>", 1)[1], re.S):
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        scopes[cells[0]] = cells[3]
    assert scopes == {
        users["caseworker"].email: "Huyện Đông Anh (017), Thành phố Hà Nội",
        users["supervisor"].email: "Thành phố Hồ Chí Minh (79)",
        users["employer"].email: f"Công ty Phạm Vi ({unit.unit_code})",
        users["national"].email: "Toàn quốc",
    }


def test_an_admin_creates_a_user_with_a_one_time_password(admin_client, admin, client):
    answer = admin_client.post(
        "/admin/users/new",
        data={"email": "can.bo.moi@bhxh.example.vn", "role": "caseworker", "district": "017", "full_name": "Lê Mới"},
    )
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    password = re.search(r'<code id="one-time-password">([^<]+)</code>', html).group(1)
    user = get_user_by_email("can.bo.moi@bhxh.example.vn")
    assert (user.role, user.district_code, user.province_code, user.full_name) == ("caseworker", "017", "01", "Lê Mới")
    assert verify_password(user, password) and password not in (user.password_hash or "")
    [entry] = _audit("user.create", user.id)
    assert entry.actor_id == admin.id and entry.data["after"]["district"] == "017"


def test_creating_refuses_bad_input_in_both_languages_and_changes_nothing(admin_client, admin):
    before = db.session.scalar(select(User.id).order_by(User.id.desc()).limit(1))
    cases = [
        ({"email": "khong-phai-email", "role": "admin"}, "E-mail không hợp lệ (ví dụ canbo@bhxh.gov.vn)."),
        ({"email": "a@bhxh.example.vn", "role": "caseworker"}, "Cán bộ nghiệp vụ cần mã quận/huyện nơi làm việc."),
        ({"email": "a@bhxh.example.vn", "role": "caseworker", "district": "999"}, "Không có quận/huyện mã 999."),
        ({"email": "a@bhxh.example.vn", "role": "caseworker", "district": "17a"}, "Mã quận/huyện gồm đúng 3 chữ số"),
        ({"email": "a@bhxh.example.vn", "role": "employer", "employer": "ZZ404"}, "Không có đơn vị mã ZZ404."),
        ({"email": "a@bhxh.example.vn", "role": "admin", "province": "01"}, "Vai trò này không dùng trường này"),
        ({"email": admin.email, "role": "admin"}, f"Đã có người dùng với e-mail {admin.email}."),
        ({"email": "a@bhxh.example.vn", "role": "king"}, "Hãy chọn một trong các lựa chọn có trên trang."),
    ]
    for data, message in cases:
        answer = admin_client.post("/admin/users/new", data=data)
        assert answer.status_code == 400, data
        html = answer.get_data(as_text=True)
        assert "Có lỗi cần sửa" in html and message in html, (data, message)
    sign_in(admin_client, admin, "en")
    html = admin_client.post("/admin/users/new", data={"email": "a@bhxh.example.vn", "role": "caseworker"}).get_data(
        as_text=True
    )
    assert "There is a problem" in html and "A caseworker needs the district they work." in html
    html = admin_client.post("/admin/users/new", data={"email": "x", "role": "admin"}).get_data(as_text=True)
    assert "This is not an e-mail address (e.g. canbo@bhxh.gov.vn)." in html
    assert db.session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) == before
    assert get_user_by_email("a@bhxh.example.vn") is None


def test_an_admin_changes_role_and_scope_audited_with_before_and_after(admin_client, admin):
    unit = create_employer(district_code="017")
    user = create_user("caseworker")
    page = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert f"<title>{user.email} · disburse</title>" in page and 'value="017"' in page

    answer = _edit(admin_client, user, {"role": "supervisor", "province": "79"})
    assert answer.status_code == 302
    db.session.refresh(user)
    assert (user.role, user.province_code, user.district_code) == ("supervisor", "79", None)
    answer = _edit(admin_client, user, {"role": "employer", "employer": unit.unit_code})
    db.session.refresh(user)
    assert (user.role, user.employer_id, user.province_code) == ("employer", unit.id, None)
    entries = _audit("user.update", user.id)
    assert [(e.data["before"]["role"], e.data["after"]["role"]) for e in entries] == [
        ("caseworker", "supervisor"),
        ("supervisor", "employer"),
    ]
    assert all(e.actor_id == admin.id for e in entries)
    # The same values again: nothing changes and nothing is audited.
    _edit(admin_client, user, {"role": "employer", "employer": unit.unit_code})
    assert len(_audit("user.update", user.id)) == 2

    refused = _edit(admin_client, user, {"role": "caseworker", "district": "999"})
    assert refused.status_code == 400 and "Không có quận/huyện mã 999." in refused.get_data(as_text=True)

    db.session.refresh(user)
    assert user.role == "employer"
    assert admin_client.get("/admin/users/999999999").status_code == 404


def test_a_new_role_or_scope_revokes_the_users_tokens_a_new_name_does_not(app, admin_client, admin):
    """A caseworker's token went on working after the account became an employer's, with the new role's power: an
    integration's token changed what it may do without anyone seeing it. A role or a scope changed revokes the
    user's tokens (audited, as the sessions end); a corrected name keeps them."""
    user = create_user("caseworker", district="017")
    token = create_token(user)
    db.session.commit()
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/claims", headers=bearer).status_code == 200
    _edit(admin_client, user, {"role": "caseworker", "district": "017", "full_name": "Tên"})
    assert api.get("/api/v1/claims", headers=bearer).status_code == 200  # a name: the same power
    _edit(admin_client, user, {"role": "caseworker", "district": "018"})
    assert api.get("/api/v1/claims", headers=bearer).status_code == 401
    revoked = _audit("token.revoke", db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id)))
    assert [e.actor_id for e in revoked] == [admin.id]


#: The post from the page that asks to confirm a deactivation or a new password.
CONFIRMED = {"confirmed": "1"}


@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize("action", ["deactivate", "password"])
def test_locking_an_account_or_replacing_its_password_is_asked_once_more(admin_client, admin, action, locale):
    """One key press on the user's page changed nothing yet: a page of its own says what will happen, and only its
    button does it (a keyboard user tabbing past "Save changes" locked an account with a stray Space)."""
    user = create_user("caseworker", password=PASSWORD, email=f"hoi.lai.{action}.{locale}@bhxh.example.vn")
    sign_in(admin_client, admin, locale)
    page = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert f'class="warning" aria-describedby="{action}-hint"' in page and f'id="{action}-hint"' in page
    asked = admin_client.post(f"/admin/users/{user.id}/{action}")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200
    title = {
        ("deactivate", "vi"): "Khoá tài khoản",
        ("password", "vi"): "Cấp mật khẩu dùng một lần cho",
        ("deactivate", "en"): "Deactivate the account",
        ("password", "en"): "Give a one-time password to",
    }[(action, locale)]
    assert re.search(rf"<h1>{title}[^<]*{re.escape(user.email)}\?</h1>", html), html
    assert 'name="confirmed" type="hidden" value="1"' in html and 'aria-describedby="consequences"' in html
    db.session.expire_all()
    assert db.session.get(User, user.id).active and verify_password(db.session.get(User, user.id), PASSWORD)
    assert _audit("user.deactivate", user.id) == [] and _audit("user.set_password", user.id) == []
    assert admin_client.post(f"/admin/users/{user.id}/{action}", data={"confirmed": "1"}).status_code in (200, 302)
    db.session.expire_all()
    done = db.session.get(User, user.id)
    assert (not done.active) if action == "deactivate" else not verify_password(done, PASSWORD)


def test_an_admin_cannot_remove_their_own_admin_role_or_deactivate_themselves(admin_client, admin):
    answer = _edit(admin_client, admin, {"role": "supervisor"})
    assert answer.status_code == 400
    assert "Bạn không thể bỏ vai trò quản trị của chính mình." in answer.get_data(as_text=True)
    answer = admin_client.post(f"/admin/users/{admin.id}/deactivate", data=CONFIRMED)
    assert answer.status_code == 400 and "Bạn không thể tự khoá tài khoản của mình." in answer.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == "admin" and admin.active
    assert _audit("user.update", admin.id) == [] and _audit("user.deactivate", admin.id) == []
    sign_in(admin_client, admin, "en")
    answer = admin_client.post(f"/admin/users/{admin.id}/deactivate", data=CONFIRMED)
    assert "You cannot deactivate yourself." in answer.get_data(as_text=True)
    page = admin_client.get(f"/admin/users/{admin.id}").get_data(as_text=True)  # not offered either
    assert f"/admin/users/{admin.id}/deactivate" not in page and "This is your own account" in page


def test_deactivating_ends_the_users_sessions_and_reactivating_lets_them_back(admin_client, admin, app):
    from tests.conftest import FreshRequestClient

    user = create_user("caseworker", password=PASSWORD)
    token = create_token(user)
    token_row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    app.test_client_class = FreshRequestClient
    theirs = app.test_client()
    sign_in(theirs, user)
    assert theirs.get("/account").status_code == 200
    assert app.test_client().get("/api/v1/claims", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    assert admin_client.post(f"/admin/users/{user.id}/deactivate", data=CONFIRMED).status_code == 302
    db.session.expire_all()
    assert theirs.get("/account").status_code == 302  # their session is over
    assert theirs.post("/login", data={"email": user.email, "password": PASSWORD}).status_code != 302
    [entry] = _audit("user.deactivate", user.id)
    assert entry.actor_id == admin.id
    html = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Đã khoá" in html and f'action="/admin/users/{user.id}/reactivate"' in html

    assert admin_client.post(f"/admin/users/{user.id}/reactivate").status_code == 302
    db.session.expire_all()
    assert theirs.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    assert len(_audit("user.reactivate", user.id)) == 1
    # The tokens the account had when it was closed stay revoked: bringing it back revives none.
    assert app.test_client().get("/api/v1/claims", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert len(_audit("token.revoke", token_row.id)) == 1


def test_a_deactivation_and_a_reactivation_name_the_users_e_mail_alike_in_the_audit_log(admin_client, admin):
    user = create_user("caseworker", email="khoa.mo@bhxh.example.vn")
    assert admin_client.post(f"/admin/users/{user.id}/deactivate", data=CONFIRMED).status_code == 302
    assert admin_client.post(f"/admin/users/{user.id}/reactivate").status_code == 302
    [off], [on] = _audit("user.deactivate", user.id), _audit("user.reactivate", user.id)
    assert off.data == on.data == {"email": "khoa.mo@bhxh.example.vn"}
    html = admin_client.get(f"/admin/audit?object_type=user&record={user.id}").get_data(as_text=True)
    rows = re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>", 1)[1], re.S)
    for action in ("user.deactivate", "user.reactivate"):
        [row] = [row for row in rows if f'<code class="hint">{action}</code>' in row]
        assert "E-mail:</span> khoa.mo@bhxh.example.vn" in row, row


def test_a_new_password_is_shown_once_and_ends_the_old_sessions(admin_client, admin, app):
    from tests.conftest import FreshRequestClient

    user = create_user("supervisor", password=PASSWORD)
    app.test_client_class = FreshRequestClient
    theirs = app.test_client()
    sign_in(theirs, user)
    asked = admin_client.post(f"/admin/users/{user.id}/password")
    assert asked.status_code == 200 and 'id="one-time-password"' not in asked.get_data(as_text=True)
    answer = admin_client.post(f"/admin/users/{user.id}/password", data=CONFIRMED)
    assert answer.status_code == 200
    password = re.search(r'<code id="one-time-password">([^<]+)</code>', answer.get_data(as_text=True)).group(1)
    db.session.expire_all()
    assert theirs.get("/account").status_code == 302
    assert verify_password(db.session.get(User, user.id), password)
    [entry] = _audit("user.set_password", user.id)
    assert entry.actor_id == admin.id and entry.data is None  # never the password


def test_only_admins_manage_users(client, db_session):
    supervisor = create_user("supervisor", password=PASSWORD)
    sign_in(client, supervisor)
    assert client.get("/admin/users").status_code == 403
    assert _edit(client, supervisor, {"role": "admin"}).status_code == 403
    db.session.refresh(supervisor)
    assert supervisor.role == "supervisor"


def test_the_error_summary_lists_the_errors_in_the_order_of_the_fields(admin_client, admin):
    """The summary at the top links each error to its field, in the order the page asks for them (e-mail first)."""
    junk = {"email": "abc!@#", "role": "caseworker", "district": "abc!@#", "province": "abc!@#", "employer": "abc!@#"}
    page = admin_client.post("/admin/users/new", data=junk).get_data(as_text=True)
    summary, _, form = page.partition('id="error-summary-title"')[2].partition("</ul>")
    linked = re.findall(r'<a href="#([\w-]+)">', summary)
    assert len(linked) >= 3 and linked[0] == "email", linked
    on_the_page = sorted(linked, key=lambda field: form.index(f'id="{field}"'))
    assert linked == on_the_page


def test_a_save_over_another_admins_change_is_refused_and_shows_the_user_as_now(admin_client, admin):
    """Admin A opens a caseworker's page; admin B makes them a supervisor; A saves a new name from the page as it was:
    the role went back to caseworker without a word. A's save is refused now (409), the page shows the user as B
    left them, and A's next save, from that page, goes through."""
    from disburse.admin import service

    user = create_user("caseworker", full_name="Trần Văn Cũ")
    page = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    seen = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', page).group(1)
    other = create_user("admin", email="quan.tri.b@bhxh.example.vn")
    service.update_user(
        user, role="supervisor", full_name="Trần Văn Cũ", district=None, province=None, employer_unit=None, actor=other
    )
    db.session.commit()
    stale = {"seen": seen, "role": "caseworker", "district": "017", "full_name": "Trần Văn Mới"}
    answer = admin_client.post(f"/admin/users/{user.id}", data=stale)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "vừa được một quản trị viên khác sửa" in html
    db.session.expire_all()
    now = db.session.get(User, user.id)
    assert (now.role, now.full_name, now.district_code) == ("supervisor", "Trần Văn Cũ", None)
    fresh = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', html).group(1)
    assert fresh != seen and '<option selected value="supervisor">' in html
    again = admin_client.post(f"/admin/users/{user.id}", data={"seen": fresh, "role": "supervisor", "full_name": "B"})
    assert again.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).full_name == "B"


@pytest.mark.parametrize("seen", [None, ""])
def test_a_save_that_does_not_say_what_it_was_made_on_is_refused_as_stale(admin_client, admin, seen):
    """A save without ``seen`` (a script, a form of an older page) skipped the check and overwrote another admin's
    change unseen; it is taken as stale now (409, the same words), as the API takes a missing ``seen``."""
    user = create_user("caseworker", full_name="Trần Văn Cũ")
    db.session.commit()
    data = {"role": "caseworker", "district": "018", "full_name": "Trần Văn Mới"}
    if seen is not None:
        data["seen"] = seen
    answer = admin_client.post(f"/admin/users/{user.id}", data=data)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "vừa được một quản trị viên khác sửa" in html
    db.session.expire_all()
    now = db.session.get(User, user.id)
    assert (now.full_name, now.district_code) == ("Trần Văn Cũ", "017")
    assert _audit("user.update", user.id) == []
    fresh = re.search(r'name="seen" type="hidden" value="([0-9a-f]+)"', html).group(1)
    again = admin_client.post(f"/admin/users/{user.id}", data={**data, "seen": fresh})
    assert again.status_code == 302


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_locking_ones_own_or_a_locked_account_is_refused_at_once_not_asked_first(admin_client, admin, locale):
    """Posting to lock one's own account showed "Khoá tài khoản admin@…?" and refused only after the admin said yes:
    what is refused whatever the answer is refused on the first post, on the user's page, nothing asked."""
    locked = create_user("caseworker", password=PASSWORD, email=f"da.khoa.{locale}@bhxh.example.vn")
    locked.active = False
    sign_in(admin_client, admin, locale)
    words = {
        "vi": ("Bạn không thể tự khoá tài khoản của mình.", "Tài khoản này đã bị khoá."),
        "en": ("You cannot deactivate yourself.", "This account is already deactivated."),
    }[locale]
    for user, refusal in zip((admin, locked), words, strict=True):
        answer = admin_client.post(f"/admin/users/{user.id}/deactivate")  # the first post: no "confirmed"
        html = answer.get_data(as_text=True)
        assert answer.status_code == 400 and refusal in html, user.email
        assert 'name="confirmed"' not in html and 'id="consequences"' not in html
        assert f"<h1>{user.email}</h1>" in html  # the user's page, saying why
    db.session.expire_all()
    assert db.session.get(User, admin.id).active and _audit("user.deactivate", admin.id) == []
    assert admin_client.post(f"/admin/users/{locked.id}/deactivate").status_code == 400


def test_an_area_code_typed_without_its_leading_zeros_is_that_area(admin_client, admin):
    """District "17" is 017 and province "1" is 01, as `disburse users create --district 17` takes them: the form
    refused what the command took."""
    for email, data, kept in (
        ("cb.muoi.bay@bhxh.example.vn", {"role": "caseworker", "district": "17"}, ("017", "01")),
        ("ld.tinh.mot@bhxh.example.vn", {"role": "supervisor", "province": "1"}, (None, "01")),
    ):
        answer = admin_client.post("/admin/users/new", data={"email": email, "full_name": "Lê Mới", **data})
        assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
        user = get_user_by_email(email)
        assert (user.district_code, user.province_code) == kept
