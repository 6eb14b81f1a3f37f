"""A session cookie stops working on the server's word: signing out ends that session alone; a new password, a
deactivation, a new role or scope end every session of the user.

The cookie is signed and held by the browser, valid for 8 hours whatever happens; each test keeps a copy of it,
does the thing that must end it, then replays the copy. Two browsers are two clients, each signed in on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from disburse.auth import service
from disburse.auth.models import UserSession
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_employee, create_employer, create_user


@pytest.fixture
def caseworker(db_session):
    return create_user("caseworker", password=PASSWORD)


@pytest.fixture
def person(db_session):
    return create_employee(employer_id=create_employer(district_code="017").id, district_code="017")


def _signed_in(client, user) -> str:
    """``user`` signed in on ``client`` (:func:`tests.conftest.sign_in`); the session cookie's value, to replay."""
    sign_in(client, user)
    return client.get_cookie("session").value


def _sees(client, person) -> int:
    return client.get(f"/api/v1/employees/{person.si_code}/support").status_code


def _replay(client, cookie: str) -> None:
    client.set_cookie("session", cookie)


def test_the_cookie_works_until_something_ends_it(client, caseworker, person):
    cookie = _signed_in(client, caseworker)
    assert _sees(client, person) == 200
    client.delete_cookie("session")
    assert _sees(client, person) == 401
    _replay(client, cookie)
    assert _sees(client, person) == 200  # the copy is as good as the original, until the server ends it


def test_a_copy_of_the_cookie_is_worthless_after_signing_out(client, caseworker, person):
    cookie = _signed_in(client, caseworker)
    assert client.post("/logout").status_code == 302
    _replay(client, cookie)
    assert _sees(client, person) == 401
    assert caseworker.email not in client.get("/").get_data(as_text=True)


def _sessions_of(db_session, user) -> int:
    return db_session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id))


def test_signing_out_ends_this_session_and_no_other(app, client, caseworker, person, db_session):
    """A caseworker signed in at the office and on their phone signs out at the office: the phone stays signed in."""
    phone = app.test_client()
    office_cookie = _signed_in(client, caseworker)
    phone_cookie = _signed_in(phone, caseworker)
    assert office_cookie != phone_cookie and _sessions_of(db_session, caseworker) == 2
    assert _sees(client, person) == 200 and _sees(phone, person) == 200

    assert client.post("/logout").status_code == 302
    assert _sessions_of(db_session, caseworker) == 1
    assert _sees(phone, person) == 200
    assert caseworker.email in phone.get("/").get_data(as_text=True)
    _replay(client, office_cookie)
    assert _sees(client, person) == 401  # the office's copy is worth nothing
    assert caseworker.email not in client.get("/").get_data(as_text=True)

    assert phone.post("/logout").status_code == 302
    _replay(phone, phone_cookie)
    assert _sees(phone, person) == 401
    assert _sessions_of(db_session, caseworker) == 0
    # Signing in again opens a new session; the old copies stay dead.
    sign_in(client, caseworker)
    assert _sees(client, person) == 200
    _replay(phone, office_cookie)
    assert _sees(phone, person) == 401


def test_a_cookie_from_before_sessions_had_keys_works_and_signing_out_of_it_ends_them_all(
    app, client, caseworker, person
):
    """A cookie issued before migration 0029 names no session: it works until it expires, as it did, and signing out
    with it can end it only by ending every session of the user."""
    other = app.test_client()
    sign_in(other, caseworker)
    with client.session_transaction() as session:
        session["_user_id"] = caseworker.get_id()  # the shape before 0029: "<id>:<epoch>", no key
        session["_fresh"] = True
    cookie = client.get_cookie("session").value
    assert _sees(client, person) == 200 and _sees(other, person) == 200
    assert client.post("/logout").status_code == 302
    _replay(client, cookie)
    assert _sees(client, person) == 401
    assert _sees(other, person) == 401


def test_a_session_older_than_its_longest_life_is_refused_and_its_row_goes(app, client, caseworker, person, db_session):
    other = app.test_client()
    sign_in(client, caseworker)
    old = datetime.now(UTC) - service.SESSION_MAX_AGE - timedelta(minutes=1)
    db_session.execute(update(UserSession).where(UserSession.user_id == caseworker.id).values(created_at=old))
    db_session.expire_all()
    assert _sees(client, person) == 401
    sign_in(other, caseworker)  # a new session; the old row is deleted
    assert _sees(other, person) == 200
    assert _sessions_of(db_session, caseworker) == 1


