"""The admins' pages (server-rendered, Vietnamese first): the admin home, imports uploaded in the browser, users and
roles with their scopes, the programme's parameters, providers, workers and queues, and the audit log.

Views parse the form, check the role (the decorator), call one service, commit and redirect (post/redirect/get); a
refused request comes back on its form with the service's message in the user's language and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from disburse import role_labels
from disburse.admin import service
from disburse.admin.forms import (
    ACCESS_API,
    ACCESS_CHOICES,
    ActionForm,
    AuditFilterForm,
    BatchFilterForm,
    ConfirmActionForm,
    EditUserForm,
    ImportForm,
    MaxFailuresForm,
    NewUserForm,
    TokenForm,
    UserSearchForm,
)
from disburse.auth import service as auth_service
from disburse.auth.models import ROLES, ApiToken, User
from disburse.auth.permissions import roles_required
from disburse.auth.text import shown
from disburse.background import QueueNames
from disburse.casework.views import pick
from disburse.claims import list_builds
from disburse.claims.employer_views import current_program
from disburse.dashboard.views import percent_bp
from disburse.extensions import db
from disburse.formatting import dmy, vnd
from disburse.notifications import service as notifications
from disburse.payments import batches as payment_batches
from disburse.payments import reasons
from disburse.payments.models import PROVIDER_LABELS, PROVIDERS, PaymentBatch
from disburse.payments.sending import orders_held_back
from disburse.payments.states import label as payment_state_label
from disburse.programs.models import SECTOR_LABELS, Program
from disburse.reference.models import District, Province

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE = 50


def _user() -> User:
    return cast(User, current_user._get_current_object())


def _refused(form: Any, exc: service.AdminRefused) -> list[str]:
    """Put the refusal on its field (or return it for the summary at the top)."""
    message = pick((exc.message_vi, exc.message_en))
    if exc.field and exc.field in form:
        form[exc.field].errors = [*form[exc.field].errors, message]
        return []
    return [message]


@bp.get("/")
@roles_required("admin")
def index() -> ResponseReturnValue:
    return render_template("admin/index.html")


# ------------------------------------------------------------------------------------------------------ imports


def _import_form() -> ImportForm:
    form = ImportForm()
    form.kind.choices = [("", _("Chọn loại danh sách"))] + [
        (kind, pick(labels)) for kind, labels in service.IMPORT_KINDS.items()
    ]
    return form


@bp.route("/imports", methods=["GET", "POST"])
@roles_required("admin")
def imports() -> ResponseReturnValue:
    """Upload a registry file; its import runs as a background job, whose page shows the progress."""
    # Registry files are larger than any other request: this page takes up to DISBURSE_UPLOAD_MAX_BYTES (set before
    # the CSRF check reads the form: disburse._upload_size).
    form = _import_form()
    general: list[str] = []
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                job = service.start_import(form.kind.data, form.file.data, strict=form.strict.data, actor=_user())
            except service.AdminRefused as exc:
                db.session.rollback()
                general = _refused(form, exc)
            else:
                db.session.commit()
                return redirect(url_for("jobs.show", job_id=job.id))
        return render_template("admin/imports.html", form=form, general=general), 400
    return render_template("admin/imports.html", form=form, general=general)


@bp.route("/lists", methods=["GET", "POST"])
@roles_required("admin")
def lists() -> ResponseReturnValue:
    """The programme's Form 01 lists: what happens next for people new in the registry, and the build as a
    background job while the lists may still be built (until the list deadline); its page shows the progress."""
    program = current_program()
    form = ActionForm()
    general: list[str] = []
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 400  # the form's own error (its token) is shown above it
        else:
            try:
                job = list_builds.start_build(program, _user())
            except list_builds.ListsClosed as exc:
                db.session.rollback()
                general, status = [pick(exc.words)], 409
            else:
                db.session.commit()
                return redirect(url_for("jobs.show", job_id=job.id))
    page = render_template(
        "admin/lists.html",
        program=program,
        form=form,
        general=general,
        step=list_builds.next_step(program),
        build_step=list_builds.BUILD_LISTS,
        latest=list_builds.latest_build(program),
    )
    return page, status


# -------------------------------------------------------------------------------------------------------- users


def _role_choices(blank: str | None = None) -> list[tuple[str, str]]:

    labels = role_labels()
    return ([("", blank)] if blank is not None else []) + [(role, labels[role]) for role in ROLES]


@bp.get("/users")
@roles_required("admin")
def users() -> ResponseReturnValue:
    form = UserSearchForm(request.args)
    form.role.choices = _role_choices(_("Mọi vai trò"))
    if not form.validate():
        return render_template("admin/users.html", form=form, page=None), 400
    page = service.find_users(
        form.q.data or None, form.role.data or None, form.after.data, PAGE, before=form.before.data
    )
    return render_template("admin/users.html", form=form, page=page, scope_label=service.scope_label, shown=shown)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def user_new() -> ResponseReturnValue:
    form = NewUserForm()
    form.role.choices = _role_choices(_("Chọn vai trò"))
    form.access.choices = [(value, str(label)) for value, label in ACCESS_CHOICES.items()]
    general: list[str] = []
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                user, password = service.create_user(
                    form.email.data,
                    form.role.data,
                    full_name=form.full_name.data or "",
                    district=form.district.data or None,
                    province=form.province.data or None,
                    employer_unit=form.employer.data or None,
                    actor=_user(),
                    api_only=form.access.data == ACCESS_API,
                )
            except service.AdminRefused as exc:
                db.session.rollback()
                general = _refused(form, exc)
            else:
                db.session.commit()
                if password is None:  # API tokens alone: its page makes them
                    flash(
                        _(
                            "Đã tạo tài khoản chỉ dùng API %(email)s (không có mật khẩu). Hãy tạo token cho hệ thống "
                            "dùng tài khoản ở mục Token API bên dưới.",
                            email=user.email,
                        ),
                        "success",
                    )
                    return redirect(url_for("admin.user_edit", user_id=user.id, _anchor="tokens"))
                return render_template("admin/password.html", user=user, password=password, created=True)
        return render_template("admin/user_new.html", form=form, general=general), 400
    return render_template("admin/user_new.html", form=form, general=general)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def user_edit(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = EditUserForm() if request.method == "POST" else _edit_form(user)
    form.role.choices = _role_choices()
    general: list[str] = []
    if request.method == "POST":
        if form.validate_on_submit():
            db.session.refresh(user, with_for_update=True)  # as it is now, and held until this save ends
            # A save that does not say what it was made on (no ``seen``: a script, a page of an older version) is
            # taken as made on something older, as the API takes it: it would overwrite unseen whatever changed.
            if form.seen.data != service.user_version(user):
                db.session.rollback()
                message = _(
                    "Người dùng này vừa được một quản trị viên khác sửa: trang đã hiện thông tin mới nhất, chưa lưu "
                    "thay đổi của bạn. Hãy sửa lại nếu vẫn cần."
                )
                return _user_page(user, _edit_form(user), [message]), 409
            try:
                changed = service.update_user(
                    user,
                    role=form.role.data,
                    full_name=form.full_name.data or "",
                    district=form.district.data or None,
                    province=form.province.data or None,
                    employer_unit=form.employer.data or None,
                    actor=_user(),
                )
            except service.AdminRefused as exc:
                db.session.rollback()
                general = _refused(form, exc)
            else:
                db.session.commit()
                if changed is None:
                    flash(_("Không có gì thay đổi."), "success")
                elif changed.released_claims:
                    flash(
                        ngettext(
                            "Đã lưu thay đổi. %(num)s hồ sơ người này đang giữ không còn thuộc phạm vi mới đã được "
                            "trả lại hàng chờ.",
                            "Đã lưu thay đổi. %(num)s hồ sơ người này đang giữ không còn thuộc phạm vi mới đã được "
                            "trả lại hàng chờ.",
                            changed.released_claims,
                        ),
                        "success",
                    )
                else:
                    flash(_("Đã lưu thay đổi."), "success")
                return redirect(url_for("admin.user_edit", user_id=user.id))
        return _user_page(user, form, general), 400
    return _user_page(user, form, general)


def _edit_form(user: User) -> EditUserForm:
    """The edit form filled from the user as stored."""
    unit = (
        db.session.scalar(select(service.Employer.unit_code).where(service.Employer.id == user.employer_id))
        if user.employer_id
        else None
    )
    form = EditUserForm(
        formdata=None,
        data={
            "full_name": user.full_name,
            "role": user.role,
            "district": user.district_code or "",
            "province": (user.province_code or "") if user.role == "supervisor" else "",
            "employer": unit or "",
            "seen": service.user_version(user),
        },
    )
    form.role.choices = _role_choices()
    return form


def _user_page(user: User, form: EditUserForm, general: list[str], token_form: TokenForm | None = None) -> str:
    now = datetime.now(UTC)
    tokens = [(token, auth_service.token_status(token, now)) for token in auth_service.tokens_of(user)]
    return render_template(
        "admin/user_edit.html",
        user=user,
        form=form,
        general=general,
        held=auth_service.held_claims(user),
        action_form=ActionForm(formdata=None),
        tokens=tokens,
        token_form=token_form or TokenForm(formdata=None),
        token_days=current_app.config["DISBURSE_TOKEN_DAYS"],
        tokens_made_here=_tokens_made_here(user),
        tokens_by_command=_TOKENS_BY_COMMAND,
    )


def _asked_first(user: User, action: str, *, refused: Any = None, **context: Any) -> ResponseReturnValue | None:
    """The page asking to confirm ``action`` (``deactivate``, ``password``, ``revoke`` a ``token``) on ``user``,
    unless the post comes from it; a post without its CSRF token is a 400. ``refused(user)`` raises what the action
    would refuse whatever the answer: then the user's page says so at once (400), nothing asked."""
    form = ConfirmActionForm()
    if not form.validate_on_submit():
        abort(400)
    if refused is not None:
        try:
            refused(user)
        except service.AdminRefused as exc:
            return _user_page(user, _edit_form(user), [pick((exc.message_vi, exc.message_en))]), 400
    if form.confirmed.data == "1":
        return None
    return render_template(
        "admin/user_confirm.html",
        user=user,
        action=action,
        action_form=ConfirmActionForm(formdata=None, confirmed="1"),
        **context,
    )


