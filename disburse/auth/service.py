"""Users, their sessions and API tokens. Functions flush; the caller commits."""

from __future__ import annotations

import functools
import hashlib
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from disburse.auth.models import ROLES, ApiToken, AuditLog, User, UserSession
from disburse.auth.text import checked_email, email_key, hidden_words, tidy
from disburse.extensions import db
from disburse.reference.models import District, Province
from disburse.registry.models import Employer, unit_by_code

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
#: A token's last_used_at is written at most this often: an API caller's every request would otherwise be a write.
LAST_USED_EVERY = timedelta(minutes=1)


class UserError(ValueError):
    """A user or token request that cannot be carried out; ``vi`` and ``en`` say why, for people (``str()``: the
    English); ``field``: the value at fault (``district``, ``province``, ``employer``, ``role``), if one is."""

    def __init__(self, vi: str, en: str, field: str | None = None) -> None:
        super().__init__(en)
        self.vi, self.en, self.field = vi, en, field


def hash_password(password: str) -> str:
    """The password's argon2id hash, of its composed form (NFC): typed on a keyboard that sends "ậ" as "a" and two
    combining marks, it is the same password."""
    return _hasher.hash(unicodedata.normalize("NFC", password))


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password with the current parameters, made once per process."""
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(user: User | None, password: str) -> bool:
    """Whether ``password`` is ``user``'s, for an active user with a password.

    Always costs one argon2 verification: for an unknown e-mail, an inactive user or a user without a password it
    checks against a dummy hash, so that the time a sign-in takes never tells which accounts exist.
    """
    stored = user.password_hash if user is not None and user.active else None
    composed = unicodedata.normalize("NFC", password)
    # Composed, as it is hashed; then as typed, for a password set before passwords were hashed composed.
    for candidate in (composed, password) if composed != password else (composed,):
        try:
            if _hasher.verify(stored or _dummy_hash(), candidate):
                return stored is not None
        except (VerificationError, InvalidHashError):
            continue
    return False


def get_user_by_email(email: str) -> User | None:
    """The user of ``email``, in any case, typed composed or not, in full-width letters or not: every address is kept
    compatibility-composed (NFKC, :func:`disburse.auth.text.checked_email`), and looked up so (the index on
    ``lower(email)``), wherever one is typed (sign-in, the admins' pages, the command line). An address kept as typed
    (migration 0042 left a look-alike of another user's address as it was) is that account's, never the other's: a
    look-alike pasted from the migration's log into ``disburse users deactivate`` locked out the user it imitated."""
    typed = email.strip()
    exact = db.session.scalar(select(User).where(User.email == typed))
    if exact is not None:
        return exact
    return db.session.scalar(select(User).where(func.lower(User.email) == email_key(email)))


@dataclass(frozen=True)
class ScopeChoice:
    district: str | None
    province: str | None
    employer_unit: str | None


#: The scope each role takes: caseworkers a district, supervisors a province or none (national), employer users a
#: unit, admins none.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "caseworker": frozenset({"district"}),
    "supervisor": frozenset({"province"}),
    "employer": frozenset({"employer"}),
    "admin": frozenset(),
}


def check_scope(role: str, district: str | None, province: str | None, employer_unit: str | None) -> ScopeChoice:
    """The scope ``role`` takes, checked (:data:`ROLE_SCOPES`), for every way a user is made or changed (the admins'
    pages, ``disburse users create``). A field the role does not take is refused rather than silently dropped or
    mixed in (a supervisor given a district and another province would be shown one and see the other)."""
    if role not in ROLE_SCOPES:
        raise UserError("Vai trò không hợp lệ.", "Unknown role.", "role")
    given = {
        name for name, value in (("district", district), ("province", province), ("employer", employer_unit)) if value
    }
    for extra in sorted(given - ROLE_SCOPES[role]):
        raise UserError(
            "Vai trò này không dùng trường này: hãy để trống.",
            "This role does not take this field: leave it empty.",
            extra,
        )
    if role == "caseworker":
        if not district:
            raise UserError(
                "Cán bộ nghiệp vụ cần mã quận/huyện nơi làm việc.",
                "A caseworker needs the district they work.",
                "district",
            )
        if db.session.get(District, district) is None:
            raise UserError(
                f"Không có quận/huyện mã {district}.", f"There is no district with code {district}.", "district"
            )
    if role == "supervisor" and province and db.session.get(Province, province) is None:
        raise UserError(
            f"Không có tỉnh/thành phố mã {province}.", f"There is no province with code {province}.", "province"
        )
    if role == "employer":
        if not employer_unit:
            raise UserError(
                "Người dùng của đơn vị cần mã đơn vị.", "An employer user needs their unit code.", "employer"
            )
        unit = unit_by_code(employer_unit)
        if unit is None:
            raise UserError(
                f"Không có đơn vị mã {employer_unit}.",
                f"There is no employer with unit code {employer_unit}.",
                "employer",
            )
        employer_unit = unit.unit_code  # as the registry writes it
    return ScopeChoice(district, province, employer_unit)


def describe(user: User) -> dict[str, Any]:
    """A user's role, name, scope and state, as the audit log records them before and after a change."""
    return {
        "role": user.role,
        "full_name": user.full_name,
        "district": user.district_code,
        "province": user.province_code,
        "employer_id": user.employer_id,
        "active": user.active,
    }


def one_time_password() -> str:
    """A password an admin or an operator gives, for its user to sign in once and choose their own."""
    return secrets.token_urlsafe(12)


def create_user(
    email: str,
    role: str,
    *,
    password: str | None = None,
    full_name: str = "",
    district: str | None = None,
    province: str | None = None,
    employer_unit: str | None = None,
    actor: User | None = None,
    temporary: bool = False,
) -> User:
    """Create a user with the scope their role takes (:func:`check_scope`), audited (``actor``: the admin; None for
    an operator's command or the demo's seed). ``temporary``: the password is one an admin gives, to be replaced at
    the first sign-in. The e-mail is kept compatibility-composed (NFKC), as it is looked up, and must be one that can
    receive mail (:func:`disburse.auth.text.checked_email`). Flushes; the caller commits."""
    email, refused = checked_email(email)  # its length too (at most 254 characters)
    if refused is not None:
        raise UserError(*refused, "email")
    if role not in ROLES:
        raise UserError(
            f"Vai trò phải là một trong {', '.join(ROLES)} (đang ghi '{role}').",
            f"The role must be one of {', '.join(ROLES)} (got '{role}').",
        )
    if get_user_by_email(email):
        raise _email_taken(email)
    if password is not None and (problem := _password_problem(password)) is not None:
        raise problem
    scope = check_scope(role, district, province, employer_unit)
    # The name composed (NFC): a browser or a spreadsheet may send "ễ" as "e" and two combining marks (NFD); one line,
    # no hidden character (:func:`checked_name`).
    user = User(email=email, role=role, full_name=checked_name(full_name))
    if scope.district:
        found = db.session.get(District, scope.district)
        assert found is not None, "checked by check_scope"
        user.district_code = found.code
        user.province_code = found.province_code
    if scope.province:
        user.province_code = scope.province
    if scope.employer_unit:
        user.employer_id = db.session.scalar(select(Employer.id).where(Employer.unit_code == scope.employer_unit))
    if password is not None:
        user.password_hash = hash_password(password)
        user.password_temporary = temporary
    try:
        with db.session.begin_nested():  # the same address added meanwhile leaves the caller's transaction usable
            db.session.add(user)
            db.session.flush()
    except IntegrityError as exc:
        # Another request (or command) added the address after we looked, and committed before us (or while we
        # waited for it): the same answer as if it had been there.
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != EMAIL_UNIQUE:
            raise
        raise _email_taken(email) from exc
    created: dict[str, Any] = {"email": user.email, "after": describe(user)}
    if password is None:  # an account for API tokens alone: said in the log, whoever made it
        created["api_only"] = True
    _audit("user.create", "user", user.id, created, actor=actor)
    return user


def checked_name(value: str, field: str = "full_name") -> str:
    """A user's name (or a token's, ``field`` = ``name``) as kept: composed, its white space tidied
    (:func:`disburse.auth.text.tidy`); UserError when it holds a hidden character (a control or format character, as
    U+202E that shows a name reversed), whoever types it (the admins' pages, the command line)."""
    tidied = tidy(value)
    if (words := hidden_words(tidied)) is not None:
        raise UserError(*words, field)
    return tidied


#: The unique index on ``lower(email)``: one user per address, whatever its case.
EMAIL_UNIQUE = "uq_users_email_lower"


def _email_taken(email: str) -> UserError:
    return UserError(f"Đã có người dùng với e-mail {email}.", f"A user with e-mail {email} already exists.", "email")


def _password_problem(password: str) -> UserError | None:
    """Why ``password`` cannot be one: too short, or holding control characters (a NUL or an escape cannot be typed
    at a sign-in form: such a password was a way to lock an account one could not use oneself); None if it can."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _too_short()
    if any(unicodedata.category(character) == "Cc" for character in password):
        return UserError(
            "Mật khẩu không được có ký tự điều khiển (như NUL, tab hay xuống dòng).",
            "The password may not hold control characters (such as NUL, a tab or a line break).",
        )
    return None


def _too_short() -> UserError:
    return UserError(
        f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.",
        f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
    )


#: Where the session cookie carries its session's key (besides Flask-Login's ``"<id>:<epoch>"``).
SESSION_KEY = "_session_key"
#: A session opened longer ago than this is refused, and its row deleted when its user next signs in. The cookie
#: itself expires 8 hours after the server last wrote it (PERMANENT_SESSION_LIFETIME) or when the browser closes; a
#: week is far past any working session, and bounds the rows of sessions left without signing out.
SESSION_MAX_AGE = timedelta(days=7)


def start_session(user: User) -> str:
    """Open a session for ``user`` who has just signed in: the key its cookie is to carry (:data:`SESSION_KEY`);
    only its SHA-256 is stored. Their sessions older than :data:`SESSION_MAX_AGE` go. Flushes; the caller commits."""
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.created_at < datetime.now(UTC) - SESSION_MAX_AGE
        )
    )
    key = secrets.token_urlsafe(32)
    db.session.add(UserSession(key_hash=token_digest(key), user_id=user.id))
    db.session.flush()
    return key


def session_is_open(user: User, key: str) -> bool:
    """Whether the session whose cookie carries ``key`` is ``user``'s, not ended and not older than
    :data:`SESSION_MAX_AGE`."""
    row = db.session.get(UserSession, token_digest(key))
    return row is not None and row.user_id == user.id and row.created_at > datetime.now(UTC) - SESSION_MAX_AGE


def end_session(user: User, key: str | None) -> None:
    """Sign ``user`` out of the one session whose cookie carries ``key``; their other sessions go on. A cookie with
    no key (issued before sessions had keys) can only be ended with all of theirs (:func:`end_sessions`). Flushes;
    the caller commits."""
    if key is None:
        end_sessions(user)
        return
    db.session.execute(
        delete(UserSession).where(UserSession.key_hash == token_digest(key), UserSession.user_id == user.id)
    )
    db.session.flush()


def end_sessions(user: User) -> None:
    """End every session cookie ``user`` holds, in every browser (see User.session_epoch); the database does the
    same on a new password, a deactivation, a new role or scope."""
    user.session_epoch = User.session_epoch + 1
    db.session.flush()


def set_password(user: User, password: str, *, actor: User | None = None, temporary: bool = False) -> None:
    """Give ``user`` a new password; the database ends their sessions (trigger users_end_sessions). ``actor``: who
    changed it (the user on their account page; None for an operator's command). ``temporary``: one an admin gives,
    which the user must replace with their own at their next sign-in (:attr:`User.password_temporary`)."""
    if (problem := _password_problem(password)) is not None:
        raise problem
    user.password_hash = hash_password(password)
    user.password_temporary = temporary
    _audit("user.set_password", "user", user.id, actor=actor)
    db.session.flush()


def keep_an_active_admin(user: User, field: str | None = None) -> None:
    """Refuse to deactivate or demote ``user`` when they are the last active admin: nobody could manage users any
    more. The active admins' rows are locked (``FOR UPDATE``, in id order, so that two such requests wait for each
    other rather than deadlock) before they are counted, and stay locked until the caller's transaction ends: of two
    admins deactivating or demoting each other at the same moment, the second waits for the first, then counts
    again and is refused. ``user`` is read again under the lock (another admin may have changed them meanwhile)."""
    locked = list(
        db.session.scalars(select(User.id).where(User.role == "admin", User.active).order_by(User.id).with_for_update())
    )
    db.session.refresh(user)
    if user.id in locked and len(locked) <= 1:
        raise UserError(
            "Đây là quản trị viên duy nhất còn hoạt động: hãy giao vai trò quản trị cho người khác trước.",
            "This is the only active admin left: make someone else an admin first.",
            field,
        )


def deactivate(user: User, *, actor: User | None = None) -> int:
    """Stop ``user`` signing in and using tokens; the database ends their sessions (trigger users_end_sessions) and
    their tokens are revoked (each audited), so that bringing the account back revives neither. The claims they hold
    go back to the queue (:func:`released_claims`): nobody else could work them. Refused (UserError) for the last active
    admin and for an account already deactivated, whoever asks (the admins' pages and the operator's command alike).
    How many claims went back."""
    if user.role == "admin":
        keep_an_active_admin(user)
    if not user.active:
        raise UserError("Tài khoản này đã bị khoá.", "This account is already deactivated.")
    user.active = False
    db.session.flush()
    released = released_claims(user, actor=actor)
    data: dict[str, Any] = {"email": user.email}  # as a reactivation
    if released:
        data["released_claims"] = released
    _audit("user.deactivate", "user", user.id, data, actor=actor)
    revoke_tokens(user, actor=actor)
    db.session.flush()
    return released


def held_claims(user: User) -> int:
    """How many claims ``user`` holds that are not done with: what a deactivation sends back to the queue, and a new
    role or scope those it no longer covers (the admins' pages say so before)."""
    from disburse.verification.review import held_open

    return held_open(user)


def released_claims(user: User, *, actor: User | None) -> int:
    """Send back to the queue the claims ``user`` holds and can no longer work as their row now is (deactivated, or a
    role or scope that does not cover them), each with its ``release`` event by ``actor`` saying why
    (:func:`disburse.verification.review.release_unworkable`), in the caller's transaction. How many."""
    from disburse.verification.review import release_unworkable

    return release_unworkable(user, actor=actor)


def reactivate(user: User, *, actor: User | None = None) -> None:
    """Let a deactivated ``user`` sign in again (their old sessions and tokens stay ended: a new password or token is
    needed). Refused (UserError) for an account that is active; audited."""
    if user.active:
        raise UserError("Tài khoản này đang hoạt động.", "This account is already active.")
    user.active = True
    db.session.flush()
    _audit("user.reactivate", "user", user.id, {"email": user.email}, actor=actor)


def revoke_tokens(user: User, *, actor: User | None = None) -> int:
    """Revoke every working token of ``user`` (each audited): their account stopped, or what it may do changed (a
    role or a scope: an integration's token must not silently gain or change power). How many."""
    revoked = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > func.now())
        .values(revoked_at=func.now())
        .returning(ApiToken.id, ApiToken.prefix)
    ).all()
    for token_id, prefix in revoked:
        _audit("token.revoke", "api_token", token_id, {"user_id": user.id, "prefix": prefix}, actor=actor)
    return len(revoked)


