from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, Development, Production, load_config


def test_production_refuses_to_start_without_secrets(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DISBURSE_PAYMENT_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY, DATABASE_URL, REDIS_URL, DISBURSE_PAYMENT_PROVIDER"):
        Production()
    monkeypatch.setenv("SECRET_KEY", "s3cret-for-the-test-at-least-32-characters")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/disburse")
    with pytest.raises(ConfigError, match="REDIS_URL"):
        Production()
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/0")
    with pytest.raises(ConfigError, match="DISBURSE_PAYMENT_PROVIDER"):  # no default for where money goes
        Production()
    monkeypatch.setenv("DISBURSE_PAYMENT_PROVIDER", "sandbox")
    config = Production()
    assert config.SESSION_COOKIE_SECURE is True


def test_disburse_env_chooses_the_class(monkeypatch):
    monkeypatch.setenv("DISBURSE_ENV", "development")
    assert isinstance(load_config(), Development)
    monkeypatch.setenv("DISBURSE_ENV", "staging")
    with pytest.raises(ConfigError, match="DISBURSE_ENV"):
        load_config()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DISBURSE_SANDBOX_FAILURE_RATE", "1.5"),
        ("DISBURSE_SANDBOX_DELAY_S", "x"),
        # Digits to str.isdigit(), not to int().
        ("DISBURSE_TOKEN_DAYS", "²"),
        ("DISBURSE_WEB_TIMEOUT_S", "1"),
        ("REDIS_SENTINELS", "sentinel:²⁶³⁷⁹"),
    ],
)
def test_bad_numbers_are_refused_with_the_variable_named(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        Development()


def test_unknown_payment_provider_is_refused(monkeypatch):
    monkeypatch.setenv("DISBURSE_PAYMENT_PROVIDER", "paypal")
    with pytest.raises(ConfigError, match="sandbox, bankfile or cash"):
        Development()


@pytest.mark.parametrize(
    ("env", "said"),
    [
        (
            {"DATABASE_URL": "postgresql://postgres@127.0.0.1:9/nowhere"},
            "Cannot reach PostgreSQL (127.0.0.1:9/nowhere, DATABASE_URL):",
        ),
        ({"DISBURSE_SANDBOX_TIMEOUT_S": "abc"}, "Unusable configuration: DISBURSE_SANDBOX_TIMEOUT_S must be"),
    ],
)
def test_a_command_that_cannot_start_says_why_in_both_languages_without_a_traceback(env, said):
    """An operator's command met a PostgreSQL it could not reach, or a setting out of range, with a traceback (the
    production commands said it; the app's own did not). Every command of the group says it, exit 2. Run as the
    operator runs it, in a process of its own (an app made here would leave its settings to the tests after it)."""
    import os
    import subprocess
    import sys

    settings = {
        **os.environ,
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "DISBURSE_INSTANCE": os.environ.get("DISBURSE_INSTANCE", "instance"),
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", "from disburse.cli import main; main()", "payments", "batches"],
        env=settings,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert said in output and "Traceback" not in output and "No such command" not in output
    assert output.count(said) == 1
    vietnamese = "Không kết nối được PostgreSQL" if "PostgreSQL" in said else "Cấu hình không dùng được"
    assert vietnamese in output


def test_ctrl_c_is_said_in_both_languages_with_the_shells_code_for_it():
    """Click said "Aborted!" in English and exited 1, which an import uses for "some rows refused": a script could
    not tell a stopped command from a partial one."""
    import click
    from click.testing import CliRunner

    from disburse.cli import main

    @click.command("interrupted-for-test")
    def interrupted() -> None:
        raise KeyboardInterrupt

    main.add_command(interrupted)
    try:
        result = CliRunner().invoke(main, ["interrupted-for-test"])
    finally:
        main.commands.pop("interrupted-for-test")
    assert result.exit_code == 130
    assert "Đã dừng theo yêu cầu (Ctrl-C)." in result.output and "Stopped at your request (Ctrl-C)." in result.output
    assert "Aborted!" not in result.output


@pytest.mark.parametrize("argv", [[], ["--help"], ["payments", "--help"], ["users", "create", "--help"]])
def test_asking_for_help_starts_no_server(tmp_path, argv):
    """On a fresh machine `disburse --help` started the embedded servers (its PostgreSQL's first start creates a whole
    cluster) and took seconds; help connects to nothing, whatever the environment names."""
    import os
    import subprocess
    import sys

    settings = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    settings["DISBURSE_INSTANCE"] = str(tmp_path / "instance")
    result = subprocess.run(  # noqa: S603 - our command, fixed arguments
        [str(Path(sys.executable).with_name("disburse")), *argv],
        env=settings,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == (0 if argv else 2), result.stderr  # a bare `disburse` is a usage error, said so
    said = result.stdout if argv else result.stderr
    assert said.startswith(" ".join(["Usage: disburse", *argv[:-1], "[OPTIONS]"])), said
    assert not (tmp_path / "instance").exists(), result.stderr
