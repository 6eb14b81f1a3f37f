"""How Flask-Login finds the user: the session cookie, or an ``Authorization: Bearer <token>`` header."""

from __future__ import annotations

from flask import Request

from disburse.auth.models import User
from disburse.auth.service import user_for_token
from disburse.extensions import db, login


@login.user_loader
def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


@login.request_loader
def load_user_from_bearer_token(request: Request) -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = user_for_token(token.strip())
    if user is not None:
        db.session.commit()  # records last_used_at on the token
    return user
