"""The dashboard's figures kept for a few seconds (DISBURSE_DASHBOARD_CACHE_S): every viewer of an area sees the same
figures of the same moment, with the time they were read; each viewer keeps their own header; another language is
its own, another order or limit is read each time; once the time is up the figures are read again; what Redis holds
is used only under our signature; without Redis the page still answers."""

from __future__ import annotations

import re
import time

import pytest

from disburse.extensions import db
from tests.dashboard.conftest import DONG_ANH, PASSWORD, sign_in
from tests.factories import create_claim, create_employee, create_employer, create_user


def _paid(html: str) -> str:
    found = re.search(r'data-figure="paid">([^<]*)<', html)
    assert found
    return found.group(1)


def _read_at(html: str) -> str:
    found = re.search(r'id="as-of">[^<]*?(\d\d/\d\d/\d{4} \d\d:\d\d:\d\d)<', html)
    assert found
    return found.group(1)


def _kept_keys(app) -> list[bytes]:
    from disburse.dashboard.cache import PREFIX, _client

    with app.app_context():
        return list(_client().scan_iter(f"{PREFIX}*"))


def _forget(app) -> None:
    from disburse.dashboard.cache import _client

    with app.app_context():
        for key in _kept_keys(app):
            _client().delete(key)


@pytest.fixture
def kept(app, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_DASHBOARD_CACHE_S", 60)
    _forget(app)
    yield
    _forget(app)


def _one_more_paid() -> None:
    unit = create_employer(district_code=DONG_ANH, name="Công ty Mới")
    create_claim("paid", employee=create_employee(employer_id=unit.id, district_code=DONG_ANH))
    db.session.flush()


def test_viewers_of_an_area_share_its_figures_for_the_time_set(app, client, country, kept):
    first, second = create_user("supervisor", password=PASSWORD), create_user("supervisor", password=PASSWORD)
    sign_in(client, first)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert _paid(page) == "6"
    _one_more_paid()
    other = app.test_client()
    sign_in(other, second)
    shared = other.get("/dashboard/").get_data(as_text=True)
    assert (_paid(shared), _read_at(shared)) == ("6", _read_at(page))  # the same moment's figures…
    assert second.email in shared and first.email not in shared  # …under the viewer's own header
    # Another order or limit: read now, and not kept.
    assert _paid(client.get("/dashboard/?sort=paid&order=desc").get_data(as_text=True)) == "7"
    assert _paid(client.get("/dashboard/?table=units&limit=5").get_data(as_text=True)) == "7"
    assert len(_kept_keys(app)) == 1
    # Another language: its own.
    second.locale = "en"
    db.session.flush()
    english = other.get("/dashboard/").get_data(as_text=True)
    assert "Figures as of" in english and _paid(english) == "7"
    assert len(_kept_keys(app)) == 2
    # Once the time is up (here: the keys expire), the figures are read again.
    _forget(app)
    assert _paid(client.get("/dashboard/").get_data(as_text=True)) == "7"


def test_what_redis_holds_is_shown_only_under_our_signature(app, client, country, kept):
    from disburse.dashboard.cache import _client

    sign_in(client, create_user("supervisor", password=PASSWORD))
    client.get("/dashboard/")
    (key,) = _kept_keys(app)
    forged = b"\0" * 32 + b'<p data-figure="paid">999</p><script>alert(1)</script>'
    with app.app_context():
        _client().set(key, forged, ex=60)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert _paid(page) == "6" and "<script>" not in page
    with app.app_context():
        assert _client().get(key) != forged  # replaced by the figures read, signed


def test_without_the_time_set_every_view_reads_the_figures(client, country):
    sign_in(client, create_user("supervisor", password=PASSWORD))
    assert _paid(client.get("/dashboard/").get_data(as_text=True)) == "6"
    _one_more_paid()
    assert _paid(client.get("/dashboard/").get_data(as_text=True)) == "7"


@pytest.mark.parametrize("broken", ["dead_redis_url", "hanging_redis_url"])
def test_without_redis_the_figures_are_read_for_each_view(request, client, country, app_on_redis, broken):
    supervisor = create_user("supervisor", password=PASSWORD)
    sign_in(client, supervisor)
    db.session.commit()
    cut_off = app_on_redis(request.getfixturevalue(broken))
    cut_off.config["DISBURSE_DASHBOARD_CACHE_S"] = 60
    browser = cut_off.test_client()
    browser.set_cookie("session", client.get_cookie("session").value)
    started = time.monotonic()
    response = browser.get("/dashboard/")
    assert response.status_code == 200, response.status_code
    assert _paid(response.get_data(as_text=True)) == "6"
    assert time.monotonic() - started < 5
