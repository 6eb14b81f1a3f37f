"""A configuration that cannot be used is said in Vietnamese and English: "Cấu hình không dùng được:" was followed by
the English words. Production refuses a SECRET_KEY shorter than 32 characters (docs/security.md asks for a long
random one), saying how to make one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, Development, Production, load_config

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DISBURSE_ENV": "production",
    "SECRET_KEY": "k" * 32,
    "DATABASE_URL": "postgresql://db.example/disburse",
    "REDIS_URL": "redis://cache.example:6379/0",
    "DISBURSE_PAYMENT_PROVIDER": "cash",
}


@pytest.mark.parametrize(
    ("env", "vi", "en"),
    [
        ({"DISBURSE_ENV": "staging"}, "DISBURSE_ENV phải là một trong", "DISBURSE_ENV must be one of"),
        ({"DISBURSE_PAYMENT_PROVIDER": "paypal"}, "phải là sandbox, bankfile hoặc cash", "must be sandbox, bankfile"),
        ({"DISBURSE_SANDBOX_FAILURE_RATE": "x"}, "phải là một số từ 0.0 đến 1.0", "must be a number between"),
        ({"DISBURSE_SANDBOX_FAILURE_RATE": "2"}, "phải nằm trong khoảng từ 0.0 đến 1.0", "must be between"),
        ({"DISBURSE_TOKEN_DAYS": "0"}, "phải là một số nguyên từ 1 đến 3650", "must be a whole number from 1"),
        ({"REDIS_SENTINELS": "nope"}, "phải là các cặp host:port", "must be host:port pairs"),
        # A server's URL of another kind, and a programme day not ISO: said at start, naming the variable (they were
        # tracebacks from SQLAlchemy, the rate limiter or the programme clock, naming none).
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL phải có dạng postgresql://", "DATABASE_URL must look like"),
        ({"DATABASE_URL": "disburse"}, "DATABASE_URL phải có dạng", "(got 'disburse')"),
        ({"DATABASE_REPLICA_URL": "db2:5432"}, "DATABASE_REPLICA_URL phải có dạng", "DATABASE_REPLICA_URL must look"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL phải có dạng redis://", "REDIS_URL must look like redis://"),
        ({"REDIS_URL": "http://cache:6379/0"}, "REDIS_URL phải có dạng", "REDIS_URL must look like"),
        ({"REDIS_URL": "http://:secret@cache/0"}, "(đang là …'cache/0')", "(got …'cache/0')"),
        ({"DISBURSE_SANDBOX_URL": "127.0.0.1:5001"}, "DISBURSE_SANDBOX_URL phải có dạng http://", "must look like"),
        ({"DISBURSE_SANDBOX_CALLBACK_URL": "ftp://x/e"}, "DISBURSE_SANDBOX_CALLBACK_URL phải", "must look like"),
        ({"DISBURSE_TODAY": "31/12/2026"}, "DISBURSE_TODAY phải là một ngày dạng YYYY-MM-DD", "(got '31/12/2026')"),
        ({"DISBURSE_TODAY": "2026-02-30"}, "DISBURSE_TODAY phải là một ngày", "must be a date written YYYY-MM-DD"),
        (
            {"DISBURSE_PAYMENT_RETRY_BASE_S": "60", "DISBURSE_PAYMENT_RETRY_CAP_S": "10"},
            "không được nhỏ hơn DISBURSE_PAYMENT_RETRY_BASE_S",
            "must not be below DISBURSE_PAYMENT_RETRY_BASE_S",
        ),
        (
            {**PRODUCTION, "SECRET_KEY": ""},
            "Môi trường production cần đặt các biến môi trường sau: SECRET_KEY (tạo SECRET_KEY bằng: python3 -c",
            "Production needs these environment variables set: SECRET_KEY (make SECRET_KEY with: python3 -c",
        ),
        (
            {**PRODUCTION, "SECRET_KEY": "k" * 31},
            "SECRET_KEY quá ngắn (31 ký tự): production cần một khóa ngẫu nhiên dài ít nhất 32 ký tự",
            "SECRET_KEY is too short (31 characters): production needs a random key of at least 32 characters",
        ),
    ],
)
def test_every_configuration_error_is_said_in_both_languages(monkeypatch, env, vi, en):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_config()
    assert vi in raised.value.vi and en in raised.value.en and str(raised.value) == raised.value.en
    assert raised.value.vi != raised.value.en
    assert ":secret@" not in raised.value.vi + raised.value.en  # a password in a URL is never repeated


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "postgres://u:p@db:5432/x"),
        ("DATABASE_URL", "postgresql+psycopg://db/x"),
        ("REDIS_URL", "rediss://:pw@cache:6380/2"),
        ("REDIS_URL", "unix:///run/redis.sock?db=0"),
        ("DATABASE_URL", "postgresql://postgres:@/disburse?host=/tmp/pg"),  # the embedded server's, a socket
        ("DISBURSE_SANDBOX_URL", "https://sandbox.example"),
        ("DISBURSE_TODAY", "2021-10-20"),
    ],
)
def test_the_urls_and_the_day_the_docs_give_are_taken(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    assert getattr(load_config(), name) == value


def test_a_command_says_an_unusable_url_in_both_languages_without_a_traceback(tmp_path):
    env = {**os.environ, "REDIS_URL": "localhost:6379", "DISBURSE_INSTANCE": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "disburse.cli", "tokens", "list", "--email", "x@example.vn"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Cấu hình không dùng được: REDIS_URL phải có dạng" in done.stderr
    assert "Unusable configuration: REDIS_URL must look like" in done.stderr and "Traceback" not in done.stderr


def test_production_takes_a_key_of_32_characters(monkeypatch):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    assert Production().SECRET_KEY == "k" * 32
    monkeypatch.setenv("SECRET_KEY", "short")
    assert Development().SECRET_KEY == "short"  # only production asks for a long one


def test_a_command_says_the_configuration_error_in_both_languages(tmp_path):
    env = {**os.environ, **PRODUCTION, "SECRET_KEY": "too-short", "DISBURSE_INSTANCE": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "disburse.cli", "web"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "Cấu hình không dùng được: SECRET_KEY quá ngắn (9 ký tự)" in done.stderr
    assert "Unusable configuration: SECRET_KEY is too short (9 characters)" in done.stderr
    assert "secrets.token_urlsafe(48)" in done.stderr and "Traceback" not in done.stderr
