"""API tokens expire (DISBURSE_TOKEN_DAYS), can be listed and revoked, and record when they were last used; a
revoked or expired token is a 401 like an unknown one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from config import ConfigError, Development
from disburse.auth.models import ApiToken, AuditLog
from disburse.auth.service import create_token, token_digest, user_for_token
from disburse.programs.calendar import VIETNAM_TZ
from tests.factories import create_employee, create_user


@pytest.fixture
def cli(app, db_session):
    return app.test_cli_runner()


@pytest.fixture
def admin(db_session):
    return create_user("admin")


@pytest.fixture
def url(db_session):
    return f"/api/v1/employees/{create_employee().si_code}/support"


def _row(token: str) -> ApiToken:
    from disburse.extensions import db

    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))


def _get(client, url, token):
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def test_a_new_token_expires_after_the_configured_days(app, admin, monkeypatch):
    row = _row(create_token(admin))
    assert row.expires_at - row.created_at == timedelta(days=90)
    monkeypatch.setitem(app.config, "DISBURSE_TOKEN_DAYS", 7)
    row = _row(create_token(admin))
    assert row.expires_at - row.created_at == timedelta(days=7)


def test_token_days_come_from_the_environment_and_are_checked(monkeypatch):
    assert Development().DISBURSE_TOKEN_DAYS == 90
    monkeypatch.setenv("DISBURSE_TOKEN_DAYS", "30")
    assert Development().DISBURSE_TOKEN_DAYS == 30
    for bad in ("0", "-5", "ninety", "3651"):
        monkeypatch.setenv("DISBURSE_TOKEN_DAYS", bad)
        with pytest.raises(ConfigError, match="DISBURSE_TOKEN_DAYS"):
            Development()


def test_an_expired_token_is_401(client, admin, url):
    token = create_token(admin, now=datetime.now(UTC) - timedelta(days=91))
    response = _get(client, url, token)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert _get(client, url, create_token(admin)).status_code == 200


def test_a_revoked_token_is_401_at_once(client, cli, admin, url):
    token = create_token(admin, "integration")
    assert _get(client, url, token).status_code == 200
    result = cli.invoke(args=["tokens", "revoke", str(_row(token).id)])
    assert result.exit_code == 0, result.output
    assert f"Revoked token {_row(token).id}" in result.output
    assert _get(client, url, token).status_code == 401
    audit = AuditLog.query.filter_by(action="token.revoke", object_id=str(_row(token).id)).one()
    assert audit.data["prefix"] == token[:12]
    # Again: said so (it printed "Revoked" as if it had just been done), nothing more audited.
    again = cli.invoke(args=["tokens", "revoke", str(_row(token).id)])
    when = _row(token).revoked_at.astimezone(VIETNAM_TZ)
    assert again.exit_code == 0 and f"was already revoked on {when:%d/%m/%Y %H:%M}" in again.output
    assert AuditLog.query.filter_by(action="token.revoke", object_id=str(_row(token).id)).count() == 1


def test_a_bad_token_is_401_even_beside_a_signed_in_cookie(client, admin, url):
    """A request that names a token is the token's alone: a browser's cookie does not stand in for a bad one (nor
    make a cookie-only write pass the JSON rule by adding any Bearer header)."""
    from tests.factories import create_user as make

    user = make("caseworker", password="mat-khau-rat-dai")
    assert client.post("/login", data={"email": user.email, "password": "mat-khau-rat-dai"}).status_code == 302
    assert client.get(url).status_code == 200  # the cookie alone
    for bad in ("dsb_revoked_or_garbage", "x"):
        answer = _get(client, url, bad)
        assert answer.status_code == 401 and answer.get_json()["error"] == "unauthorized"
    form = client.post(
        "/api/v1/claims/1/contacts", data="x", headers={"Authorization": "Bearer x", "Content-Type": "text/plain"}
    )
    assert form.status_code == 401
    assert _get(client, url, create_token(admin)).status_code == 200  # a good token is its own user


def test_revoking_an_unknown_token_says_so(cli):
    result = cli.invoke(args=["tokens", "revoke", "987654321"])
    assert result.exit_code == 2 and "There is no token with id 987654321" in result.output


def test_tokens_list_shows_status_and_dates_but_never_the_token(cli, admin, db_session):
    live = create_token(admin, "bank-file")
    revoked = create_token(admin, "old")
    expired = create_token(admin, "laptop", now=datetime.now(UTC) - timedelta(days=100))
    cli.invoke(args=["tokens", "revoke", str(_row(revoked).id)])
    result = cli.invoke(args=["tokens", "list", "--email", admin.email])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # Headed in Vietnamese, then in English (the English line alone was printed).
    assert lines[0].split() == [
        "Số",
        "Tiền",
        "tố",
        "Nhãn",
        "Trạng",
        "thái",
        "Ngày",
        "tạo",
        "Hết",
        "hạn",
        "Dùng",
        "lần",
        "cuối",
    ]
    assert lines[1].split() == ["id", "prefix", "name", "status", "created", "expires", "last", "used"]
    by_name = {line.split()[2]: line for line in lines[2:]}
    assert by_name["bank-file"].split()[3] == "active" and _row(live).prefix in by_name["bank-file"]
    assert by_name["old"].split()[3] == "revoked"
    assert by_name["laptop"].split()[3] == "expired"
    for token in (live, revoked, expired):
        assert token not in result.output
    assert "has no API tokens" in cli.invoke(args=["tokens", "list", "--email", create_user("admin").email]).output
    # Moments as the pages show them, Vietnam's time (they were UTC here).
    created = _row(live).created_at.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M")
    assert created in by_name["bank-file"] and "UTC" not in result.output


def test_last_used_is_recorded_at_most_once_a_minute(client, admin, url, db_session):
    token = create_token(admin)
    assert _row(token).last_used_at is None
    _get(client, url, token)
    first = _row(token).last_used_at
    assert first is not None
    _get(client, url, token)
    assert _row(token).last_used_at == first  # a second call within the minute writes nothing
    db_session.execute(
        text("UPDATE api_tokens SET last_used_at = last_used_at - interval '2 minutes' WHERE id = :id"),
        {"id": _row(token).id},
    )
    db_session.expire_all()
    _get(client, url, token)
    assert _row(token).last_used_at > first - timedelta(minutes=2)


def test_every_token_has_an_expiry_in_the_database(admin, db_session):
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.execute(
            text("INSERT INTO api_tokens (user_id, token_hash, prefix) VALUES (:u, 'x', 'dsb_x')"), {"u": admin.id}
        )
    with pytest.raises(IntegrityError, match="expires_after_created"), db_session.begin_nested():
        db_session.execute(
            text(
                "INSERT INTO api_tokens (user_id, token_hash, prefix, expires_at)"
                " VALUES (:u, 'y', 'dsb_y', now() - interval '1 day')"
            ),
            {"u": admin.id},
        )


def test_user_for_token_refuses_revoked_and_expired(admin, db_session):
    token = create_token(admin)
    assert user_for_token(token) == admin
    _row(token).revoked_at = datetime.now(UTC)
    assert user_for_token(token) is None
    just_expired = create_token(admin, now=datetime.now(UTC) - timedelta(days=90, seconds=1))
    assert user_for_token(just_expired) is None
