"""Every response carries the security headers: every route in app.url_map, signed in and out, its errors too (a
401 says how to authenticate); no
template carries inline script or style (the Content-Security-Policy would block it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories import create_user

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "mat-khau-rat-dai"

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
#: A value for each URL variable of the routes (any value: the headers are checked whatever the status).
SAMPLE_ARGUMENTS = {
    "si_code": "0100000001",
    "locale": "en",
    "filename": "disburse.css",
    "unit_code": "TA0000001",
    "claim_id": 1,
    "name": "sandbox",
    "job_id": 1,
    "reconciliation_id": 1,
    "recovery_id": 1,
    "user_id": 1,
    "program_id": 1,
    "batch_id": 1,
    "employee_id": 1,
    "request_id": 1,
    "token_id": 1,
}


def _requests(app):
    """One request per route and method, built from app.url_map: new routes are checked without being listed."""
    for rule in app.url_map.iter_rules():
        missing = set(rule.arguments) - set(SAMPLE_ARGUMENTS)
        assert not missing, f"add a sample value for {missing} ({rule.rule}) to SAMPLE_ARGUMENTS"
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **{name: SAMPLE_ARGUMENTS[name] for name in rule.arguments})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def _check(response, endpoint):
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (endpoint, name)
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "default-src 'self'" in policy or "default-src 'none'" in policy
    if endpoint != "static":  # everything else may carry personal data
        assert response.headers.get("Cache-Control") == "no-store", endpoint
    assert "Strict-Transport-Security" not in response.headers  # only when HSTS_SECONDS is set (production)
    if response.status_code == 401:  # RFC 9110: a 401 says how to authenticate
        assert response.headers.get("WWW-Authenticate", "").startswith(("Bearer ", "webhook-signature ")), endpoint


@pytest.mark.parametrize("signed_in", [False, True])
def test_every_route_answers_with_the_security_headers(app, client, db_session, signed_in):
    if signed_in:
        user = create_user("admin", password=PASSWORD)
        assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    seen = set()
    for endpoint, method, url in _requests(app):
        with client.open(url, method=method) as response:
            _check(response, endpoint)
        seen.add(endpoint)
        if endpoint == "auth.logout" and signed_in:  # signed out now: sign in again for the remaining routes
            client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert "home.index" in seen and "api.health" in seen


@pytest.mark.parametrize("url", ["/no-such-page", "/api/v1/no-such-thing", "/api/v1/employees/12/support"])
def test_error_answers_carry_them_too(client, url):
    response = client.get(url)
    assert response.status_code >= 400
    _check(response, "error")


def test_a_static_files_error_page_is_never_kept(client, db_session):
    """A static file may be cached; the error page for a missing one (or a bad Range) is drawn in the layout with the
    signed-in person's name and a CSRF token: no-store, like every page."""
    user = create_user("admin", password=PASSWORD)
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    missing = client.get("/static/no-such-file.css")
    assert missing.status_code == 404 and missing.headers["Cache-Control"] == "no-store"
    with client.get("/static/disburse.css", headers={"Range": "bytes=999999999-"}) as out_of_range:
        assert out_of_range.status_code == 416 and out_of_range.headers["Cache-Control"] == "no-store"
    with client.get("/static/disburse.css") as served:
        assert served.status_code == 200 and "no-store" not in served.headers.get("Cache-Control", "")


def test_html_and_json_get_their_own_policy(client):
    page = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in page and "style-src 'self'" in page
    assert client.get("/api/v1/health").headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_hsts_when_configured(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "HSTS_SECONDS", 31536000)
    assert client.get("/").headers["Strict-Transport-Security"] == "max-age=31536000"
    assert client.get("/api/v1/health").headers["Strict-Transport-Security"] == "max-age=31536000"


def test_production_sends_hsts_and_a_host_only_secure_cookie(monkeypatch):
    from config import Production

    monkeypatch.setenv("SECRET_KEY", "s3cret-for-the-test-at-least-32-characters")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/disburse")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/0")
    monkeypatch.setenv("DISBURSE_PAYMENT_PROVIDER", "bankfile")
    monkeypatch.setenv("DISBURSE_BANKFILE_DEBTOR_ACCOUNT", "1200000116")
    monkeypatch.setenv("DISBURSE_BANKFILE_DEBTOR_BANK", "BIDV")
    config = Production()
    assert config.HSTS_SECONDS >= 180 * 24 * 60 * 60
    assert config.SESSION_COOKIE_SECURE and config.SESSION_COOKIE_NAME.startswith("__Host-")


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "inline <script>"),
    (re.compile(r"<style\b", re.IGNORECASE), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "on…= event handler"),
    (re.compile(r"javascript:", re.IGNORECASE), "javascript: URL"),
]


#: Templates that may embed a stylesheet, and why the policy does not apply to them.
MAY_EMBED_STYLE = {
    # The refusal notices embed their stylesheet only in the files a background job writes for printing (never
    # served by us, so no policy applies); served, they link it (disburse/verification/notices.py).
    "templates/verification/notice.html": "<style> element",
}


def test_no_template_has_inline_script_or_style():
    found = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        name = str(template.relative_to(ROOT))
        source = template.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            if pattern.search(source) and MAY_EMBED_STYLE.get(name) != what:
                found.append(f"{name}: {what}")
    assert found == []


def test_the_served_refusal_notice_links_its_stylesheet(client, db_session):
    from tests.factories import create_claim

    claim = create_claim("rejected")
    admin = create_user("admin", password=PASSWORD)
    client.post("/login", data={"email": admin.email, "password": PASSWORD})
    response = client.get(f"/api/v1/claims/{claim.id}/notice")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "<style" not in page and 'rel="stylesheet"' in page
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
