"""Redis down or hanging: the health check still answers within 2 s, sign-in and the API answer a clear 503 (never
a 500, never a hang), pages that need no Redis keep working; the rate limiter counts in Redis, shared by every
process."""

from __future__ import annotations

import time

import pytest
import redis

import config
from disburse.auth.service import create_token
from disburse.extensions import limiter
from tests.factories import create_user

BROKEN = ["dead_redis_url", "hanging_redis_url"]


@pytest.fixture(params=BROKEN)
def broken_app(request, app_on_redis):
    """An app whose Redis refuses every connection, or accepts and never answers."""
    return app_on_redis(request.getfixturevalue(request.param))


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_health_answers_within_two_seconds_whatever_redis_does(broken_app):
    response, took = _timed(lambda: broken_app.test_client().get("/api/v1/health"))
    body = response.get_json()
    assert took < 2.0, f"health took {took:.2f} s"
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["database"] == {"ok": True}
    # Signed out: how it failed in plain words, not the client library's exception (an admin's token gets that).
    assert body["redis"] == {"ok": False, "error": "Unavailable"}
    assert body["workers"]["ok"] is False and body["workers"]["count"] == 0


def test_an_admin_is_told_which_exception_it_was(broken_app, db_session):
    token = create_token(create_user("admin"))
    response = broken_app.test_client().get("/api/v1/health", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.get_json()["redis"]["error"] in {"ConnectionError", "TimeoutError"}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("vi", "Hệ thống tạm thời không nhận được lần gửi này; những gì bạn đã nhập vẫn ở dưới."),
        ("en", "The system could not take this send just now; what you typed is still below."),
    ],
)
@pytest.mark.parametrize(
    ("url", "data", "kept"),
    [
        ("/login", {"email": "lan@bhxh.vn", "password": "mat-khau-rat-dai"}, "lan@bhxh.vn"),
        (
            "/people/status",
            {"si_code": "0100000001", "national_id": "001090000001", "date_of_birth": "01/01/1990"},
            "0100000001",
        ),
    ],
)
def test_a_form_sent_while_redis_is_down_comes_back_as_a_clear_503(broken_app, language, expected, url, data, kept):
    """Sign-in and the public forms cannot count their limits: nothing is done, and the page comes back with what
    was typed (never the password) and says to send again in a few minutes; it was an error page, and said "signing
    in" on the person's pages too."""
    client = broken_app.test_client()
    response, took = _timed(lambda: client.post(url, data=data, headers={"Accept-Language": language}))
    page = response.get_data(as_text=True)
    assert took < 2.0, f"{url} took {took:.2f} s"
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert expected in page
    assert f'value="{kept}"' in page and "mat-khau-rat-dai" not in page
    assert f'lang="{language}"' in page and 'class="site-header"' in page  # the site's layout


def test_api_is_a_503_in_the_api_shape(broken_app):
    response, took = _timed(
        lambda: broken_app.test_client().get(
            "/api/v1/employees/0100000001/support",
            headers={"Authorization": "Bearer dsb_whatever", "Accept-Language": "en"},
        )
    )
    assert took < 2.0
    assert response.status_code == 503
    assert response.get_json() == {
        "error": "unavailable",
        "message": "The service is briefly unavailable; please try again in a few minutes.",
        "fields": {},
    }


def test_pages_that_need_no_redis_still_work(broken_app):
    client = broken_app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/login").status_code == 200


def test_the_limiter_counts_in_redis_shared_by_every_app(app, app_on_redis, redis_url):
    """Two apps (as two web processes would) on the same Redis share one count: the third sign-in attempt from one
    address is refused whichever receives it. Each app binds the limiter to a storage of its own; in memory, the
    count would start again at every rebinding."""
    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis")
    other = app_on_redis(redis_url)
    other.config["LIMIT_SIGN_IN_PER_ADDRESS"] = app.config["LIMIT_SIGN_IN_PER_ADDRESS"] = "2 per minute"
    try:
        data = {"email": "nobody@bhxh.vn", "password": "mat-khau-rat-dai"}
        assert other.test_client().post("/login", data=data).status_code == 400
        limiter.init_app(app)
        assert app.test_client().post("/login", data=data).status_code == 400
        assert app.test_client().post("/login", data=data).status_code == 429
        keys = redis.Redis.from_url(redis_url).keys(f"{app.config['LIMIT_STORAGE_PREFIX']}:*")
        assert keys, "the counts are in Redis"
    finally:
        app.config["LIMIT_SIGN_IN_PER_ADDRESS"] = config.Test.LIMIT_SIGN_IN_PER_ADDRESS
