"""The mail settings are read and checked in config.py, like every other: a bad value stops the start, in both
languages; Production sends nothing without DISBURSE_SMTP_URL, and needs a From address and the site's address
with it."""

from __future__ import annotations

import pytest

import config as settings
from config import ConfigError, Development, Production

PRODUCTION = {
    "SECRET_KEY": "s3cret-for-the-test-at-least-32-characters",
    "DATABASE_URL": "postgresql://db.example/disburse",
    "REDIS_URL": "redis://cache.example:6379/0",
    "DISBURSE_PAYMENT_PROVIDER": "sandbox",
}
MAIL = ("DISBURSE_SMTP_URL", "DISBURSE_MAIL_FROM", "DISBURSE_BASE_URL", "DISBURSE_MAIL_DIR")


@pytest.fixture
def clean_env(monkeypatch):
    for name in MAIL:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_smtp_development_and_test_write_files_and_production_sends_nothing(clean_env):
    assert Development().DISBURSE_MAIL_TRANSPORT == "file"
    assert settings.Test().DISBURSE_MAIL_TRANSPORT == "file"
    assert Development().DISBURSE_MAIL_DIR.endswith("mail")
    for name, value in PRODUCTION.items():
        clean_env.setenv(name, value)
    assert Production().DISBURSE_MAIL_TRANSPORT == "off"


def test_production_with_smtp_needs_a_from_address_and_the_sites_address(clean_env):
    for name, value in PRODUCTION.items():
        clean_env.setenv(name, value)
    clean_env.setenv("DISBURSE_SMTP_URL", "smtp://mailer:pw@smtp.example.vn:587")
    with pytest.raises(ConfigError, match="DISBURSE_MAIL_FROM, DISBURSE_BASE_URL") as refused:
        Production()
    assert "DISBURSE_MAIL_FROM, DISBURSE_BASE_URL" in refused.value.vi
    clean_env.setenv("DISBURSE_MAIL_FROM", "BHXH Hà Nội <thongbao@bhxh.example.vn>")
    clean_env.setenv("DISBURSE_BASE_URL", "https://chitra.example.vn/")
    config = Production()
    assert config.DISBURSE_MAIL_TRANSPORT == "smtp"
    assert config.DISBURSE_BASE_URL == "https://chitra.example.vn"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DISBURSE_SMTP_URL", "http://smtp.example.vn"),
        ("DISBURSE_SMTP_URL", "smtp://"),
        ("DISBURSE_SMTP_URL", "smtp://user:secret@host:99999"),
        ("DISBURSE_MAIL_FROM", "nobody"),
        ("DISBURSE_BASE_URL", "chitra.example.vn"),
        ("DISBURSE_BASE_URL", "https://"),
        ("DISBURSE_SMTP_TIMEOUT_S", "0"),
        ("DISBURSE_MAIL_RETRY_BASE_S", "-1"),
        ("DISBURSE_MAIL_MAX_ATTEMPTS", "0"),
        ("DISBURSE_MAIL_BATCH", "x"),
        ("DISBURSE_REMINDER_WORKING_DAYS", "21"),
    ],
)
def test_a_bad_mail_setting_is_refused_in_both_languages(clean_env, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        Development()
    assert name in refused.value.vi and name in refused.value.en
    assert "secret" not in refused.value.en and "secret" not in refused.value.vi  # a password is never repeated


def test_the_retry_cap_is_not_below_the_base(clean_env):
    clean_env.setenv("DISBURSE_MAIL_RETRY_BASE_S", "600")
    clean_env.setenv("DISBURSE_MAIL_RETRY_CAP_S", "60")
    with pytest.raises(ConfigError, match="DISBURSE_MAIL_RETRY_CAP_S"):
        Development()


def test_smtp_urls_that_are_taken(clean_env):
    for url in ("smtp://smtp.example.vn", "smtps://u:p%40ss@smtp.example.vn:465", "smtp://u:p@127.0.0.1:587"):
        clean_env.setenv("DISBURSE_SMTP_URL", url)
        config = Development()
        assert url == config.DISBURSE_SMTP_URL