def _user_action(
    user_id: int, act: Any, done: Any, *, confirm: str | None = None, refused: Any = None, **context: Any
) -> ResponseReturnValue:
    """``act(user)``, asked first when ``confirm`` names the question (``context`` for its page, given the user);
    ``done``: what the flash says, or a function of what ``act`` returned that says it."""
    user = _user_or_404(user_id)
    if confirm is not None:
        said = {name: value(user) for name, value in context.items()}
        if (asked := _asked_first(user, confirm, refused=refused, **said)) is not None:
            return asked
    elif not ActionForm().validate_on_submit():
        abort(400)
    try:
        result = act(user)
    except service.AdminRefused as exc:
        db.session.rollback()
        db.session.refresh(user)
        return _user_page(user, _edit_form(user), [pick((exc.message_vi, exc.message_en))]), 400
    db.session.commit()
    flash(done(result) if callable(done) else done, "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/deactivate")
@roles_required("admin")
def user_deactivate(user_id: int) -> ResponseReturnValue:
    return _user_action(
        user_id,
        lambda user: service.deactivate_user(user, actor=_user()),
        _deactivated,
        confirm="deactivate",
        refused=lambda user: service.refused_deactivation(user, actor=_user()),
        held=auth_service.held_claims,
    )


def _deactivated(released: int) -> str:
    done = _("Đã khoá tài khoản; mọi phiên đăng nhập và token của người dùng này đã hết hiệu lực.")
    if not released:
        return done
    back = ngettext(
        "%(num)s hồ sơ người này đang giữ đã được trả lại hàng chờ.",
        "%(num)s hồ sơ người này đang giữ đã được trả lại hàng chờ.",
        released,
    )
    return f"{done} {back}"


