"""Users with one role and one scope, hashed API tokens, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, FetchedValue, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from disburse.extensions import TimestampMixin, db

ROLES = ("caseworker", "employer", "supervisor", "admin")


class User(UserMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('caseworker', 'employer', 'supervisor', 'admin')", name="role_known"),
        # The scope follows the role: caseworkers work a district, employers see their unit, supervisors a
        # province (or the nation when no province is set), admins everything.
        CheckConstraint("role <> 'caseworker' OR district_code IS NOT NULL", name="caseworker_has_district"),
        CheckConstraint("role <> 'employer' OR employer_id IS NOT NULL", name="employer_has_unit"),
        CheckConstraint("locale IN ('vi', 'en')", name="locale_known"),
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(200), server_default=text("''"))
    #: argon2id hash; NULL means the user can only use API tokens.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    #: The password is one an admin gave (shown to them once, handed over): it signs in only to choose one's own on the
    #: account page, where every other page leads until then (:func:`disburse.auth.views.choose_own_password`).
    password_temporary: Mapped[bool] = mapped_column(server_default=text("false"))
    role: Mapped[str] = mapped_column(String(20))
    province_code: Mapped[str | None] = mapped_column(ForeignKey("provinces.code"))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"))
    locale: Mapped[str] = mapped_column(String(2), server_default=text("'vi'"))
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    last_login_at: Mapped[datetime | None]
    #: Sessions are signed cookies held by the browser; the server cannot delete them. Each carries the epoch it
    #: was issued under (see get_id), and the user loader refuses a cookie whose epoch is not the current one: that
    #: ends every session of the user at once. The database adds one whenever the password, ``active``, the role or
    #: the scope changes (trigger users_end_sessions, migrations 0007 and 0020), whoever writes them. Signing out
    #: ends only the session that signs out (UserSession).
    session_epoch: Mapped[int] = mapped_column(server_default=text("0"), server_onupdate=FetchedValue())

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """What Flask-Login puts in the session cookie: the user's id and the session epoch it was issued under."""
        return f"{self.id}:{self.session_epoch}"

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class ApiToken(db.Model):  # type: ignore[name-defined]
    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("expires_at > created_at", name="expires_after_created"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the token, so a user can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100), server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    #: Written at most once a minute (see disburse.auth.service.user_for_token).
    last_used_at: Mapped[datetime | None]
    #: Every token expires (DISBURSE_TOKEN_DAYS after it is created); ``disburse tokens revoke`` ends it sooner.
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AuditLog(db.Model):  # type: ignore[name-defined]
    """Who did what to which record, for actions that are not claim/payment transitions."""

    __tablename__ = "audit_log"
    #: The log filtered by who acted, newest first (the audit page's actor filter: a rare actor among millions of
    #: rows was read in 1 s without it, 2 ms with it); deleting a user checks it too.
    __table_args__ = (Index("ix_audit_log_actor_id", "actor_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)


class UserSession(db.Model):  # type: ignore[name-defined]
    """A session opened by signing in, so that signing out can end it alone (the user's other browsers go on).

    Its cookie carries a random key besides ``"<id>:<epoch>"`` (disburse.auth.service.SESSION_KEY); only the key's
    SHA-256 is stored. The user loader refuses a cookie whose key has no row here: signing out deletes the row, so a
    copy of that cookie is worth nothing after it. A row is refused, and deleted when its user next signs in, once
    it is older than disburse.auth.service.SESSION_MAX_AGE."""

    __tablename__ = "user_sessions"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
