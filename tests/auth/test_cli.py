"""`disburse users create` and `disburse tokens create`."""

from __future__ import annotations

import pytest

from disburse.auth.service import get_user_by_email, user_for_token, verify_password
from tests.factories import create_employer


@pytest.fixture
def cli(app, db_session):
    return app.test_cli_runner()


def test_create_caseworker_with_password_from_stdin(cli):
    result = cli.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Lan@BHXH.vn",
            "--role",
            "caseworker",
            "--district",
            "017",
            "--password-stdin",
        ],
        input="mot-mat-khau-dai\n",
    )
    assert result.exit_code == 0, result.output
    user = get_user_by_email("lan@bhxh.vn")
    assert user.district_code == "017" and user.province_code == "01"
    assert verify_password(user, "mot-mat-khau-dai")
    assert not verify_password(user, "wrong-password")


def test_create_employer_user_needs_a_known_unit(cli):
    employer = create_employer()
    ok = cli.invoke(
        args=["users", "create", "--email", "hr@unit.vn", "--role", "employer", "--employer", employer.unit_code]
    )
    assert ok.exit_code == 0, ok.output
    assert get_user_by_email("hr@unit.vn").employer_id == employer.id
    bad = cli.invoke(args=["users", "create", "--email", "hr2@unit.vn", "--role", "employer", "--employer", "NOPE"])
    assert bad.exit_code == 2 and "There is no employer with unit code 'NOPE'" in bad.output
    assert "Không có đơn vị mã 'NOPE'" in bad.output  # both languages, as every command says it


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (["--role", "caseworker"], None, "needs --district"),
        (["--role", "caseworker", "--district", "999"], None, "no district with code '999'"),
        (["--role", "supervisor", "--province", "00"], None, "no province with code '00'"),
        (["--role", "admin", "--password-stdin"], "short\n", "at least 10 characters"),
    ],
)
def test_refusals_are_explained(cli, args, stdin, expected):
    result = cli.invoke(args=["users", "create", "--email", "x@example.vn", *args], input=stdin)
    assert result.exit_code == 2
    assert expected in result.output
    assert get_user_by_email("x@example.vn") is None


def test_duplicate_email_is_refused_case_insensitively(cli):
    assert cli.invoke(args=["users", "create", "--email", "a@example.vn", "--role", "admin"]).exit_code == 0
    again = cli.invoke(args=["users", "create", "--email", "A@Example.vn", "--role", "admin"])
    assert again.exit_code == 2 and "already exists" in again.output


def test_token_is_printed_once_and_works(cli):
    cli.invoke(args=["users", "create", "--email", "sup@example.vn", "--role", "supervisor"])
    result = cli.invoke(args=["tokens", "create", "--email", "sup@example.vn"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert token.startswith("dsb_")
    assert user_for_token(token).email == "sup@example.vn"
    missing = cli.invoke(args=["tokens", "create", "--email", "nobody@example.vn"])
    assert missing.exit_code == 2 and "no user" in missing.output