@bp.post("/users/<int:user_id>/reactivate")
@roles_required("admin")
def user_reactivate(user_id: int) -> ResponseReturnValue:
    return _user_action(user_id, lambda user: service.reactivate_user(user, actor=_user()), _("Đã mở lại tài khoản."))


@bp.post("/users/<int:user_id>/password")
@roles_required("admin")
def user_password(user_id: int) -> ResponseReturnValue:
    """A new one-time password, shown on this answer only; the user's sessions end everywhere."""
    user = _user_or_404(user_id)
    if (asked := _asked_first(user, "password")) is not None:
        return asked
    password = service.reset_password(user, actor=_user())
    db.session.commit()
    return render_template("admin/password.html", user=user, password=password, created=False)


def _tokens_made_here(user: User) -> bool:
    """Whether the admins' page makes API tokens for ``user``: only for an account that uses tokens alone (no
    password: an integration's) and is not an admin's. A token for a person's account would let the admin act as
    that person (approve, refuse, read claims) under their name; that stays an operator's command on the server."""
    return user.password_hash is None and user.role != "admin"


_TOKENS_BY_COMMAND = _l(
    "Trang này chỉ tạo token cho tài khoản chỉ dùng API (không có mật khẩu) không phải quản trị viên: token của tài "
    "khoản một người cho phép người cầm token làm việc dưới tên người đó. Để một hệ thống khác gọi API, hãy tạo cho "
    "nó một tài khoản chỉ dùng API (Tạo người dùng, mục Cách dùng tài khoản). Nếu thật sự cần token cho tài khoản "
    "này, quản trị hệ thống dùng lệnh disburse tokens create trên máy chủ."
)


