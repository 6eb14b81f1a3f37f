"""What the admins' pages do: store an uploaded registry file and queue its import, find and change users, read
the health of providers, workers and queues, and search the audit log. Functions flush; the view commits.

Every change an admin makes is written to ``audit_log`` in the same transaction (who, what, which record, before
and after), so that the log has an entry exactly when the change happened.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from flask import current_app
from sqlalchemy import distinct, func, or_, select, text
from werkzeug.datastructures import FileStorage

from disburse.auth import service as auth
from disburse.auth.models import AuditLog, User
from disburse.background import QueueNames, last_runs, ping_workers
from disburse.background import beat_schedule as schedule_of
from disburse.claims.unit import name_contains
from disburse.deployment import BEAT_LOCK_KEY
from disburse.extensions import db, redis_client, redis_client_options
from disburse.jobs.models import Job
from disburse.jobs.service import submit, upload_dir
from disburse.payments import sending
from disburse.payments.models import Payment, PaymentBatch, ProviderEvent
from disburse.payments.states import PaymentState
from disburse.programs.calendar import VIETNAM_TZ
from disburse.programs.models import Program
from disburse.reference.models import District, Province
from disburse.registry.models import Employer


class AdminRefused(Exception):
    """An admin's request that cannot be carried out; nothing was changed. The message is in both languages."""

    def __init__(self, message_vi: str, message_en: str, field: str | None = None) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en
        self.field = field


# ------------------------------------------------------------------------------------------------------ imports

#: The registry files an admin may upload, as ``disburse import`` names them.
IMPORT_KINDS: dict[str, tuple[str, str]] = {
    "employers": ("Đơn vị sử dụng lao động (employers)", "Employers (units)"),
    "employees": ("Người lao động (employees)", "Employees"),
    "salary_funds": ("Quỹ tiền lương đóng BHTN theo tháng (salary_funds)", "Monthly UI salary funds"),
}
#: The bytes a file of each type starts with (a .xlsx is a zip); a CSV is text, with no NUL byte.
_ZIP = b"PK\x03\x04"


def _looks_like(extension: str, head: bytes) -> bool:
    if extension == ".xlsx":
        return head.startswith(_ZIP)
    return b"\x00" not in head and not head.startswith((_ZIP, b"%PDF", b"\xd0\xcf\x11\xe0"))


def start_import(kind: str, upload: FileStorage, *, strict: bool, actor: User) -> Job:
    """Store the uploaded file under ``DISBURSE_UPLOAD_DIR`` and queue its import (sent after the caller commits).

    A file whose content is not what its name says (a PDF or an old .xls renamed .csv, a .xlsx that is not a zip)
    is refused before anything is stored or queued. The file stays after the job, so that a failed import can be
    run again from its page."""
    if kind not in IMPORT_KINDS:
        raise AdminRefused("Loại danh sách không hợp lệ.", "Unknown kind of registry file.", "kind")
    original = upload.filename or ""
    extension = Path(original).suffix.lower()
    if extension not in (".csv", ".xlsx"):
        raise AdminRefused(
            "Tệp phải là bảng tính .csv (UTF-8) hoặc .xlsx.",
            "The file must be a .csv (UTF-8) or .xlsx spreadsheet.",
            "file",
        )
    head = upload.stream.read(64 * 1024)
    upload.stream.seek(0)
    if not head:
        raise AdminRefused("Tệp rỗng.", "The file is empty.", "file")
    if not _looks_like(extension, head):
        raise AdminRefused(
            f"Nội dung tệp không phải bảng tính {extension}: hãy lưu lại tệp dưới dạng .csv (UTF-8) hoặc .xlsx.",
            f"The file's content is not a {extension} spreadsheet: save it again as .csv (UTF-8) or .xlsx.",
            "file",
        )
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{extension}"
    upload.save(path)
    # The name as the admin knows it (the stored file is named by a random id): composed, no folders, no control
    # characters, cut to 200 characters; only ever shown (escaped) and audited.
    base = unicodedata.normalize("NFC", original.replace("\\", "/").rsplit("/", 1)[-1])
    shown = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()[:200] or f"upload{extension}"
    job = submit(
        f"import.{kind}",
        {"path": str(path), "strict": strict, "filename": shown, "size": path.stat().st_size},
        "imports.run",
        created_by=actor.id,
    )
    auth.audit(actor, "import.upload", "job", job.id, {"kind": kind, "filename": shown, "strict": strict})
    return job


