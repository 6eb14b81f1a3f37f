"""Sign in, sign out, the account page (change the password), and the language choice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import flask_babel
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import HTTPException

from disburse.api.errors import api_error, message
from disburse.auth.forms import ChangePasswordForm, LoginForm
from disburse.auth.limits import password_change_per_user, sign_in_per_account, sign_in_per_address
from disburse.auth.loaders import bearer_token
from disburse.auth.models import ROLES
from disburse.auth.permissions import public, roles_required
from disburse.auth.scopes import scope_names
from disburse.auth.service import (
    SESSION_KEY,
    end_session,
    get_user_by_email,
    set_password,
    start_session,
    verify_password,
)
from disburse.extensions import db
from disburse.forms import form_again_when_limited

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only ever go back to a path on this site.

    Browsers read a backslash as a slash (``/\\evil.example`` is ``//evil.example``, another host) and drop tabs
    and newlines inside URLs, so a target with any of those, or any control character, is refused as well.
    """
    parts = urlsplit(target or "")
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
        or parts.scheme
        or parts.netloc
    ):
        return url_for("home.index")
    return target


def page_to_return_to() -> str | None:
    """This request's path with its query, to come back to after signing in or switching the language. A form posts
    to a URL that may take POST only (``/jobs/<id>/retry``, ``/admin/users/<id>/deactivate``, ``…/form-02/upload``):
    the browser, sent back to it, would GET it and be told 405. A path that takes GET as well (the form's own page,
    ``/admin/users/new``) is the page to come back to; else the nearest page above it (``/jobs/<id>``, the user's
    page, the Form 02 page), without the query, which was the post's; None when there is none."""
    if request.method in ("GET", "HEAD") or _answers_get(request.path):
        return request.full_path.rstrip("?")
    path = request.path.rstrip("/")
    while "/" in path[1:]:
        path = path.rsplit("/", 1)[0]
        if _answers_get(path):
            return path
    return None


def _answers_get(path: str) -> bool:
    """Whether a GET of ``path`` is answered by a page of ours (not a 405, nor a redirect elsewhere)."""
    adapter = current_app.create_url_adapter(request)
    assert adapter is not None, "a request's adapter"
    try:
        adapter.match(path, method="GET")
    except HTTPException:
        return False
    return True


#: The session's language was chosen by whoever uses the browser while signed out: signing in keeps it (and saves it
#: for the account) rather than bring back the account's. A language left in the session by the previous user of the
#: browser (signed out since) does not override the next user's own.
CHOSEN_SIGNED_OUT = "locale_chosen_signed_out"


@bp.route("/login", methods=["GET", "POST"])
@form_again_when_limited
@public
@sign_in_per_address
@sign_in_per_account
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = get_user_by_email(form.email.data or "")
        # verify_password costs the same for an unknown e-mail or an inactive user as for a wrong password.
        if verify_password(user, form.password.data or "") and user is not None:
            key = start_session(user)  # first: a session that could not be opened hands out no cookie
            login_user(user)
            session[SESSION_KEY] = key
            user.last_login_at = datetime.now(UTC)
            if session.pop(CHOSEN_SIGNED_OUT, False) and session.get("locale") in ("vi", "en"):
                user.locale = session["locale"]  # chosen on the sign-in page, just now: kept, and saved
            else:
                session["locale"] = user.locale
            db.session.commit()
            flash(_("Đăng nhập thành công."), "success")
            return redirect(_safe_next(request.args.get("next")))
        # One message for an unknown e-mail and a wrong password: never tell which accounts exist.
        form.password.errors.append(_("E-mail hoặc mật khẩu không đúng."))
    return render_template("auth/login.html", form=form), 400 if request.method == "POST" else 200


@bp.post("/logout")
@roles_required(*ROLES)
def logout() -> ResponseReturnValue:
    # The cookie stays validly signed until it expires: end it on the server too, so that a copy of it (a shared
    # computer, a proxy log) is worth nothing after signing out. Only this session: the user's other browsers (their
    # phone, another office's computer) stay signed in.
    end_session(current_user._get_current_object(), session.get(SESSION_KEY))
    db.session.commit()
    logout_user()
    session.pop(SESSION_KEY, None)
    flash(_("Bạn đã đăng xuất."), "success")
    return redirect(url_for("home.index"))


