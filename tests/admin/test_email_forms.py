"""E-mails are kept and compared in one form. "ｕｎｉ@test.vn" (full-width, as an East Asian input method types it)
and "uni@test.vn" were two users; "cb1@test.vn." (a dot at the end) and "cb1@tést.vn" were taken. Every address is
compatibility-composed (NFKC) wherever one is typed (the admins' pages, ``disburse users create``, the sign-in),
compared in lower case (the unique index on ``lower(email)``), and refused when it cannot receive mail
(email-validator, no DNS asked), in both languages; the full-width spelling signs in to the account."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import func, select, text

from disburse.auth import service
from disburse.auth.models import User
from disburse.auth.service import get_user_by_email
from disburse.extensions import db
from tests.admin.conftest import PASSWORD, sign_in
from tests.factories import create_user

FULL_WIDTH = "ｕｎｉ＠ｔｅｓｔ．ｖｎ"


def _users(email_lower: str) -> int:
    return int(db.session.scalar(select(func.count()).where(func.lower(User.email) == email_lower)) or 0)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_full_width_address_is_the_same_address(admin_client, admin, locale):
    sign_in(admin_client, admin, locale)
    first = admin_client.post(
        "/admin/users/new", data={"email": "ｕｎｉ@test.vn", "role": "supervisor", "full_name": "Uni"}
    )
    assert first.status_code == 200
    assert db.session.scalar(select(User.email).where(func.lower(User.email) == "uni@test.vn")) == "uni@test.vn"
    again = admin_client.post("/admin/users/new", data={"email": "UNI@ｔｅｓｔ.vn", "role": "supervisor"})
    words = {"vi": "Đã có người dùng với e-mail UNI@test.vn.", "en": "A user with e-mail UNI@test.vn already exists."}
    assert again.status_code == 400 and words[locale] in again.get_data(as_text=True)
    assert _users("uni@test.vn") == 1


@pytest.mark.parametrize(
    ("typed", "vi", "en"),
    [
        ("cb1@test.vn.", "không phải là địa chỉ e-mail nhận được thư", "is not an address that can receive mail"),
        ("cb1@tést.vn", "E-mail chỉ được có chữ cái không dấu", "An e-mail may hold only letters without diacritics"),
        ("cb1..x@test.vn", "không phải là địa chỉ e-mail nhận được thư", "is not an address that can receive mail"),
        ("cb1@may.local", "không phải là địa chỉ e-mail nhận được thư", "is not an address that can receive mail"),
    ],
)
def test_an_address_that_cannot_receive_mail_is_refused_in_both_languages(admin_client, admin, typed, vi, en):
    for locale, words in (("vi", vi), ("en", en)):
        sign_in(admin_client, admin, locale)
        answer = admin_client.post("/admin/users/new", data={"email": typed, "role": "supervisor"})
        html = answer.get_data(as_text=True)
        assert answer.status_code == 400 and words in html, html[:3000]
    assert db.session.scalar(select(func.count()).where(User.email.ilike("cb1%"))) == 0


def test_the_command_line_takes_the_same_rule(app, db_session):
    cli = app.test_cli_runner()
    made = cli.invoke(args=["users", "create", "--email", "Ｇｉａｍ．Ｓａｔ@BHXH.vn", "--role", "supervisor"])
    assert made.exit_code == 0, made.output
    assert "Giam.Sat@BHXH.vn" in made.output
    twice = cli.invoke(args=["users", "create", "--email", "giam.sat@bhxh.vn", "--role", "supervisor"])
    assert twice.exit_code == 2 and "already exists" in twice.output
    refused = cli.invoke(args=["users", "create", "--email", "cb1@test.vn.", "--role", "supervisor"])
    assert refused.exit_code == 2
    assert "không phải là địa chỉ e-mail nhận được thư" in refused.output
    assert "cannot end with a period" in refused.output
    found = cli.invoke(args=["users", "deactivate", "--email", "ｇｉａｍ．ｓａｔ＠ｂｈｘｈ．ｖｎ"])
    assert found.exit_code == 0, found.output


def test_signing_in_with_the_full_width_spelling_finds_the_account(client, db_session):
    user = create_user("supervisor", email="uni@test.vn", password=PASSWORD)
    db.session.commit()
    answer = client.post("/login", data={"email": FULL_WIDTH, "password": PASSWORD})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    assert service.get_user_by_email(FULL_WIDTH).id == user.id
    assert service.get_user_by_email(" UNI@Test.VN ").id == user.id


def test_migration_0042_keeps_every_address_in_nfkc_but_never_merges_two(db_session):
    """Addresses kept before: each in its NFKC form, but where that is another user's (or another row's), left as it
    is (the upgrade names them)."""
    rows = {
        "ｍｉｇ＠ｔｅｓｔ．ｖｎ": "mig@test.vn",  # alone: rewritten
        "ｄｕｐ@test.vn": "ｄｕｐ@test.vn",  # dup@test.vn exists: left
        "dup@test.vn": "dup@test.vn",
        "ｔｗｏ@test.vn": "two@test.vn",  # two rows would become two@test.vn: the older one is
        "two@ｔｅｓｔ.vn": "two@ｔｅｓｔ.vn",
    }
    ids = {}
    for email in rows:
        ids[email] = db.session.scalar(
            text("INSERT INTO users (email, role) VALUES (:e, 'admin') RETURNING id"), {"e": email}
        )
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("m0042", root / "migrations/versions/0042_emails_nfkc.py")
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(db.session.connection())):
        migration.upgrade()
    now = {email: db.session.scalar(text("SELECT email FROM users WHERE id = :i"), {"i": ids[email]}) for email in rows}
    assert now == rows
    # A look-alike left as it was is its own account, typed as it is kept (pasted from the upgrade's log into
    # `disburse users deactivate`, it deactivated the user it imitated); the other's address is the other's.
    db.session.expire_all()
    assert get_user_by_email("ｄｕｐ@test.vn").id == ids["ｄｕｐ@test.vn"]
    assert get_user_by_email("dup@test.vn").id == get_user_by_email("DUP@test.vn").id == ids["dup@test.vn"]
    assert get_user_by_email("two@ｔｅｓｔ.vn").id == ids["two@ｔｅｓｔ.vn"]


def test_the_full_width_spelling_counts_against_the_same_account_s_sign_in_limit(app):
    from disburse.auth.limits import sign_in_account_key

    keys = set()
    for typed in (FULL_WIDTH, "uni@test.vn", " UNI@test.vn"):
        with app.test_request_context("/login", method="POST", data={"email": typed}):
            keys.add(sign_in_account_key())
    assert len(keys) == 1
