from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.routing import IntegerConverter

from disburse.auth.service import create_user


@pytest.fixture
def caseworker(db_session):
    return create_user("lan@bhxh.vn", "caseworker", password="mat-khau-rat-dai", district="017")


def test_sign_in_shows_who_is_signed_in_and_sign_out(client, caseworker):
    page = client.get("/login").get_data(as_text=True)
    assert "Đăng nhập" in page and 'autocomplete="current-password"' in page
    response = client.post("/login", data={"email": "  LAN@bhxh.vn ", "password": "mat-khau-rat-dai"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "lan@bhxh.vn" in home and "Cán bộ nghiệp vụ" in home and "Đăng nhập thành công." in home
    assert caseworker.last_login_at is not None
    assert client.post("/logout").status_code == 302
    assert "lan@bhxh.vn" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("email", "password"), [("lan@bhxh.vn", "sai-mat-khau-roi"), ("nobody@bhxh.vn", "mat-khau-rat-dai")]
)
def test_wrong_password_and_unknown_email_get_the_same_answer(client, caseworker, email, password):
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "E-mail hoặc mật khẩu không đúng." in page
    assert 'aria-invalid="true"' in page


def test_empty_form_says_what_is_missing_in_english_too(client):
    client.post("/language/en")
    page = client.post("/login", data={}).get_data(as_text=True)
    assert "Enter your e-mail address." in page and "Enter your password." in page


def test_inactive_user_cannot_sign_in(client, caseworker, db_session):
    caseworker.active = False
    db_session.flush()
    response = client.post("/login", data={"email": "lan@bhxh.vn", "password": "mat-khau-rat-dai"})
    assert response.status_code == 400


def test_after_sign_in_only_local_next_urls_are_followed(client, caseworker):
    data = {"email": "lan@bhxh.vn", "password": "mat-khau-rat-dai"}
    response = client.post("/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/"


def test_signed_out_page_request_goes_to_sign_in(client):
    response = client.get("/caseworker/queue?district=017")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/caseworker/queue?district%3D017"
    response = client.post("/logout")  # a POST-only URL: nothing to come back to after signing in
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def _sample_url(app, rule) -> str:
    values = {
        name: 1 if isinstance(converter, IntegerConverter) else ("en" if name == "locale" else "x")
        for name, converter in rule._converters.items()
    }
    return app.url_map.bind("localhost").build(rule.endpoint, values, method="POST")


def test_a_signed_out_post_never_comes_back_to_a_url_that_answers_no_get(app, client):
    """A session that ended while a form was open: its POST goes to sign in, and sign-in brings the browser back
    with a GET. Every route that takes POST, signed out: ``next`` names a page a GET answers (the form's own page,
    as ``/admin/users/new``, or the nearest page above a POST-only URL: ``/jobs/<id>`` for ``/jobs/<id>/retry``),
    or is left out (``/logout``, above which is no page but home): never a 405 after signing in."""
    urls = app.url_map.bind("localhost")
    back, none = {}, []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()):
            continue
        url = _sample_url(app, rule)
        answer = client.post(url)
        location = answer.headers.get("Location", "")
        if answer.status_code != 302 or not location.startswith("/login"):
            continue
        query = parse_qs(urlsplit(location).query)
        if "next" not in query:
            none.append(rule.endpoint)
            continue
        [target] = query["next"]
        urls.match(urlsplit(target).path, method="GET")  # raises MethodNotAllowed for a POST-only URL
        back[rule.endpoint] = target
    assert "auth.logout" in none, none
    assert back["admin.user_new"] == "/admin/users/new" and back["admin.user_edit"] == "/admin/users/1", back
    assert back["admin.user_deactivate"] == back["admin.user_password"] == "/admin/users/1", back
    assert back["jobs.retry"] == "/jobs/1" and back["caseworker.take"] == "/caseworker/claims/1", back
    assert all(endpoint not in back for endpoint in none)
    assert len(back) + len(none) > 20  # the page routes were walked


def test_signing_in_after_a_signed_out_post_lands_on_a_page(client, caseworker):
    """The retry button of a job's page, pressed after the session ended: signed in again, back on the job's page."""
    response = client.post("/jobs/6/retry")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/jobs/6"
    data = {"email": "lan@bhxh.vn", "password": "mat-khau-rat-dai"}
    signed_in = client.post(response.headers["Location"], data=data)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/jobs/6"


def test_a_password_with_spaces_at_its_ends_signs_in_as_it_was_set(client, db_session):
    """The commands store a password as typed; the sign-in form must take it as typed too (the e-mail is trimmed,
    the password never), and the same password without its spaces is a wrong one."""
    create_user("hoa@bhxh.vn", "caseworker", password="  hai dau cach  ", district="017")
    assert client.post("/login", data={"email": "hoa@bhxh.vn", "password": "hai dau cach"}).status_code == 400
    signed_in = client.post("/login", data={"email": " hoa@bhxh.vn ", "password": "  hai dau cach  "})
    assert signed_in.status_code == 302
