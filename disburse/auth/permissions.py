"""Every route declares who may use it, with exactly one of these decorators.

A test walks ``app.url_map`` and fails on any endpoint without a declaration (notifications-admin's rule).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])
PERMISSION_ATTR = "_disburse_permission"


def public(view: F) -> F:
    """Open to anyone (health, login, static assets)."""
    setattr(view, PERMISSION_ATTR, "public")
    return view


def roles_required(*roles: str) -> Callable[[F], F]:
    """Only signed-in users holding one of ``roles``; everyone else gets 403 (401 when not signed in)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                abort(401)
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapped, PERMISSION_ATTR, "roles:" + ",".join(roles))
        return wrapped  # type: ignore[return-value]

    return decorator