# -------------------------------------------------------------------------------------------------------- users


@dataclass(frozen=True)
class UserPage:
    rows: list[User]
    #: Pass as ``after`` for the next page; None on the last.
    next_after: int | None
    #: Pass as ``before`` for the previous page; None on the first.
    previous_before: int | None = None


def user_matches(q: str) -> Any:
    """The condition that a user's e-mail (any case) or name (any case, with or without diacritics, composed or not)
    contains ``q``: the users page's search and the audit log's actor filter."""
    q = unicodedata.normalize("NFC", q.strip())
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(User.email.ilike(pattern), name_contains(User.full_name, q))


def find_users(
    q: str | None, role: str | None, after: int | None, limit: int = 50, *, before: int | None = None
) -> UserPage:
    """Users by id, whose e-mail (any case) or name (any case, with or without diacritics, composed or not) contains
    ``q``, of ``role``; ``limit`` a page after ``after`` (or, given ``before``, the page before it)."""
    matching = []
    if q:
        matching.append(user_matches(q))
    if role:
        matching.append(User.role == role)
    if before:
        query = select(User).where(*matching, User.id < before).order_by(User.id.desc())
        rows = list(reversed(db.session.scalars(query.limit(limit)).all()))
    else:
        query = select(User).where(*matching, User.id > (after or 0)).order_by(User.id)
        rows = list(db.session.scalars(query.limit(limit)))
    if not rows:
        return UserPage([], None, None)

    def exists(condition: Any) -> bool:
        return bool(db.session.scalar(select(select(User.id).where(*matching, condition).exists())))

    return UserPage(
        rows,
        rows[-1].id if exists(User.id > rows[-1].id) else None,
        rows[0].id if exists(User.id < rows[0].id) else None,
    )


def _scope(role: str, district: str | None, province: str | None, employer_unit: str | None) -> auth.ScopeChoice:
    """The scope ``role`` takes, checked by the rule every way of making a user follows
    (:func:`disburse.auth.service.check_scope`), refused in the page's terms."""
    try:
        return auth.check_scope(role, district, province, employer_unit)
    except auth.UserError as exc:
        raise AdminRefused(exc.vi, exc.en, exc.field) from exc


def create_user(
    email: str,
    role: str,
    *,
    full_name: str,
    district: str | None,
    province: str | None,
    employer_unit: str | None,
    actor: User,
    api_only: bool = False,
) -> tuple[User, str | None]:
    """A new user with a one-time password (returned, shown once, never stored in clear); with ``api_only``, an
    account for API tokens alone, with no password (None returned): another system's, whose tokens the admin then
    makes on its page. Audited as ``disburse users create`` (``--no-password``) audits, under the admin's name.

    Not an admin's: the pages make no token for an admin's account (a token would act as an admin), so an API-only
    admin made here could never be used; ``disburse users create --role admin --no-password`` still makes one."""
    if auth.get_user_by_email(email):
        shown = unicodedata.normalize("NFKC", email).strip()  # as it would be kept ("ｕｎｉ" typed full-width: "uni")
        raise AdminRefused(
            f"Đã có người dùng với e-mail {shown}.", f"A user with e-mail {shown} already exists.", "email"
        )
    if api_only and role == "admin":
        raise AdminRefused(
            "Tài khoản quản trị phải đăng nhập bằng mật khẩu: trang quản trị không tạo token cho tài khoản quản trị.",
            "An admin's account signs in with a password: the admin pages make no token for an admin's account.",
            "access",
        )
    password = None if api_only else auth.one_time_password()
    try:
        user = auth.create_user(
            email,
            role,
            password=password,
            full_name=full_name,
            district=district,
            province=province,
            employer_unit=employer_unit,
            actor=actor,
            temporary=password is not None,
        )
    except auth.UserError as exc:  # the scope's field at fault, or an address the service refuses
        raise AdminRefused(exc.vi, exc.en, exc.field or "email") from exc
    return user, password


