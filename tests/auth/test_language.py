"""The language links bring the user back where they were: the same page with its filters or drill-down, and after a
posted form, the page the form was on (never a URL that takes POST only)."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import create_user

PASSWORD = "mat-khau-rat-dai"


@pytest.fixture
def caseworker(client, db_session):
    user = create_user("caseworker", district="017", password=PASSWORD)
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return user


def _english_link(page: str) -> str:
    href = re.search(r'<a href="([^"]+)" lang="en">', page)
    assert href, page[:2000]
    return html.unescape(href.group(1))


def test_the_language_link_keeps_the_pages_filters(client, caseworker):
    page = client.get("/caseworker/queue?state=needs_review&reason=zero_months").get_data(as_text=True)
    link = _english_link(page)
    assert parse_qs(urlsplit(link).query)["next"] == ["/caseworker/queue?state=needs_review&reason=zero_months"]
    back = client.get(link)
    assert (
        back.status_code == 302
        and back.headers["Location"] == "/caseworker/queue?state=needs_review&reason=zero_months"
    )
    assert 'lang="en"' in client.get(back.headers["Location"]).get_data(as_text=True)


def test_after_a_posted_form_the_language_link_goes_back_to_the_forms_page(client, caseworker):
    # A form posted with an error is shown again under the posted URL; the link goes to the page it came from.
    answer = client.post(
        "/account",
        data={"current_password": "sai", "new_password": "x"},
        headers={"Referer": "http://localhost/account"},
    )
    assert answer.status_code == 400
    assert parse_qs(urlsplit(_english_link(answer.get_data(as_text=True))).query)["next"] == ["/account"]
    # Without a referrer from this site, home.
    elsewhere = client.post("/account", data={}, headers={"Referer": "https://evil.example/account"})
    assert parse_qs(urlsplit(_english_link(elsewhere.get_data(as_text=True))).query)["next"] == ["/"]
