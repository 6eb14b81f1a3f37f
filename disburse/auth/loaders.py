"""How Flask-Login finds the user: the session cookie, or an ``Authorization: Bearer <token>`` header."""

from __future__ import annotations

from flask import Request, request, session

from disburse.auth.models import User
from disburse.auth.service import SESSION_KEY, session_is_open, user_for_token
from disburse.extensions import db, login


@login.user_loader
def load_user(session_id: str) -> User | None:
    """The user a session cookie names (``"<id>:<epoch>"``, see User.get_id), if the cookie is still current.

    A cookie stays validly signed for its whole lifetime whatever happens on the server; two things let the server
    end it. The epoch ends all of a user's sessions: a new password, a deactivation, a new role or scope moves it
    on, and every cookie issued under an older one is refused here (a cookie from before epochs existed, with only
    an id, is refused too). The session's key (:data:`SESSION_KEY`) ends one: signing out deletes its row, and a
    cookie whose key has none is refused. A cookie from before sessions had keys is judged by its epoch alone.
    """
    if bearer_token(request):
        return None  # a request that names a token is the token's alone (a bad one is a 401, cookie or not)
    user_id, _, epoch = session_id.partition(":")
    if not (session_id.isascii() and user_id.isdigit() and epoch.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_epoch != int(epoch):
        return None
    key = session.get(SESSION_KEY)
    if key is not None and not (isinstance(key, str) and session_is_open(user, key)):
        return None
    return user


def bearer_token(request: Request) -> str | None:
    """The token an ``Authorization: Bearer <token>`` header gives, if the request has one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@login.request_loader
def load_user_from_bearer_token(request: Request) -> User | None:
    token = bearer_token(request)
    if token is None:
        return None
    user = user_for_token(token)
    if user is not None:
        db.session.commit()  # records last_used_at on the token
    return user
