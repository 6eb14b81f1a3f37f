"""The layout every page shares (templates/base.html, disburse/layout.py, disburse/static): a page that answers a
form with errors says "Lỗi:" / "Error:" first in its title, once, whichever page it is; the favicon; wide tables
scroll in their own box with a cue that they do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, sign_in
from tests.factories import PAYING_DAY, create_claim, create_user

STATIC = Path(__file__).resolve().parents[1] / "disburse" / "static"


def _title(response) -> str:
    found = re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S)
    assert found
    return re.sub(r"\s+", " ", found.group(1)).strip()


@pytest.mark.parametrize(("locale", "prefix"), [("vi", "Lỗi: "), ("en", "Error: ")])
def test_every_page_that_answers_a_form_with_errors_says_so_first_in_its_title(
    app, client, db_session, monkeypatch, locale, prefix
):
    # The public page first (no one signed in), then the staff's pages, each with a form answered with errors. The
    # bank-details page takes details only while the programme pays (the real clock is past its last payable day).
    before = app.config.get("DISBURSE_TODAY")
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", PAYING_DAY)
    client.post(f"/language/{locale}", data={"next": "/"})
    response = client.post(
        "/people/payment-details",
        data={"si_code": "0123456789", "national_id": "001085012345", "date_of_birth": "31/02/1985"},
    )
    assert response.status_code == 422 and _title(response).startswith(prefix)
    assert not client.get("/people/payment-details").get_data(as_text=True).count(prefix.strip())  # the form alone
    monkeypatch.setitem(app.config, "DISBURSE_TODAY", before)

    sign_in(client, create_user("admin", password=PASSWORD), locale)
    for url, status in (
        ("/admin/audit?since=32/13/2021", 400),
        ("/jobs/?state=nonsense", 400),
        ("/dashboard/monthly?month=13/2021", 422),  # said on its field, as a month to come is
        ("/employers/?unit=", 400),
        ("/caseworker/cash-desk?district=nonsense", 422),
    ):
        response = client.get(url)
        assert response.status_code == status, url
        title = _title(response)
        assert title.startswith(prefix) and title.count(prefix) == 1, (url, title)
    response = client.post("/dashboard/targets", data={})
    assert response.status_code == 400 and _title(response).startswith(prefix)
    for url in ("/admin/audit", "/jobs/", "/dashboard/monthly?month=11/2021", "/dashboard/targets"):
        response = client.get(url)
        assert response.status_code == 200 and not _title(response).startswith(prefix), url


def test_a_form_with_errors_puts_the_focus_on_its_error_summary(client, db_session):
    """GOV.UK's pattern: the layout's script focuses the summary (it makes it focusable first), so a keyboard or
    screen reader user starts at the list of what to fix; without the script the summary is still an alert."""
    sign_in(client, create_user("admin", password=PASSWORD))
    html = client.get("/jobs/?state=nonsense").get_data(as_text=True)
    assert 'class="error-summary" role="alert"' in html
    assert re.search(r'<script src="/static/layout\.js" defer></script>', html)
    script = (STATIC / "layout.js").read_text(encoding="utf-8")
    assert 'querySelector(".error-summary")' in script and "summary.focus()" in script
    assert 'setAttribute("tabindex", "-1")' in script


def test_the_favicon_is_served_and_linked(client, db_session):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response.headers["Location"].endswith("/static/favicon.svg")
    icon = client.get(response.headers["Location"])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    icon.close()
    html = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html


@pytest.mark.parametrize(("locale", "words"), [("vi", "kéo sang phải"), ("en", "scroll right")])
def test_a_wide_table_scrolls_in_its_own_box_with_a_cue_that_it_does(client, db_session, locale, words):
    """The dashboard's table of units (16 columns) in a focusable, labelled scrolling box; the layout gives the
    script the words of the line it shows above a box that scrolls; the style sheet keeps the box within the page,
    shadows its edges while columns are out of sight, and gives names a width (not one word a line)."""
    create_claim("needs_review")  # a claim of Đông Anh: a row in its table of units
    sign_in(client, create_user("caseworker", password=PASSWORD), locale)
    html = client.get("/dashboard/").get_data(as_text=True)
    hint = re.search(r'<body data-scroll-hint="([^"]*)">', html)
    assert hint and words in hint.group(1)
    assert re.search(r'<div class="table-scroll" tabindex="0" role="region" aria-label="[^"]+">\s*<table', html)
    css = (STATIC / "disburse.css").read_text(encoding="utf-8")
    box = re.search(r"\.table-scroll, \.queue-layout > \.results \{([^}]*)\}", css)
    assert box and "overflow-x: auto" in box.group(1) and "max-width: 100%" in box.group(1)
    assert "local" in box.group(1) and "radial-gradient" in box.group(1)  # the edge shadows
    names = r'\.table-scroll td:not\(\.num\), \.table-scroll th\[scope="row"\][^{]*\{ min-width: 10rem; \}'
    assert re.search(names, css)
    script = (STATIC / "layout.js").read_text(encoding="utf-8")
    assert "scrollWidth > box.clientWidth" in script and "data-scroll-hint" in script
