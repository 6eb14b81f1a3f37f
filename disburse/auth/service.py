"""Users and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from disburse.auth.models import ROLES, ApiToken, User
from disburse.extensions import db
from disburse.reference.models import District, Province
from disburse.registry.models import Employer

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    """A user or token request that cannot be carried out; the message says why, for people."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(
    email: str,
    role: str,
    *,
    password: str | None = None,
    full_name: str = "",
    district: str | None = None,
    province: str | None = None,
    employer_unit: str | None = None,
) -> User:
    """Create a user with the scope their role needs. Flushes; the caller commits."""
    email = email.strip()
    if "@" not in email or len(email) > 254:
        raise UserError(f"'{email}' is not an e-mail address")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)} (got '{role}')")
    if get_user_by_email(email):
        raise UserError(f"a user with e-mail {email} already exists")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user = User(email=email, role=role, full_name=full_name)
    if role == "caseworker" and not district:
        raise UserError("a caseworker needs --district (the 3-digit district code they work)")
    if role == "employer" and not employer_unit:
        raise UserError("an employer user needs --employer (their unit code)")
    if district:
        found = db.session.get(District, district)
        if found is None:
            raise UserError(f"no district with code '{district}'")
        user.district_code = found.code
        user.province_code = found.province_code
    if province:
        if db.session.get(Province, province) is None:
            raise UserError(f"no province with code '{province}'")
        user.province_code = province
    if employer_unit:
        employer = db.session.scalar(select(Employer).where(Employer.unit_code == employer_unit))
        if employer is None:
            raise UserError(f"no employer with unit code '{employer_unit}'")
        user.employer_id = employer.id
    if password is not None:
        user.password_hash = hash_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "") -> str:
    """Create an API token for ``user`` and return it; only its SHA-256 is stored."""
    token = "dsb_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_token_digest(token), prefix=token[:12], name=name))
    db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    """The active user a bearer token belongs to, or None (unknown, revoked, expired)."""
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(token)))
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = now
    return user