@bp.post("/users/<int:user_id>/tokens")
@roles_required("admin")
def user_token_new(user_id: int) -> ResponseReturnValue:
    """A new API token for the user (an integration's account), shown on this answer only; audited as the admin's."""
    user = _user_or_404(user_id)
    form = TokenForm()
    if not form.validate_on_submit():
        return _user_page(user, _edit_form(user), [], form), 400
    if not _tokens_made_here(user):
        return _user_page(user, _edit_form(user), [_TOKENS_BY_COMMAND], form), 400
    try:
        token = auth_service.create_token(user, form.name.data or "", actor=_user())
    except auth_service.UserError as exc:
        db.session.rollback()
        return _user_page(user, _edit_form(user), [pick((exc.vi, exc.en))], form), 400
    db.session.commit()
    return render_template("admin/token.html", user=user, token=token, name=form.name.data or "")


@bp.post("/users/<int:user_id>/tokens/<int(max=2147483647):token_id>/revoke")
@roles_required("admin")
def user_token_revoke(user_id: int, token_id: int) -> ResponseReturnValue:
    """End one of the user's API tokens at once, after asking (an integration using it stops working)."""
    user = _user_or_404(user_id)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        abort(404)
    if (asked := _asked_first(user, "revoke", token=token)) is not None:
        return asked
    was_working = auth_service.token_status(token) == "active"
    if was_working:  # a revoked or expired token already does not work: nothing to revoke, nothing audited
        auth_service.revoke_token(token.id, actor=_user())
        db.session.commit()
    if was_working:
        flash(_("Đã thu hồi token %(prefix)s…; token này không dùng được nữa.", prefix=token.prefix), "success")
    else:
        flash(_("Token %(prefix)s… đã không dùng được từ trước; không có gì thay đổi.", prefix=token.prefix), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id, _anchor="tokens"))


# ---------------------------------------------------------------------------------------------------- programme


@bp.get("/programme")
@roles_required("admin", "supervisor")
def programme() -> ResponseReturnValue:
    """Every programme's parameters, read-only, but for admins the number of failed payments before cash is offered
    (the one parameter safe to change at any time)."""
    return _programme_page({})