def user_version(user: User) -> str:
    """A short fingerprint of what the user's page lets an admin change (name, role, scope): two admins editing the
    same user at once, the second save is refused rather than undoing the first's change without a word."""
    shown = [user.full_name, user.role, user.province_code, user.district_code, user.employer_id]
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class UserUpdate:
    """A user's change saved: how many of the claims they held went back to the queue (their new role or scope does
    not cover them). True, as "something changed"."""

    released_claims: int = 0

    def __bool__(self) -> bool:
        return True


def update_user(
    user: User,
    *,
    role: str,
    full_name: str,
    district: str | None,
    province: str | None,
    employer_unit: str | None,
    actor: User,
) -> UserUpdate | None:
    """Change ``user``'s name, role and scope; None when nothing changed (and nothing is audited). A new role or
    scope revokes the user's API tokens, as it ends their sessions, and sends back to the queue the claims they hold
    that it does not cover (how many: :class:`UserUpdate`), audited with the change. An admin cannot take away their
    own admin role."""
    if user.id == actor.id and role != "admin":
        raise AdminRefused(
            "Bạn không thể bỏ vai trò quản trị của chính mình.", "You cannot remove your own admin role.", "role"
        )
    scope = _scope(role, district, province, employer_unit)
    try:
        full_name = auth.checked_name(full_name)  # composed, one line, no hidden character
    except auth.UserError as exc:
        raise AdminRefused(exc.vi, exc.en, exc.field) from None
    if user.role == "admin" and role != "admin":
        _keep_an_active_admin(user, field="role")
    before = auth.describe(user)
    powers = (user.role, user.district_code, user.province_code, user.employer_id)
    # Everything looked up before the row changes (a half-changed row must never be flushed: its CHECKs would fail).
    district = db.session.get(District, scope.district) if scope.district else None
    employer_id = (
        db.session.scalar(select(Employer.id).where(Employer.unit_code == scope.employer_unit))
        if scope.employer_unit
        else None
    )
    user.role = role
    user.full_name = full_name  # as typed, composed and tidied: as every other name is stored
    user.district_code = scope.district
    user.province_code = district.province_code if district is not None else scope.province
    user.employer_id = employer_id
    after = auth.describe(user)
    if after == before:
        return None
    db.session.flush()
    data: dict[str, Any] = {"email": user.email, "before": before, "after": after}
    released = 0
    if (user.role, user.district_code, user.province_code, user.employer_id) != powers:
        auth.revoke_tokens(user, actor=actor)  # the sessions end too (the database moves the epoch)
        # The claims they hold outside what they may now work go back to the queue: nobody could work them else.
        released = auth.released_claims(user, actor=actor)
    if released:
        data["released_claims"] = released
    auth.audit(actor, "user.update", "user", user.id, data)
    return UserUpdate(released)


def refused_deactivation(user: User, *, actor: User) -> None:
    """Refuse now what :func:`deactivate_user` would refuse whatever the answer, before the page asks to confirm it
    (an admin was asked "Khoá tài khoản …?" about their own account, and refused only after saying yes): oneself, an
    account already locked. (The last active admin needs no look here: the actor is an active admin, and another.)"""
    if user.id == actor.id:
        raise AdminRefused("Bạn không thể tự khoá tài khoản của mình.", "You cannot deactivate yourself.")
    if not user.active:
        raise AdminRefused("Tài khoản này đã bị khoá.", "This account is already deactivated.")


def deactivate_user(user: User, *, actor: User) -> int:
    """Stop ``user`` signing in; every session and token of theirs stops working at once (the database's trigger
    moves their session epoch), and the claims they hold go back to the queue (how many). Not oneself."""
    if user.id == actor.id:
        raise AdminRefused("Bạn không thể tự khoá tài khoản của mình.", "You cannot deactivate yourself.")
    try:
        return auth.deactivate(user, actor=actor)
    except auth.UserError as exc:
        raise AdminRefused(exc.vi, exc.en, exc.field) from None