def test_a_session_key_works_for_its_own_user_only(client, caseworker, person, db_session):
    """Defence in depth (cookies are signed): another user's cookie naming this session's key is refused."""
    sign_in(client, caseworker)
    with client.session_transaction() as session:
        key = session[service.SESSION_KEY]
    other_user = create_user("caseworker", password=PASSWORD)
    with client.session_transaction() as session:
        session["_user_id"] = other_user.get_id()
        session[service.SESSION_KEY] = key
    assert _sees(client, person) == 401


@pytest.mark.parametrize("how", ["service", "command", "sql"])
def test_a_new_password_ends_the_sessions(app, client, caseworker, person, db_session, how):
    other = app.test_client()
    other_cookie = _signed_in(other, caseworker)
    cookie = _signed_in(client, caseworker)
    if how == "service":
        service.set_password(caseworker, "mot-mat-khau-moi-dai")
        db_session.commit()
    elif how == "command":
        result = app.test_cli_runner().invoke(
            args=["users", "set-password", "--email", caseworker.email], input="mot-mat-khau-moi-dai\n"
        )
        assert result.exit_code == 0, result.output
    else:  # whoever writes the row: the database ends the sessions itself
        db_session.execute(
            text("UPDATE users SET password_hash = :h WHERE id = :id"),
            {"h": service.hash_password("mot-mat-khau-moi-dai"), "id": caseworker.id},
        )
        db_session.expire_all()
    _replay(client, cookie)
    assert _sees(client, person) == 401
    _replay(other, other_cookie)
    assert _sees(other, person) == 401
    # The new password works, with a new cookie.
    response = client.post("/login", data={"email": caseworker.email, "password": "mot-mat-khau-moi-dai"})
    assert response.status_code == 302
    assert _sees(client, person) == 200


@pytest.mark.parametrize("how", ["service", "command", "attribute"])
def test_deactivation_ends_the_sessions_even_after_reactivation(app, client, caseworker, person, db_session, how):
    other = app.test_client()
    other_cookie = _signed_in(other, caseworker)
    cookie = _signed_in(client, caseworker)
    if how == "service":
        service.deactivate(caseworker)
        db_session.commit()
    elif how == "command":
        result = app.test_cli_runner().invoke(args=["users", "deactivate", "--email", caseworker.email])
        assert result.exit_code == 0, result.output
    else:
        caseworker.active = False
        db_session.flush()
    _replay(client, cookie)
    assert _sees(client, person) == 401
    _replay(other, other_cookie)
    assert _sees(other, person) == 401
    db_session.expire_all()
    caseworker.active = True
    db_session.flush()
    for browser, copy in ((client, cookie), (other, other_cookie)):
        _replay(browser, copy)
        assert _sees(browser, person) == 401  # back at work, but the old cookies stay dead


def test_a_cookie_from_before_session_epochs_is_refused(client, caseworker, person):
    with client.session_transaction() as session:
        session["_user_id"] = str(caseworker.id)  # the old shape: the id alone
        session["_fresh"] = True
    assert _sees(client, person) == 401


def test_a_cookie_for_a_later_epoch_is_refused_too(client, caseworker, person):
    with client.session_transaction() as session:
        session["_user_id"] = f"{caseworker.id}:{caseworker.session_epoch + 1}"
        session["_fresh"] = True
    assert _sees(client, person) == 401


@pytest.mark.parametrize(
    ("column", "value", "ended"),
    [
        ("role", "supervisor", True),
        ("district_code", "018", True),
        ("province_code", None, True),
        ("role", "caseworker", False),  # the same role again: nothing changed, nothing ended
        ("province_code", "01", False),  # Đông Anh's province, as it was
    ],
)
def test_a_new_role_or_scope_ends_the_sessions_and_nothing_else_does(
    app, client, caseworker, person, db_session, column, value, ended
):
    """Whoever writes the row: a session opened under one role and scope never goes on under another, in any
    browser."""
    other = app.test_client()
    other_cookie = _signed_in(other, caseworker)
    cookie = _signed_in(client, caseworker)
    db_session.execute(text(f"UPDATE users SET {column} = :v WHERE id = :id"), {"v": value, "id": caseworker.id})
    db_session.expire_all()
    _replay(client, cookie)
    _replay(other, other_cookie)
    assert _sees(client, person) == _sees(other, person) == (401 if ended else 200)
