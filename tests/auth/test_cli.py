"""`disburse users create` and `disburse tokens create`."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from disburse.auth.models import AuditLog
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
    assert bad.exit_code == 2 and "--employer: There is no employer with unit code NOPE." in bad.output
    assert "--employer: Không có đơn vị mã NOPE." in bad.output  # both languages, as every command says it


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (["--role", "caseworker"], None, "--district: A caseworker needs the district they work."),
        (["--role", "caseworker", "--district", "999"], None, "--district: There is no district with code 999."),
        (["--role", "supervisor", "--province", "00"], None, "--province: There is no province with code 00."),
        (["--role", "admin", "--password-stdin"], "short\n", "at least 10 characters"),
        # The scope a role does not take is refused, as on the admins' pages, never dropped or mixed in.
        (["--role", "supervisor", "--district", "017"], None, "--district: This role does not take this field"),
        (["--role", "caseworker", "--district", "017", "--province", "79"], None, "--province: This role does not"),
        (["--role", "admin", "--province", "79"], None, "--province: This role does not take this field"),
        (["--role", "supervisor", "--employer", "NOPE"], None, "--employer: This role does not take this field"),
        (["--role", "employer"], None, "--employer: An employer user needs their unit code."),
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


def test_the_command_and_the_admins_page_take_the_same_scopes(cli, app, db_session):
    """One rule (:func:`disburse.auth.service.check_scope`) for both ways of making a user: for every role and every
    combination of scope fields, the command makes the user exactly when the admins' page does, with the same scope."""
    from itertools import product

    from disburse.admin import service as admin_service
    from tests.factories import create_user

    admin = create_user("admin")
    unit = create_employer(district_code="017")
    db_session.commit()  # a refused command rolls back to here
    values = {"district": ["", "017", "999"], "province": ["", "79", "00"], "employer": ["", unit.unit_code, "NOPE"]}
    for n, (role, district, province, employer) in enumerate(
        product(["caseworker", "supervisor", "employer", "admin"], *values.values())
    ):
        options = [
            f"--{name}={value}" for name, value in zip(values, (district, province, employer), strict=True) if value
        ]
        by_command = cli.invoke(args=["users", "create", "--email", f"cmd{n}@example.vn", "--role", role, *options])
        try:
            with db_session.begin_nested():
                by_page = admin_service.create_user(
                    f"page{n}@example.vn",
                    role,
                    full_name="",
                    district=district or None,
                    province=province or None,
                    employer_unit=employer or None,
                    actor=admin,
                )[0]
        except admin_service.AdminRefused:
            by_page = None
        made = get_user_by_email(f"cmd{n}@example.vn")
        case = (role, district, province, employer)
        assert (by_command.exit_code == 0) == (made is not None) == (by_page is not None), (case, by_command.output)
        if made is not None and by_page is not None:
            scope = (made.district_code, made.province_code, made.employer_id)
            assert scope == (by_page.district_code, by_page.province_code, by_page.employer_id), case


def test_the_command_audits_the_creation_with_no_actor(cli, db_session):
    from sqlalchemy import select

    from disburse.auth.models import AuditLog

    result = cli.invoke(
        args=["users", "create", "--email", "gs@example.vn", "--role", "supervisor", "--province", "79"]
    )
    assert result.exit_code == 0, result.output
    user = get_user_by_email("gs@example.vn")
    [entry] = db_session.scalars(
        select(AuditLog).where(AuditLog.action == "user.create", AuditLog.object_id == str(user.id))
    )
    assert entry.actor_id is None and entry.object_type == "user"
    assert entry.data["email"] == "gs@example.vn"
    assert entry.data["after"] == {
        "role": "supervisor",
        "full_name": "",
        "district": None,
        "province": "79",
        "employer_id": None,
        "active": True,
    }
    refused = cli.invoke(
        args=["users", "create", "--email", "x@example.vn", "--role", "supervisor", "--district", "017"]
    )
    assert refused.exit_code == 2
    assert db_session.scalars(select(AuditLog).where(AuditLog.data["email"].astext == "x@example.vn")).all() == []


