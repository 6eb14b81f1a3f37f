"""Every command that reads or writes the database refuses, before it starts, a database without disburse's schema
or behind the code (exit 2, both languages, `disburse db upgrade` named), and a database that does not exist
(naming `createdb`): on a database never migrated, `disburse users create` ended in a 97-line traceback ending in
``relation "users" does not exist``. Run as the operator runs them, each in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from disburse import runtime

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def empty_database(database_url: str) -> Iterator[str]:
    url = runtime.with_database(database_url, f"{runtime.database_name(database_url)}_no_schema")
    runtime.drop_database(url)
    runtime.ensure_database(url)
    yield url
    runtime.drop_database(url)


def _run(args: list[str], database_url: str, redis_url: str, tmp_path: Path) -> tuple[int, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("REDIS_SENTINEL", "DATABASE_REP"))}
    env.update(
        {
            "DISBURSE_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DISBURSE_INSTANCE": str(tmp_path),
        }
    )
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "disburse.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["users", "create", "--email", "a@b.vn", "--role", "admin"],
        ["tokens", "list", "--email", "a@b.vn"],
        ["import", "employers", "units.csv"],
        ["seed", "--employers", "1", "--employees", "1"],
        ["lists", "build"],
        ["forms", "list", "DN01000001", "--out", "out.xlsx"],
        ["payments", "batches"],
        ["payments", "send", "1"],
        ["payments", "reconcile"],
        ["sandbox", "serve"],
    ],
)
def test_a_command_on_a_database_never_migrated_says_to_upgrade_it(args, empty_database, redis_url, tmp_path):
    code, output = _run(args, empty_database, redis_url, tmp_path)
    assert code == 2, output
    assert "chưa có lược đồ của disburse" in output and "has no disburse schema yet" in output, output
    assert output.count("disburse db upgrade") == 2, output
    assert "Traceback" not in output


def test_a_command_on_a_database_behind_the_code_says_to_upgrade_it(empty_database, redis_url, tmp_path):
    with psycopg.connect(runtime.libpq_url(empty_database), autocommit=True) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('0019')")
    try:
        code, output = _run(["payments", "batches"], empty_database, redis_url, tmp_path)
    finally:
        with psycopg.connect(runtime.libpq_url(empty_database), autocommit=True) as connection:
            connection.execute("DROP TABLE alembic_version")
    assert code == 2, output
    assert "chưa cập nhật (đang ở 0019" in output and "is behind the code (at 0019" in output, output


def test_a_database_that_does_not_exist_is_said_with_how_to_create_it(database_url, redis_url, tmp_path):
    url = runtime.with_database(database_url, f"{runtime.database_name(database_url)}_never_created")
    runtime.drop_database(url)
    code, output = _run(["lists", "build"], url, redis_url, tmp_path)
    name = runtime.database_name(url)
    assert code == 2, output
    assert f"chưa có cơ sở dữ liệu {name}" in output and f"has no database {name}" in output, output
    assert output.count(f"`createdb {name}`") == 2 and "Traceback" not in output


@pytest.mark.parametrize("args", [["db", "current"], ["routes"], ["payments"], ["users", "create", "--help"]])
def test_the_commands_that_need_no_schema_run_on_a_database_without_one(args, empty_database, redis_url, tmp_path):
    code, output = _run(args, empty_database, redis_url, tmp_path)
    assert "disburse db upgrade" not in output and "Traceback" not in output, output
    assert code == (2 if args == ["payments"] else 0), output  # a group without its command: Click's usage, exit 2
