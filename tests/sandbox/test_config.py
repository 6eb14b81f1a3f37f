"""The sandbox's settings: defaults in Development and Test, none in Production, which refuses the sandbox unless
told otherwise."""

from __future__ import annotations

import pytest

import config as settings_module
from config import ConfigError, Development, Production
from disburse.payments.sandbox_client import SandboxProvider, check_sandbox_allowed


def _as_mapping(config) -> dict:
    return {name: getattr(config, name) for name in dir(config) if name.isupper()}


@pytest.fixture
def production_env(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s3cret-for-the-test-at-least-32-characters")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/disburse")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/0")
    monkeypatch.setenv("DISBURSE_PAYMENT_PROVIDER", "sandbox")  # chosen on purpose, as production must
    for name in ("DISBURSE_SANDBOX_TOKEN", "DISBURSE_SANDBOX_WEBHOOK_SECRET", "DISBURSE_SANDBOX_IN_PRODUCTION"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_development_and_test_can_use_the_sandbox_as_they_are():
    for config in (Development(), settings_module.Test()):
        settings = _as_mapping(config)
        check_sandbox_allowed(settings)
        assert settings["DISBURSE_SANDBOX_URL"] == "http://127.0.0.1:5001"
        assert settings["DISBURSE_SANDBOX_WEBHOOK_SECRET"].startswith("whsec_")
        SandboxProvider.from_config(settings).close()
    assert settings_module.Test().DISBURSE_SANDBOX_RETURN_RATE == 0.0


def test_production_refuses_the_sandbox_unless_told(production_env):
    with pytest.raises(ConfigError, match="DISBURSE_SANDBOX_IN_PRODUCTION"):
        check_sandbox_allowed(_as_mapping(Production()))
    production_env.setenv("DISBURSE_SANDBOX_IN_PRODUCTION", "1")
    with pytest.raises(ConfigError, match="DISBURSE_SANDBOX_TOKEN, DISBURSE_SANDBOX_WEBHOOK_SECRET"):
        check_sandbox_allowed(_as_mapping(Production()))
    production_env.setenv("DISBURSE_SANDBOX_TOKEN", "a-long-random-token")
    production_env.setenv("DISBURSE_SANDBOX_WEBHOOK_SECRET", "whsec_c2VjcmV0LWZvci10aGUtdGVzdA==")
    check_sandbox_allowed(_as_mapping(Production()))


def test_the_sandbox_settings_are_read_and_checked(monkeypatch):
    monkeypatch.setenv("DISBURSE_SANDBOX_URL", "http://10.0.0.5:7001")
    monkeypatch.setenv("DISBURSE_SANDBOX_RETURN_RATE", "0.2")
    config = Development()
    assert (config.DISBURSE_SANDBOX_URL, config.DISBURSE_SANDBOX_RETURN_RATE) == ("http://10.0.0.5:7001", 0.2)
    monkeypatch.setenv("DISBURSE_SANDBOX_RETURN_RATE", "2")
    with pytest.raises(ConfigError, match="DISBURSE_SANDBOX_RETURN_RATE"):
        Development()


def test_the_sandbox_timeout_is_read_checked_and_used(monkeypatch):
    assert Development().DISBURSE_SANDBOX_TIMEOUT_S == 10.0
    monkeypatch.setenv("DISBURSE_SANDBOX_TIMEOUT_S", "0.5")
    settings = _as_mapping(Development())
    provider = SandboxProvider.from_config(settings)
    try:
        timeout = provider._client.timeout
        assert (timeout.read, timeout.connect) == (0.5, 0.5)
    finally:
        provider.close()
    monkeypatch.setenv("DISBURSE_SANDBOX_TIMEOUT_S", "0")
    with pytest.raises(ConfigError, match="DISBURSE_SANDBOX_TIMEOUT_S"):
        Development()