def _programme_page(forms: dict[int, MaxFailuresForm], status: int = 200) -> ResponseReturnValue:
    programs = list(db.session.scalars(select(Program).order_by(Program.id)))
    if _user().role == "admin":
        for program in programs:
            forms.setdefault(
                program.id,
                MaxFailuresForm(
                    formdata=None, prefix=f"program-{program.id}", max_payment_failures=program.max_payment_failures
                ),
            )
    return (
        render_template(
            "admin/programme.html",
            programs=programs,
            forms=forms,
            sector_label=lambda code: pick(SECTOR_LABELS.get(code, (code, code))),
        ),
        status,
    )


@bp.post("/programme/<int(max=2147483647):program_id>")
@roles_required("admin")
def programme_update(program_id: int) -> ResponseReturnValue:
    program = db.session.get(Program, program_id)
    if program is None:
        abort(404)
    form = MaxFailuresForm(prefix=f"program-{program.id}")
    if form.validate_on_submit():
        try:
            changed = service.set_max_payment_failures(program, form.max_payment_failures.data, actor=_user())
        except service.AdminRefused as exc:
            db.session.rollback()
            _refused(form, exc)
        else:
            db.session.commit()
            flash(_("Đã lưu thay đổi.") if changed else _("Không có gì thay đổi."), "success")
            return redirect(url_for("admin.programme"))
    return _programme_page({program.id: form}, 400)


# ------------------------------------------------------------------------------------------------------- health


@bp.get("/health")
@roles_required("admin")
def health() -> ResponseReturnValue:
    schedule, runs_known = service.beat_schedule()
    waiting_count, waiting = service.batches_waiting_handover()
    return render_template(
        "admin/health.html",
        providers=service.providers(),
        waiting_count=waiting_count,
        waiting=waiting,
        handover_minutes=int(current_app.config["DISBURSE_PAYMENT_HANDOVER_AFTER_S"]) // 60,
        held_back=service.orders_held_back(),
        retry_cap_minutes=int(current_app.config["DISBURSE_PAYMENT_RETRY_CAP_S"]) // 60,
        database=service.database_settings(),
        workers=service.workers(),
        queues=service.queues(),
        queue_names=QueueNames.all(),
        schedule=schedule,
        runs_known=runs_known,
        notifications=notifications.health(),
    )


# ----------------------------------------------------------------------------------------------------- batches


def _batch_labels() -> dict[str, Any]:
    def label(labels: dict[str, tuple[str, str]]) -> Any:
        return lambda code: pick(labels[code]) if code in labels else code

    return {
        "batch_state": label(payment_batches.STATE_LABELS),
        "channel_label": label(payment_batches.CHANNEL_LABELS),
        "provider_label": label(PROVIDER_LABELS),
        "payment_state": lambda code, channel="bank": pick(payment_state_label(code, channel)),
        "failure_label": lambda code: pick(reasons.label(code)),
    }


@bp.get("/batches")
@roles_required("admin")
def batches() -> ResponseReturnValue:
    """Payment batches, newest first: control totals, how their payments stand, those waiting to be handed over."""
    form = BatchFilterForm(request.args)
    form.state.choices = [("", _("Mọi trạng thái"))] + [
        (code, pick(labels)) for code, labels in payment_batches.STATE_LABELS.items()
    ]
    form.channel.choices = [("", _("Mọi kênh"))] + [
        (code, pick(labels)) for code, labels in payment_batches.CHANNEL_LABELS.items()
    ]
    form.provider.choices = [("", _("Mọi bên chi trả"))] + [(code, pick(PROVIDER_LABELS[code])) for code in PROVIDERS]
    context = {"form": form, "totals": payment_batches.totals(), "args": _args, **_batch_labels()}
    if not form.validate():
        return render_template("admin/batches.html", page=None, **context), 400
    page = payment_batches.latest(
        state=form.state.data or None,
        channel=form.channel.data or None,
        provider=form.provider.data or None,
        before=form.before.data,
        limit=PAGE,
    )
    return render_template("admin/batches.html", page=page, **context)