def audit(
    actor: User | None, action: str, object_type: str, object_id: int | str, data: dict[str, Any] | None = None
) -> None:
    """Record that ``actor`` (None: an operator's command or the system) did ``action`` to a record; the caller
    commits, so the entry lands with the change or not at all."""
    _audit(action, object_type, object_id, data, actor=actor)


def _audit(
    action: str,
    object_type: str,
    object_id: int | str,
    data: dict[str, Any] | None = None,
    *,
    actor: User | None = None,
) -> None:
    # Commands run by an operator have no signed-in actor.
    db.session.add(
        AuditLog(
            actor_id=actor.id if actor else None,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=data,
        )
    )


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "", *, now: datetime | None = None, actor: User | None = None) -> str:
    """Create an API token for ``user`` that works for DISBURSE_TOKEN_DAYS days, and return it; only its SHA-256 is
    stored. Refused (UserError) for a deactivated user: a token made then would come alive with the account.
    ``actor``: the admin who made it on the pages (None: an operator's command)."""
    if not user.active:
        raise UserError(
            f"Tài khoản {user.email} đã bị khoá: không tạo token.",
            f"The account {user.email} is deactivated: no token is made.",
        )
    name = checked_name(name, "name")
    now = now or datetime.now(UTC)
    token = "dsb_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=token_digest(token),
        prefix=token[:12],
        name=name,
        created_at=now,
        expires_at=now + timedelta(days=current_app.config["DISBURSE_TOKEN_DAYS"]),
    )
    db.session.add(row)
    db.session.flush()
    _audit("token.create", "api_token", row.id, {"user_id": user.id, "prefix": row.prefix}, actor=actor)
    return token


def tokens_of(user: User) -> Sequence[ApiToken]:
    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).all()


def token_status(token: ApiToken, now: datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired``."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= (now or datetime.now(UTC)) else "active"


def revoke_token(token_id: int, *, actor: User | None = None) -> ApiToken | None:
    """Revoke the token with ``token_id`` (already revoked: unchanged); None when there is no such token."""
    row = db.session.get(ApiToken, token_id, with_for_update=True)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        _audit("token.revoke", "api_token", row.id, {"user_id": row.user_id, "prefix": row.prefix}, actor=actor)
        db.session.flush()
    return row


def user_for_token(token: str) -> User | None:
    """The active user a bearer token belongs to, or None (unknown, revoked, expired, user inactive)."""
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    now = datetime.now(UTC)
    if row is None or token_status(row, now) != "active":
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        row.last_used_at = now
    return user