def test_the_command_keeps_an_active_admin_as_the_admins_pages_do(cli, db_session):
    """`users deactivate` is held to the admins' pages' rules: the last active admin stays (nobody could manage users
    any more), and an account already deactivated is said to be so (nothing audited twice)."""
    for email in ("a1@example.vn", "a2@example.vn"):
        assert cli.invoke(args=["users", "create", "--email", email, "--role", "admin"]).exit_code == 0
    first = cli.invoke(args=["users", "deactivate", "--email", "a1@example.vn"])
    assert first.exit_code == 0, first.output
    last = cli.invoke(args=["users", "deactivate", "--email", "a2@example.vn"])
    assert last.exit_code == 2
    assert "This is the only active admin left: make someone else an admin first." in last.output
    assert "Đây là quản trị viên duy nhất còn hoạt động" in last.output
    assert get_user_by_email("a2@example.vn").active
    again = cli.invoke(args=["users", "deactivate", "--email", "a1@example.vn"])
    assert again.exit_code == 2 and "This account is already deactivated." in again.output
    audited = db_session.scalars(
        select(AuditLog.object_id).where(AuditLog.action == "user.deactivate").order_by(AuditLog.id)
    ).all()
    assert audited == [str(get_user_by_email("a1@example.vn").id)]
    # Brought back on the command line too (only the admins' pages could): once, audited, said when already active.
    back = cli.invoke(args=["users", "reactivate", "--email", "a1@example.vn"])
    assert (
        back.exit_code == 0 and "Reactivated a1@example.vn" in back.output and get_user_by_email("a1@example.vn").active
    )
    again = cli.invoke(args=["users", "reactivate", "--email", "a1@example.vn"])
    assert again.exit_code == 2 and "This account is already active." in again.output
    assert len(db_session.scalars(select(AuditLog).where(AuditLog.action == "user.reactivate")).all()) == 1


def test_no_token_is_made_for_a_deactivated_account(cli, db_session):
    """It would come alive with the account (deactivation revokes tokens so that reactivation revives none)."""
    for email in ("a1@example.vn", "a2@example.vn"):
        assert cli.invoke(args=["users", "create", "--email", email, "--role", "admin"]).exit_code == 0
    assert cli.invoke(args=["users", "deactivate", "--email", "a1@example.vn"]).exit_code == 0
    refused = cli.invoke(args=["tokens", "create", "--email", "a1@example.vn"])
    assert refused.exit_code == 2 and "The account a1@example.vn is deactivated: no token is made." in refused.output
    assert "dsb_" not in refused.output
    listed = cli.invoke(args=["tokens", "list", "--email", "a1@example.vn"])
    assert "active" not in listed.output.split("\n", 1)[1]


def test_a_user_created_without_a_password_gets_a_one_time_password_printed_once(cli, db_session):
    """The first admin of a new installation: `users create` alone made an account nobody could sign in to, and the
    same command again with a password was refused as a duplicate. It now prints a one-time password, to be replaced
    at the first sign-in, as the admins' pages give one."""
    result = cli.invoke(args=["users", "create", "--email", "sep@bhxh.vn", "--role", "admin"])
    assert result.exit_code == 0, result.output
    given = re.search(r"One-time password: (\S+)", result.output)
    assert given is not None and "shown only this once" in result.output
    user = get_user_by_email("sep@bhxh.vn")
    assert verify_password(user, given.group(1)) and user.password_temporary


def test_an_api_only_account_has_no_password_and_both_ways_at_once_are_refused(cli, db_session):
    result = cli.invoke(args=["users", "create", "--email", "may@bhxh.vn", "--role", "admin", "--no-password"])
    assert result.exit_code == 0 and "password" not in result.output.lower().replace("--no-password", "")
    api_only = get_user_by_email("may@bhxh.vn")
    assert not api_only.password_temporary and not verify_password(api_only, "")
    both = cli.invoke(
        args=["users", "create", "--email", "hai@bhxh.vn", "--role", "admin", "--no-password", "--password-stdin"],
        input="mot-mat-khau-dai\n",
    )
    assert both.exit_code == 2 and "not both" in both.output and get_user_by_email("hai@bhxh.vn") is None