def _keep_an_active_admin(user: User, field: str | None = None) -> None:
    """``auth.keep_an_active_admin``, refused in the admins' pages' words."""
    try:
        auth.keep_an_active_admin(user, field)
    except auth.UserError as exc:
        raise AdminRefused(exc.vi, exc.en, exc.field) from None


def reactivate_user(user: User, *, actor: User) -> None:
    try:
        auth.reactivate(user, actor=actor)
    except auth.UserError as exc:
        raise AdminRefused(exc.vi, exc.en, exc.field) from None


def reset_password(user: User, *, actor: User) -> str:
    """A new one-time password for ``user`` (returned to be shown once), to be replaced by their own at their next
    sign-in; their sessions end everywhere."""
    password = auth.one_time_password()
    auth.set_password(user, password, actor=actor, temporary=True)
    return password


def scope_label(user: User) -> str:
    """Where the user works, as people name it, the code after the name: the unit ("Công ty Gần (DN0100001)"), the
    district with its province ("Huyện Đông Anh (017), Thành phố Hà Nội"), or the province ("Thành phố Hà Nội (01)");
    '' when the user has no scope (the whole country). The objects come from the session's identity map after the
    first row that names them, so a page of users reads each place once."""
    parts = []
    if user.employer_id:
        unit = db.session.get(Employer, user.employer_id)
        parts.append(f"{unit.name} ({unit.unit_code})" if unit is not None else str(user.employer_id))
    if user.district_code:
        district = db.session.get(District, user.district_code)
        province = db.session.get(Province, district.province_code) if district is not None else None
        parts.append(
            f"{district.name} ({district.code})" + (f", {province.name}" if province is not None else "")
            if district is not None
            else user.district_code
        )
    elif user.province_code:
        province = db.session.get(Province, user.province_code)
        parts.append(f"{province.name} ({province.code})" if province is not None else user.province_code)
    return " · ".join(parts)


# ---------------------------------------------------------------------------------------------------- programme


def set_max_payment_failures(program: Program, value: int, *, actor: User) -> bool:
    """Change how many failed payments a claim has before cash at the office is offered; False when unchanged.

    The only parameter changed on a page: it is read when a payment fails or a caseworker offers cash, never stored
    on a claim, so a change applies to the next failures and alters nothing already decided. The dates, time limits,
    rates and amounts are the law's and are stored on claims and deadlines as they are computed: not on a page."""
    if not 1 <= value <= 10:
        raise AdminRefused("Hãy ghi số lần, từ 1 đến 10.", "Give a number from 1 to 10.", "max_payment_failures")
    before = program.max_payment_failures
    if before == value:
        return False
    program.max_payment_failures = value
    db.session.flush()
    auth.audit(
        actor,
        "program.update",
        "program",
        program.id,
        {"code": program.code, "field": "max_payment_failures", "before": before, "after": value},
    )
    return True


# ------------------------------------------------------------------------------------------------------- health