#: How many of a batch's held-back orders its page lists (a batch refused whole holds back all of them).
HELD_SHOWN = 50


@bp.get("/batches/<int(max=2147483647):batch_id>")
@roles_required("admin")
def batch(batch_id: int) -> ResponseReturnValue:
    """One batch: its control totals, its payments by state, its failures by the provider's code, its held-back
    orders."""
    found = db.session.get(PaymentBatch, batch_id)
    if found is None:
        abort(404)
    return render_template(
        "admin/batch.html",
        row=payment_batches.BatchStanding(found, payment_batches.standing([found.id])[found.id]),
        failures=payment_batches.failures(found.id),
        held_back=orders_held_back(HELD_SHOWN, batch_ids=[found.id]),
        **_batch_labels(),
    )


# ---------------------------------------------------------------------------------------------------- audit log


#: The audit log's actions as people call them: (Vietnamese, English). Every action the product writes has one
#: (tests/admin/test_audit_labels.py reads the source for them); an action that has none shows as its code.
AUDIT_ACTIONS: dict[str, tuple[str, str]] = {
    "claim.dismiss_offer": (
        "Bỏ qua đề nghị thông tin tài khoản của người lao động",
        "Person's offer of details dismissed",
    ),
    "claim.record_phone": ("Ghi số điện thoại mới của người lao động", "Person's new phone number recorded"),
    "import.upload": ("Tải lên tệp danh sách để nhập", "Registry file uploaded for import"),
    "job.retry": ("Chạy lại công việc bị lỗi", "Failed job run again"),
    "lists.build": ("Lập danh sách Mẫu số 01", "Form 01 lists build started"),
    "people.bulk_lookup": ("Tra cứu một danh sách người lao động", "List of people looked up"),
    "program.update": ("Sửa tham số chương trình", "Programme parameter changed"),
    "recovery.move": ("Chuyển trạng thái khoản thu hồi", "Recovery moved on"),
    "target.set": ("Đặt mục tiêu chi trả cho quận/huyện", "District target set"),
    "token.create": ("Tạo token API", "API token created"),
    "token.revoke": ("Thu hồi token API", "API token revoked"),
    "user.create": ("Tạo người dùng", "User created"),
    "user.deactivate": ("Khoá tài khoản", "Account deactivated"),
    "user.reactivate": ("Mở lại tài khoản", "Account reactivated"),
    "user.set_password": ("Đặt mật khẩu mới", "New password set"),
    "user.update": ("Sửa thông tin người dùng", "User details changed"),
}
#: The kinds of record an audit entry is about, as people call them; a kind that has none shows as its code.
AUDIT_OBJECTS: dict[str, tuple[str, str]] = {
    "api_token": ("Token API", "API token"),
    "claim": ("Hồ sơ", "Claim"),
    "district": ("Quận/huyện", "District"),
    "job": ("Công việc", "Job"),
    "program": ("Chương trình", "Programme"),
    "recovery": ("Khoản thu hồi", "Recovery"),
    "user": ("Người dùng", "User"),
}


def action_label(action: str) -> str:
    """An audit entry's action in the page's language, or its code when it has no label."""
    return pick(AUDIT_ACTIONS[action]) if action in AUDIT_ACTIONS else action


def object_label(object_type: str) -> str:
    """The kind of record an audit entry is about in the page's language, or its code when it has no label."""
    return pick(AUDIT_OBJECTS[object_type]) if object_type in AUDIT_OBJECTS else object_type


