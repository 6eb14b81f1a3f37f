"""Every option that takes a province's (2 digits) or a district's (3 digits) code puts back the leading zeros a
spreadsheet or the operator dropped, as the registry import does: ``users create --role supervisor --province 1``
said "There is no province with code 1", ``payments cash-list --district 17`` "There is no district with code
'17'"."""

from __future__ import annotations

import click
import pytest
from sqlalchemy import select

from disburse.auth.models import User
from disburse.cli import DISTRICT_CODE, PROVINCE_CODE
from tests.test_cli_ids import _commands


def test_every_province_or_district_option_takes_the_code_without_its_leading_zeros(app):
    options = {
        (" ".join(path), option.name): option.type
        for path, command in _commands(app.cli)
        for option in command.params
        if isinstance(option, click.Option) and option.name in ("province", "district")
    }
    assert set(options) >= {
        ("users create", "province"),
        ("users create", "district"),
        ("payments cash-list", "district"),
    }
    for (_path, name), kind in options.items():
        assert kind is (PROVINCE_CODE if name == "province" else DISTRICT_CODE), (_path, name)


@pytest.mark.parametrize(
    ("args", "column", "stored"),
    [
        (["--role", "supervisor", "--province", "1"], User.province_code, "01"),
        (["--role", "caseworker", "--district", "17"], User.district_code, "017"),
        (["--role", "caseworker", "--district", " 1 "], User.district_code, "001"),
    ],
)
def test_users_create_puts_back_the_leading_zeros(app, db_session, args, column, stored):
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", "zeros@example.vn", *args])
    assert result.exit_code == 0, result.output
    assert db_session.scalar(select(column).where(User.email == "zeros@example.vn")) == stored


def test_the_cash_list_puts_back_the_district_codes_leading_zero(app, db_session, tmp_path):
    result = app.test_cli_runner().invoke(args=["payments", "cash-list", "--district", "17", "--program", "NQ116"])
    assert result.exit_code == 0, result.output
    assert "(017," in result.output and "district with code" not in result.output


def test_a_code_that_is_not_digits_is_left_for_the_lookup_to_refuse(app, db_session):
    result = app.test_cli_runner().invoke(args=["payments", "cash-list", "--district", "1a", "--program", "NQ116"])
    assert result.exit_code == 2 and "'1a'" in result.output, result.output