def _without_secrets(url: str) -> str:
    """A URL without its user, password, query and fragment (where tokens hide)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "—"
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True)
class ProviderHealth:
    name: str
    kind: str
    where: str
    last_sent: datetime | None
    last_callback: datetime | None
    #: Batches with a payment still queued or sent (not yet paid, failed or returned): what is not finished. A
    #: batch's own state says nothing of it (it stays ``sent`` once handed over).
    pending_batches: int


#: A payment in these states has no outcome yet; a batch with one is not finished.
UNFINISHED_STATES = (PaymentState.QUEUED.value, PaymentState.SENT.value)


#: Per provider, how many batches have a payment with no outcome yet: one statement over the unfinished payments,
#: which ``ix_payments_state_sent_at`` finds without reading the paid ones (a national programme has millions).
UNFINISHED_BATCHES = (
    select(Payment.provider, func.count(distinct(Payment.batch_id)))
    .where(Payment.state.in_(UNFINISHED_STATES), Payment.batch_id.is_not(None))
    .group_by(Payment.provider)
)


def unfinished_batches() -> dict[str, int]:
    """Per provider, the batches with a payment still queued or sent (:data:`UNFINISHED_BATCHES`)."""
    return {provider: int(count) for provider, count in db.session.execute(UNFINISHED_BATCHES)}


def providers() -> list[ProviderHealth]:
    """The providers the programme pays through: the bank provider (``DISBURSE_PAYMENT_PROVIDER``) and cash."""
    config = current_app.config
    configured = [str(config["DISBURSE_PAYMENT_PROVIDER"])]
    if "cash" not in configured:
        configured.append("cash")
    found = []
    unfinished = unfinished_batches()
    for name in configured:
        where = {
            "sandbox": _without_secrets(str(config.get("DISBURSE_SANDBOX_URL") or "")),
            "bankfile": str(config.get("DISBURSE_BANKFILE_DIR") or ""),
            "cash": "",
        }.get(name, "")
        kind = {"sandbox": "http", "bankfile": "file", "cash": "cash"}.get(name, name)
        last_sent = db.session.scalar(select(func.max(PaymentBatch.sent_at)).where(PaymentBatch.provider == name))
        last_callback = db.session.scalar(
            select(func.max(ProviderEvent.received_at)).where(ProviderEvent.provider == name)
        )
        found.append(ProviderHealth(name, kind, where, last_sent, last_callback, unfinished.get(name, 0)))
    return found


#: How many of the batches waiting to be handed over the health page lists.
WAITING_SHOWN = 20


def batches_waiting_handover(limit: int = WAITING_SHOWN) -> tuple[int, list[PaymentBatch]]:
    """Batches no provider has taken yet (``acknowledged_at`` empty) that an operator should look at: one whose last
    hand-over went wrong (``last_error``: a bank file that could not be written, a refusal, a programme past its last
    payable day) or that is older than ``DISBURSE_PAYMENT_HANDOVER_AFTER_S``. How many, and the oldest ``limit``."""
    cutoff = datetime.now(UTC) - timedelta(seconds=int(current_app.config["DISBURSE_PAYMENT_HANDOVER_AFTER_S"]))
    waiting = (
        PaymentBatch.acknowledged_at.is_(None),
        PaymentBatch.state.in_(("open", "sent")),
        or_(PaymentBatch.last_error.is_not(None), PaymentBatch.created_at < cutoff),
    )
    count = int(db.session.scalar(select(func.count()).select_from(PaymentBatch).where(*waiting)) or 0)
    shown = list(db.session.scalars(select(PaymentBatch).where(*waiting).order_by(PaymentBatch.id).limit(limit)))
    return count, shown


def orders_held_back(limit: int = WAITING_SHOWN) -> sending.HeldBackOrders:
    """Orders their provider refused for a reason of ours and holds back (still sent, handed over again after a wait
    that grows): how many, how many were held back ``DISBURSE_PAYMENT_BANK_FAILURES_ALERT`` times or more (the
    provider keeps refusing something of ours: a person must fix it), and the most held back ``limit``."""
    return sending.orders_held_back(limit)


def database_settings() -> dict[str, bool]:
    """PostgreSQL's settings the system relies on that an operator may have changed. ``autovacuum``: every claim is
    rewritten about five times on its way to paid (and its payment twice); without vacuum the tables grow several
    times over and the planner's statistics go stale (measured at the national point: BENCHMARKS.md)."""
    return {"autovacuum": bool(db.session.scalar(text("SELECT current_setting('autovacuum') = 'on'")))}


#: How long the page waits for workers to answer.
WORKER_PING_S = 1.0


def workers() -> dict[str, Any]:
    """The Celery workers that answer a ping within :data:`WORKER_PING_S`, by name."""
    try:
        names = ping_workers(WORKER_PING_S)
    except Exception as exc:  # the broker cannot be reached: the queues say so too
        return {"ok": False, "names": [], "error": type(exc).__name__}
    return {"ok": bool(names), "names": names, "error": None}


def queues() -> dict[str, Any]:
    """The number of tasks waiting in each named queue (Redis LLEN), and whether a beat holds beat's lock (``disburse
    beat`` keeps it while it runs); None where Redis did not answer."""
    client = redis_client(current_app.config, **redis_client_options(current_app.config))
    try:
        pipe = client.pipeline()
        for name in QueueNames.all():
            pipe.llen(name)
        pipe.exists(BEAT_LOCK_KEY)
        *lengths, beat = pipe.execute()
        return {
            "ok": True,
            "lengths": dict(zip(QueueNames.all(), lengths, strict=True)),
            "beat": bool(beat),
            "error": None,
        }
    except redis.RedisError as exc:
        return {
            "ok": False,
            "lengths": {name: None for name in QueueNames.all()},
            "beat": None,
            "error": type(exc).__name__,
        }
    finally:
        client.close()