#: Where a user whose password an admin gave may go before choosing their own: the account page, signing out, the
#: language switch and the static files.
_WHILE_TEMPORARY = frozenset({"auth.account", "auth.logout", "auth.set_language", "static"})


@bp.before_app_request
def choose_own_password() -> ResponseReturnValue | None:
    """A user signed in with a password an admin gave (:attr:`User.password_temporary`) sees the account page, where
    they choose their own, whatever page they ask for: the admin who saw the password must not be able to use the
    account as theirs. A request with a token (never the temporary password: a request naming a token is the
    token's alone, see :func:`disburse.auth.loaders.load_user`) is not concerned, on the API or off it (a job's
    ``/jobs/<id>.json`` an API call gave); the API with the session's cookie is refused (403) until then, as every
    page is."""
    if request.endpoint in _WHILE_TEMPORARY or not current_user.is_authenticated or bearer_token(request):
        return None
    if not current_user.password_temporary:
        return None
    if request.path.startswith("/api/"):
        return api_error(
            403,
            "password_temporary",
            message(
                "Hãy đặt mật khẩu của riêng bạn (trang Tài khoản) trước khi dùng API bằng phiên đăng nhập này.",
                "Choose your own password (the Account page) before using the API with this session.",
            ),
        )
    if request.method == "GET":
        flash(_("Hãy đặt mật khẩu của riêng bạn trước khi tiếp tục."), "warning")
    return redirect(url_for("auth.account"))


@bp.route("/account", methods=["GET", "POST"])
@form_again_when_limited
@roles_required(*ROLES)
@password_change_per_user
def account() -> ResponseReturnValue:
    """Who the user is and what they may see; change the password. A new password ends the user's sessions in
    every other browser (the database moves the session epoch on); this browser is signed in again under it."""
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if user.password_temporary and form.new_password.data == form.current_password.data:
            form.new_password.errors.append(_("Hãy chọn một mật khẩu khác mật khẩu được cấp."))
        elif verify_password(user, form.current_password.data or ""):
            set_password(user, form.new_password.data or "", actor=user)
            db.session.commit()
            db.session.refresh(user)  # the new session epoch, written by the database
            login_user(user)
            flash(_("Đã đổi mật khẩu. Các phiên đăng nhập ở trình duyệt khác đã kết thúc."), "success")
            return redirect(url_for("auth.account"))
        else:
            form.current_password.errors.append(_("Mật khẩu hiện tại không đúng."))
    page = render_template("auth/account.html", form=form, scope=scope_names(user))
    return page, 400 if request.method == "POST" else 200


def _here() -> str:
    """Where a language button brings the user back: this page with its query (the dashboard's drill-down, the
    queue's filters), also after a form was posted and came back with its errors (the form's page, at the URL it
    posted to); the nearest page above a URL that answers no GET, else home (:func:`page_to_return_to`). Read from
    this request: browsers send no Referer here (``Referrer-Policy: no-referrer``), and checked as ``next=`` is."""
    return _safe_next(page_to_return_to())


@bp.app_context_processor
def _language_links() -> dict[str, Any]:
    return {"language_return": _here}


@bp.post("/language/<locale>")
@public
def set_language(locale: str) -> ResponseReturnValue:
    """Remember the language for this browser (and for the signed-in user), then go back where the user was. A
    form's post with its CSRF token, not a link: another site cannot change what a user reads in."""
    remember_locale(locale)
    return redirect(_safe_next(request.form.get("next")))


def remember_locale(locale: str | None) -> None:
    """Keep ``locale`` ('vi' or 'en'; anything else is ignored) as this browser's language, and the signed-in
    user's, from this request on (a page answering a post in the new language: the person's status)."""
    if locale not in ("vi", "en"):
        return
    session["locale"] = locale
    if current_user.is_authenticated:
        current_user.locale = locale
        db.session.commit()
    else:
        session[CHOSEN_SIGNED_OUT] = True
    flask_babel.refresh()  # this request's pages are in it too
