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
