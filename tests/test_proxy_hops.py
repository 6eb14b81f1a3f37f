"""Behind a load balancer, the client's address comes from X-Forwarded-For only when DISBURSE_PROXY_HOPS says how
many proxies to trust; otherwise the header is ignored (a client could write any address in it)."""

from __future__ import annotations

import pytest

from config import ConfigError, Development

DATA = {"email": "nobody@bhxh.example.vn", "password": "sai-mat-khau-roi"}


def _attempt(client, forwarded_for: str) -> int:
    return client.post(
        "/login", data=DATA, headers={"X-Forwarded-For": forwarded_for}, environ_base={"REMOTE_ADDR": "10.0.0.1"}
    ).status_code


def test_without_proxy_hops_the_header_is_ignored(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LIMIT_SIGN_IN_PER_ADDRESS", "2 per minute")
    assert [_attempt(client, f"198.51.100.{n}") for n in range(3)] == [400, 400, 429]


def test_with_one_proxy_hop_the_client_address_is_the_forwarded_one(app_on_redis, redis_url, monkeypatch):
    monkeypatch.setenv("DISBURSE_PROXY_HOPS", "1")
    behind = app_on_redis(redis_url)
    behind.config["LIMIT_SIGN_IN_PER_ADDRESS"] = "2 per minute"
    client = behind.test_client()
    assert [_attempt(client, f"198.51.100.{n}") for n in range(3)] == [400, 400, 400]
    assert [_attempt(client, "203.0.113.7") for _ in range(3)] == [400, 400, 429]
    # Only the last hop is trusted: what the client itself wrote in front of it does not count.
    assert _attempt(client, "192.0.2.99, 203.0.113.7") == 429


def test_proxy_hops_are_checked(monkeypatch):
    assert Development().DISBURSE_PROXY_HOPS == 0
    monkeypatch.setenv("DISBURSE_PROXY_HOPS", "many")
    with pytest.raises(ConfigError, match="DISBURSE_PROXY_HOPS"):
        Development()