#: The keys of an audit entry's data as people call them: (Vietnamese, English), in the order the page lists them; a
#: key that has none shows as its code.
AUDIT_KEYS: dict[str, tuple[str, str]] = {
    "email": ("E-mail", "E-mail"),
    "full_name": ("Họ và tên", "Full name"),
    "role": ("Vai trò", "Role"),
    "province": ("Tỉnh/thành phố", "Province"),
    "district": ("Quận/huyện", "District"),
    "employer_id": ("Đơn vị", "Unit"),
    "active": ("Đang hoạt động", "Active"),
    "api_only": ("Chỉ dùng token API (không có mật khẩu)", "API tokens only (no password)"),
    "released_claims": ("Hồ sơ đang giữ trả lại hàng chờ", "Held claims sent back to the queue"),
    "user_id": ("Người dùng (số)", "User (number)"),
    "prefix": ("Đầu token", "Token prefix"),
    "kind": ("Loại", "Kind"),
    "filename": ("Tệp", "File"),
    "strict": ("Dừng khi có dòng lỗi", "Stop at a bad row"),
    "new_job": ("Công việc mới (số)", "New job (number)"),
    "code": ("Mã chương trình", "Programme code"),
    "program": ("Chương trình", "Programme"),
    "field": ("Tham số", "Parameter"),
    "date": ("Ngày", "Date"),
    "percent_bp": ("Mục tiêu", "Target"),
    "from": ("Từ", "From"),
    "to": ("Sang", "To"),
    "recovered_vnd": ("Số tiền thu hồi", "Sum recovered"),
    "offer_id": ("Đề nghị (số)", "Offer (number)"),
    "event_id": ("Sự kiện (số)", "Event (number)"),
    "reason": ("Lý do", "Reason"),
    "note": ("Ghi chú", "Note"),
    "before": ("Trước", "Before"),
    "after": ("Sau", "After"),
    "asked": ("Số mã tra cứu", "Codes asked"),
    "found": ("Số người tìm thấy", "People found"),
    "via": ("Qua", "Through"),
}
_KEY_ORDER = {key: i for i, key in enumerate(AUDIT_KEYS)}
#: The programme parameters an admin changes on the programme page, as people call them.
PARAMETER_LABELS: dict[str, tuple[str, str]] = {
    "max_payment_failures": (
        "Số lần chi trả lỗi trước khi đề nghị nhận tiền mặt",
        "Payment failures before cash is offered",
    ),
}


def with_code(label: str, code: str) -> str:
    """A label and its code after it, for admins who know the codes, unless the label already ends with it (the
    import kinds' Vietnamese names do, as the command line names them: "Đơn vị sử dụng lao động (employers)")."""
    return label if label.endswith(f"({code})") else f"{label} ({code})"