#: A scheduled task is late when its next run is this much overdue (and twice its last run's length).
LATE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class ScheduledTask:
    entry: str
    task: str
    every: str
    #: Its last run as the worker recorded it (``at``, ``s``, ``error``), None if never seen.
    last: dict[str, Any] | None
    #: Its next run is overdue: beat or the workers are not doing their job.
    late: bool


def beat_schedule() -> tuple[list[ScheduledTask], bool]:
    """What beat sends, how often, and when each ran last; and whether Redis answered for the last runs."""
    now = datetime.now(UTC)
    runs = last_runs(current_app.config)
    rows = []
    for entry, spec in schedule_of(current_app.config).items():
        every = spec["schedule"]
        last = (runs or {}).get(spec["task"])
        if isinstance(every, float):
            shown = f"{every:g} s"
            next_due = last["at"] + timedelta(seconds=every) if last else None
        else:  # a crontab: its five fields, in Celery's time zone (Vietnam)
            shown = "cron " + re.sub(r"^<crontab: (.*) \(m/h/dM/MY/d\)>$", r"\1", str(every))
            next_due = now + every.remaining_estimate(last["at"]) if last else None  # the time left, from now
        late = bool(last and next_due and now > next_due + max(LATE_AFTER, timedelta(seconds=2 * last["s"])))
        rows.append(ScheduledTask(entry, spec["task"], shown, last, late))
    return rows, runs is not None


# ---------------------------------------------------------------------------------------------------- audit log


@dataclass(frozen=True)
class AuditPage:
    rows: list[tuple[AuditLog, str | None]]
    next_before: int | None


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))


def audit_object_types() -> list[str]:
    return list(db.session.scalars(select(AuditLog.object_type).distinct().order_by(AuditLog.object_type)))


def search_audit(
    *,
    actor: str | None,
    action: str | None,
    object_type: str | None,
    record: str | None,
    since: date | None,
    until: date | None,
    before: int | None,
    limit: int = 50,
) -> AuditPage:
    """Audit entries newest first (keyset on the id), with the actor's e-mail; ``actor`` is a part of the actor's
    e-mail or name, as the users page searches them (``giamsat.hanoi`` finds giamsat.hanoi@bhxh.vn); ``record`` is a
    record's number or code, of any kind unless ``object_type`` names one (user 2, job 2 and programme 2 are three
    records); days are Vietnam days, both ends included.

    The text is matched among the users (a few thousand rows), not on each entry of the log: the log is filtered by
    ``actor_id IN (the matching users)``, which an index on ``audit_log (actor_id, id)`` serves in milliseconds
    whether the actor wrote 20 entries of two million or most of them (measured); the log has no such index yet, so
    a rare actor's entries are found by reading the log backwards, as the exact e-mail's were."""
    query = (
        select(AuditLog, User.email)
        .outerjoin(User, User.id == AuditLog.actor_id)
        .order_by(AuditLog.id.desc())
        .limit(limit + 1)
    )
    if actor and actor.strip():
        query = query.where(AuditLog.actor_id.in_(select(User.id).where(user_matches(actor))))
    if action:
        query = query.where(AuditLog.action == action)
    if object_type:
        query = query.where(AuditLog.object_type == object_type)
    if record:
        query = query.where(AuditLog.object_id == record)
    if since:
        query = query.where(AuditLog.created_at >= datetime.combine(since, time(), VIETNAM_TZ))
    if until:
        query = query.where(AuditLog.created_at < datetime.combine(until + timedelta(days=1), time(), VIETNAM_TZ))
    if before:
        query = query.where(AuditLog.id < before)
    rows: list[tuple[AuditLog, str | None]] = [(entry, email) for entry, email in db.session.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(rows, rows[-1][0].id if more and rows else None)
