"""Error pages use the site's layout and the user's language; page input that cannot be valid is refused cleanly
(never a 500); redirects after sign-in or a language change never leave the site."""

from __future__ import annotations

import pytest

import disburse.home.service
from tests.factories import create_user

LAYOUT = 'class="site-header"'


@pytest.mark.parametrize(("language", "heading"), [("vi", "Không tìm thấy trang"), ("en", "Page not found")])
def test_404_page_in_the_layout_and_the_language(client, language, heading):
    response = client.get("/no-such-page", headers={"Accept-Language": language})
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert LAYOUT in page and f'lang="{language}"' in page and heading in page


def test_the_page_language_is_the_users_choice(client):
    client.post("/language/en")
    page = client.get("/no-such-page", headers={"Accept-Language": "vi"}).get_data(as_text=True)
    assert "Page not found" in page


def test_429_page(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LIMIT_SIGN_IN_PER_ADDRESS", "1 per minute")
    client.post("/login", data={"email": "a@bhxh.vn", "password": "sai-mat-khau-roi"})
    response = client.post("/login", data={"email": "a@bhxh.vn", "password": "sai-mat-khau-roi"})
    page = response.get_data(as_text=True)
    # The sign-in form is one that comes back (tests/test_form_again_when_limited.py), in the site's layout.
    assert response.status_code == 429 and LAYOUT in page and "Hãy đợi" in page and 'name="email"' in page
    assert int(response.headers["Retry-After"]) > 0


def test_500_page_in_the_layout_and_the_language(app, client, monkeypatch):
    def broken(program_id):
        raise RuntimeError("a bug")

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production: the bug becomes a 500 page
    monkeypatch.setattr(disburse.home.service, "program_progress", broken)
    response = client.get("/", headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert LAYOUT in page and "Something went wrong" in page and "a bug" not in page


def test_403_and_405_pages_too(client):
    response = client.get("/logout")  # POST only
    assert response.status_code == 405 and LAYOUT in response.get_data(as_text=True)
    assert "POST" in response.headers["Allow"]
    api = client.delete("/api/v1/health")  # the API's JSON errors keep the exception's headers too
    assert api.status_code == 405 and api.is_json and "GET" in api.headers["Allow"]


@pytest.mark.parametrize("email", ["lan\x00@bhxh.vn", "\x00", "lan@bhxh.vn\x00"])
def test_nul_in_the_sign_in_form_is_a_clean_400(client, email):
    response = client.post("/login", data={"email": email, "password": "mat-khau-rat-dai"})
    assert response.status_code == 400 and LAYOUT in response.get_data(as_text=True)


@pytest.mark.parametrize("email", ["lan\n@bhxh.vn", "lan@bhxh.vn\x7f", "lan @bhxh.vn", "a" * 300 + "@bhxh.vn"])
def test_an_email_that_cannot_be_one_is_a_field_error(client, email):
    client.post("/language/en")
    response = client.post("/login", data={"email": email, "password": "mat-khau-rat-dai"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'aria-invalid="true"' in page


@pytest.mark.parametrize("query", ["next=%00", "x=%0A", "next=/" + "a" * 3000, "next=/%1B[31m", "next=/a%0D%0AX:%20y"])
def test_unreadable_page_parameters_never_crash_nor_reach_a_redirect(client, query):
    response = client.post("/language/vi", data=query, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "/" + "a" * 3000)


@pytest.mark.parametrize(
    "target", ["/\\evil.example", "/\\/evil.example", "\\\\evil.example", "https://evil.example/", "//evil.example"]
)
def test_redirects_never_leave_the_site(client, db_session, target):
    assert client.post("/language/vi", data={"next": target}).headers["Location"] == "/"
    user = create_user("admin", password="mat-khau-rat-dai")
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": "mat-khau-rat-dai"}
    )
    assert response.headers["Location"] == "/"