def _audit_value(key: str, value: Any) -> str:
    """One value of an audit entry's data in words: a role's name, a place's or a unit's name with its code, yes or
    no, VND, a percentage, a day as dd/mm/yyyy; a list comma-separated; nothing as "—"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Có") if value else _("Không")
    if isinstance(value, list):
        return ", ".join(_audit_value(key, item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{label}: {text}" for label, text in audit_lines(value))
    if key == "kind" and value in service.IMPORT_KINDS:
        return with_code(pick(service.IMPORT_KINDS[value]), value)
    if key == "field" and value in PARAMETER_LABELS:
        return with_code(pick(PARAMETER_LABELS[value]), value)
    if key == "role" and value in role_labels():
        return role_labels()[value]
    if key == "district" and isinstance(value, str):
        district = db.session.get(District, value)
        return f"{district.name} ({value})" if district is not None else value
    if key == "province" and isinstance(value, str):
        province = db.session.get(Province, value)
        return f"{province.name} ({value})" if province is not None else value
    if key == "employer_id" and isinstance(value, int):
        # The entry keeps the unit's row number; people know a unit by its name and code, as Users and roles shows.
        unit = db.session.get(service.Employer, value)
        return f"{unit.name} ({unit.unit_code})" if unit is not None else str(value)
    if key.endswith("_vnd") and isinstance(value, int):
        return vnd(value)
    if key.endswith("_bp") and isinstance(value, int):
        return percent_bp(value)
    if key == "date" and isinstance(value, str):
        try:
            return dmy(date.fromisoformat(value))
        except ValueError:
            return value
    return shown(str(value))  # a name kept before names were checked: its hidden characters written out


def audit_lines(data: Any) -> list[tuple[str, str]]:
    """An audit entry's data as (label, value) lines in the page's language (:data:`AUDIT_KEYS`; an unknown key as
    its code). A change recorded as ``before`` and ``after`` reads as one line per field that changed, "old → new";
    data that is not an object reads as one line."""
    if not isinstance(data, dict):
        return [] if data is None else [("", _audit_value("", data))]
    before, after = data.get("before"), data.get("after")
    lines = []
    one_value = "before" in data and "after" in data and not isinstance(before, dict) and not isinstance(after, dict)
    for key in sorted(data, key=lambda k: (_KEY_ORDER.get(k, len(_KEY_ORDER)), k)):
        if key in ("before", "after") and ((isinstance(before, dict) and isinstance(after, dict)) or one_value):
            continue
        lines.append((pick(AUDIT_KEYS[key]) if key in AUDIT_KEYS else key, _audit_value(key, data[key])))
    if one_value:  # one parameter changed (its name under "field"): "3 → 5"
        lines.append((_("Giá trị"), f"{_audit_value('field', before)} → {_audit_value('field', after)}"))
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted({*before, *after}, key=lambda k: (_KEY_ORDER.get(k, len(_KEY_ORDER)), k)):
            old, new = before.get(key), after.get(key)
            if old != new:
                label = pick(AUDIT_KEYS[key]) if key in AUDIT_KEYS else key
                lines.append((label, f"{_audit_value(key, old)} → {_audit_value(key, new)}"))
    return lines


def record(object_type: str, object_id: str | None) -> str:
    """The record an audit entry is about, after its kind: a district by its name and code, anything else by its
    number or code."""
    if object_type == "district" and object_id:
        return _audit_value("district", object_id)
    return object_id or ""


def _action_choice(action: str) -> tuple[str, str]:
    """A choice of the action filter: the code is submitted; the label is shown, with the code for admins who know
    it (an action with no label shows its code alone)."""
    return (action, with_code(action_label(action), action) if action in AUDIT_ACTIONS else action)


def _object_choice(object_type: str) -> str:
    """A choice of the kind-of-record filter, as :func:`_action_choice`."""
    return with_code(object_label(object_type), object_type) if object_type in AUDIT_OBJECTS else object_type


@bp.get("/audit")
@roles_required("admin")
def audit() -> ResponseReturnValue:
    """The audit log, newest first, filtered by actor, action, kind of record, record and days; actions and kinds of
    record are shown in words, their codes beside them."""
    form = AuditFilterForm(request.args)
    # Every action that has a label, and any other the log holds (written before its label, or by an old version).
    actions = sorted({*AUDIT_ACTIONS, *service.audit_actions()})
    form.action.choices = [("", _("Mọi thao tác"))] + [_action_choice(a) for a in actions]
    object_types = sorted({*AUDIT_OBJECTS, *service.audit_object_types()})
    form.object_type.choices = [("", _("Mọi loại bản ghi"))] + [(t, _object_choice(t)) for t in object_types]
    labels = {"action_label": action_label, "object_label": object_label, "audit_lines": audit_lines, "record": record}
    valid = form.validate()
    if valid and form.since.data and form.until.data and form.since.data > form.until.data:
        form.until.errors = [*form.until.errors, _("Ngày kết thúc phải sau ngày bắt đầu.")]
        valid = False
    if not valid:
        return render_template("admin/audit.html", form=form, page=None, args=_args, **labels), 400
    page = service.search_audit(
        actor=form.actor.data or None,
        action=form.action.data or None,
        object_type=form.object_type.data or None,
        record=form.record.data or None,
        since=form.since.data,
        until=form.until.data,
        before=form.before.data,
        limit=PAGE,
    )
    return render_template("admin/audit.html", form=form, page=page, args=_args, **labels)


def _args(**changes: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {key: value for key, value in request.args.items() if value}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
