"""The language buttons (a form's post, so that another site cannot switch a user's language) bring the user back
where they were: the same page with its filters or drill-down, and after a posted form, the page the form was on
(never a URL that takes POST only)."""

from __future__ import annotations

import html
import re

import pytest

from tests.factories import create_user

PASSWORD = "mat-khau-rat-dai"


@pytest.fixture
def caseworker(client, db_session):
    user = create_user("caseworker", district="017", password=PASSWORD)
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return user


def _english_form(page: str) -> tuple[str, str]:
    """The English button's form: where it posts, and the page it brings the user back to."""
    button = r'<form method="post" action="(/language/en)" class="inline">.*?name="next" value="([^"]*)"'
    found = re.findall(button, page, re.S)
    assert len(found) == 1, page[:2000]
    return found[0][0], html.unescape(found[0][1])


def test_the_language_link_keeps_the_pages_filters(client, caseworker):
    page = client.get("/caseworker/queue?state=needs_review&reason=zero_months").get_data(as_text=True)
    action, back_to = _english_form(page)
    assert back_to == "/caseworker/queue?state=needs_review&reason=zero_months"
    assert client.get(action).status_code == 405  # a link cannot switch it
    back = client.post(action, data={"next": back_to})
    assert (
        back.status_code == 302
        and back.headers["Location"] == "/caseworker/queue?state=needs_review&reason=zero_months"
    )
    assert 'lang="en"' in client.get(back.headers["Location"]).get_data(as_text=True)


def test_after_a_posted_form_the_language_link_goes_back_to_the_forms_page(client, caseworker):
    """A form posted with an error is shown again under the posted URL: the button brings the user back to it, read
    from the request (browsers send no Referer: ``Referrer-Policy: no-referrer``), and switching keeps the page."""
    answer = client.post("/account", data={"current_password": "sai", "new_password": "x"})
    assert answer.status_code == 400 and "Referer" not in answer.request.headers
    action, back_to = _english_form(answer.get_data(as_text=True))
    assert back_to == "/account"
    back = client.post(action, data={"next": back_to})
    assert back.status_code == 302 and back.headers["Location"] == "/account"


def test_after_a_post_to_a_url_without_a_page_the_language_link_goes_to_the_page_above_it(client, db_session):
    """A form posted to a URL that takes POST only (a refused deactivation, shown on the user's page): its GET would
    be a 405, so the button goes to the nearest page above it (the user's page; the Form 02 page above its upload,
    which went home and lost the unit); a form's page that takes GET too keeps its URL."""
    admin = create_user("admin", password=PASSWORD)
    assert client.post("/login", data={"email": admin.email, "password": PASSWORD}).status_code == 302
    refused = client.post(f"/admin/users/{admin.id}/deactivate", data={"confirmed": "1"})
    assert refused.status_code == 400
    assert _english_form(refused.get_data(as_text=True))[1] == f"/admin/users/{admin.id}"
    again = client.post("/admin/users/new?from=list", data={"email": "x", "role": "admin"})
    assert again.status_code == 400
    assert _english_form(again.get_data(as_text=True))[1] == "/admin/users/new?from=list"


def test_the_language_link_names_only_a_path_of_this_site(client, db_session):
    page = client.get("/%5Cevil.example/x")  # a backslash: browsers read it as a slash (//evil.example)
    assert page.status_code == 404
    assert _english_form(page.get_data(as_text=True))[1] == "/"


@pytest.mark.parametrize("chosen", ["en", "vi"])
def test_the_language_chosen_on_the_sign_in_page_is_kept_and_saved(client, db_session, chosen):
    """Whoever switches the sign-in page's language reads on in it once signed in, and the account keeps it; a
    language left by the browser's previous user does not override the next user's own."""
    saved = "vi" if chosen == "en" else "en"
    user, other = (create_user("caseworker", district="017", password=PASSWORD) for _ in range(2))
    user.locale = other.locale = saved
    db_session.commit()
    assert client.post(f"/language/{chosen}", data={"next": "/login"}).status_code == 302
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    assert f'lang="{chosen}"' in client.get("/").get_data(as_text=True)
    db_session.refresh(user)
    assert user.locale == chosen

    client.post("/logout", data={})
    assert client.post("/login", data={"email": other.email, "password": PASSWORD}).status_code == 302
    assert f'lang="{saved}"' in client.get("/").get_data(as_text=True)
    db_session.refresh(other)
    assert other.locale == saved
