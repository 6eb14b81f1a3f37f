"""Another site cannot make a signed-in browser change anything: page forms need their CSRF token, and the API,
when authenticated by the session cookie alone, takes only JSON (which a form on another site cannot send)."""

from __future__ import annotations

import pytest

from disburse.auth.service import create_token
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_claim, create_user


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", password=PASSWORD)


@pytest.fixture
def claim(db_session):
    return create_claim("needs_review")  # in Đông Anh, the caseworker's district


def test_page_forms_need_their_token(app, client, caseworker, monkeypatch):
    sign_in(client, caseworker)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # the Test config turns it off for convenience
    response = client.post("/logout", data={})
    assert response.status_code == 400 and "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
    # The sign-in form comes back as it was sent (tests/test_form_again_when_limited.py), which for a user signed in
    # already is the way home, as always: nothing done.
    response = client.post("/login", data={"email": caseworker.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert caseworker.email in client.get("/").get_data(as_text=True)  # still signed in: the forged POST did nothing


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])
def test_a_cookie_alone_cannot_change_anything_through_the_api_without_json(client, caseworker, claim, content_type):
    sign_in(client, caseworker)
    response = client.post(f"/api/v1/claims/{claim.id}/assign", data="x=1", content_type=content_type)
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"
    assert client.get(f"/api/v1/claims/{claim.id}").get_json()["assigned_to"] is None


def test_the_same_request_as_json_or_with_a_token_goes_through(client, caseworker, claim):
    sign_in(client, caseworker)
    assert client.post(f"/api/v1/claims/{claim.id}/release", json={}).status_code == 200
    token_client = client.application.test_client()
    token = create_token(caseworker)
    response = token_client.post(
        f"/api/v1/claims/{claim.id}/assign",
        data="",
        content_type="text/plain",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
