"""``disburse users create|set-password|deactivate|reactivate`` and ``disburse tokens create|list|revoke``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import NoReturn

import click
from flask.cli import AppGroup

from disburse.auth import service
from disburse.auth.models import ROLES, ApiToken, User
from disburse.cli import DISTRICT_CODE, PROVINCE_CODE
from disburse.extensions import RECORD_ID, db
from disburse.programs.calendar import VIETNAM_TZ

users_cli = AppGroup(
    "users",
    help="Người dùng: tạo, đặt mật khẩu, khoá / Users: create, set a password, lock.",
    short_help="Người dùng / Users.",
)
tokens_cli = AppGroup(
    "tokens",
    help="Token API: tạo, liệt kê, thu hồi / API tokens: create, list, revoke.",
    short_help="Token truy cập API / API tokens.",
)

#: A request that cannot be carried out (an unknown e-mail, a short password): nothing changed.
EXIT_REFUSED = 2


def _refuse(vi: str, en: str) -> NoReturn:
    db.session.rollback()
    click.echo(f"{vi}\n{en}", err=True)
    sys.exit(EXIT_REFUSED)


@users_cli.command("create", short_help="Tạo người dùng / Create a user.")
@click.option("--email", required=True, help="E-mail đăng nhập của người dùng / The user's sign-in e-mail.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="Vai trò / Role.")
@click.option("--name", "full_name", default="", help="Họ và tên hiển thị trên trang / Full name shown in the UI.")
@click.option(
    "--district",
    type=DISTRICT_CODE,
    help="Mã quận/huyện GSO, 3 chữ số (cán bộ) / 3-digit GSO district code (caseworkers).",
)
@click.option("--employer", "employer_unit", help="Mã đơn vị (người dùng của đơn vị) / Unit code (employer users).")
@click.option(
    "--province",
    type=PROVINCE_CODE,
    help="Mã tỉnh/thành GSO, 2 chữ số (lãnh đạo; không có = toàn quốc) / 2-digit GSO province code (supervisors; "
    "none = national).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Đọc mật khẩu từ đầu vào chuẩn (trên terminal: hỏi, không hiện) / Read the password from standard input "
    "(asked, hidden, on a terminal).",
)
@click.option(
    "--no-password",
    is_flag=True,
    help="Tài khoản chỉ dùng token API, không đăng nhập được / An account for API tokens only: it cannot sign in.",
)
def create_user(
    email: str,
    role: str,
    full_name: str,
    district: str | None,
    employer_unit: str | None,
    province: str | None,
    password_stdin: bool,
    no_password: bool,
) -> None:
    """Tạo người dùng với một vai trò và phạm vi của vai trò đó (theo quy tắc của trang quản trị), ghi nhật ký
    ``user.create`` không có người thực hiện (lệnh của người vận hành). Không có ``--password-stdin`` hay
    ``--no-password``, người dùng nhận một mật khẩu dùng một lần, chỉ in một lần, và đổi sang mật khẩu của mình ở lần
    đăng nhập đầu (như trên trang quản trị).

    Create a user with a role and the scope it takes (the admins' pages' rule), audited as ``user.create`` with no
    actor (an operator's command). Without ``--password-stdin`` or ``--no-password`` the user gets a one-time
    password, printed once, which they replace with their own at their first sign-in (as on the admins' pages)."""
    if password_stdin and no_password:
        _refuse(
            "Chọn một trong --password-stdin và --no-password.", "Give --password-stdin or --no-password, not both."
        )
    temporary = not (password_stdin or no_password)
    password = service.one_time_password() if temporary else _password_from_stdin() if password_stdin else None
    try:
        user = service.create_user(
            email,
            role,
            password=password,
            full_name=full_name,
            district=district,
            province=province,
            employer_unit=employer_unit,
            temporary=temporary,
        )
    except service.UserError as exc:
        # The option at fault, named as the operator typed it (the rule's words name the page's fields).
        options = {"district": "--district", "province": "--province", "employer": "--employer", "full_name": "--name"}
        option = f"{options[exc.field]}: " if exc.field in options else ""
        _refuse(option + exc.vi, option + exc.en)
    db.session.commit()
    click.echo(f"Đã tạo người dùng {user.email} ({user.role}). / Created {user.role} {user.email}.")
    if temporary:
        click.echo(
            f"Mật khẩu dùng một lần / One-time password: {password}\n"
            "Người dùng đăng nhập bằng mật khẩu này rồi chọn mật khẩu của mình; nó chỉ được in lần này. / They sign in "
            "with it, then choose their own; it is shown only this once."
        )


def _password_from_stdin() -> str:
    """A password from standard input: asked twice without showing it on a terminal, else its first line."""
    if sys.stdin.isatty():
        return str(click.prompt("Mật khẩu / Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


def _user(email: str) -> User:
    user = service.get_user_by_email(email)
    if user is None:
        _refuse(f"Không có người dùng với e-mail {email}.", f"There is no user with e-mail {email}.")
    return user


@users_cli.command("set-password", short_help="Đặt mật khẩu mới / Set a new password.")
@click.option("--email", required=True, help="E-mail của người dùng / The user's e-mail.")
def set_password(email: str) -> None:
    """Đọc mật khẩu mới từ đầu vào chuẩn; mọi phiên đăng nhập của người dùng kết thúc.

    Read a new password from standard input; the user's sessions end everywhere."""
    user = _user(email)
    try:
        service.set_password(user, sys.stdin.readline().rstrip("\r\n"))
    except service.UserError as exc:
        _refuse(exc.vi, exc.en)
    db.session.commit()
    click.echo(
        f"Đã đặt mật khẩu mới cho {user.email}; các phiên đăng nhập đã kết thúc. / New password for {user.email}; "
        "their sessions have ended."
    )


@users_cli.command("deactivate", short_help="Khoá tài khoản / Lock an account.")
@click.option("--email", required=True, help="E-mail của người dùng / The user's e-mail.")
def deactivate(email: str) -> None:
    """Không cho người dùng đăng nhập và dùng token API nữa; mọi phiên đăng nhập kết thúc, và các hồ sơ người đó
    đang giữ trở lại hàng chờ. Bị từ chối với quản trị viên cuối cùng còn hoạt động (hãy cho người khác làm quản trị
    viên trước) và với tài khoản đã khoá.

    Stop a user signing in and using API tokens; their sessions end everywhere, and the claims they hold go back
    to the queue. Refused for the last active admin (make someone else an admin first) and for an account already
    deactivated."""
    user = _user(email)
    try:
        released = service.deactivate(user)
    except service.UserError as exc:
        _refuse(exc.vi, exc.en)
    db.session.commit()
    click.echo(
        f"Đã khoá {user.email}; phiên đăng nhập và token không dùng được nữa. / Deactivated {user.email}; their "
        "sessions and tokens no longer work."
    )
    if released:
        claims_en = "claim" if released == 1 else "claims"
        click.echo(
            f"{released} hồ sơ người này đang giữ đã được trả lại hàng chờ. / The {released} {claims_en} they held "
            "went back to the queue."
        )


@users_cli.command("reactivate", short_help="Mở khoá tài khoản / Unlock an account.")
@click.option("--email", required=True, help="E-mail của người dùng / The user's e-mail.")
def reactivate(email: str) -> None:
    """Cho người dùng đã bị khoá đăng nhập lại (như trang quản trị); phiên và token cũ vẫn không dùng được.

    Let a deactivated user sign in again (as the admins' pages do); their old sessions and tokens stay ended."""
    user = _user(email)
    try:
        service.reactivate(user)
    except service.UserError as exc:
        _refuse(exc.vi, exc.en)
    db.session.commit()
    click.echo(
        f"Đã mở khoá {user.email}; token cũ vẫn không dùng được. / Reactivated {user.email}; their old tokens stay "
        "revoked."
    )


@tokens_cli.command("create", short_help="Tạo token API / Create an API token.")
@click.option("--email", required=True, help="E-mail của người dùng sở hữu token / The e-mail of the token's user.")
@click.option("--name", default="", help="Nhãn để phân biệt các token / A label to tell tokens apart.")
def create_token(email: str, name: str) -> None:
    """Tạo token API và in ra (chỉ hiện lần này). Token hết hạn sau DISBURSE_TOKEN_DAYS ngày.

    Create an API token and print it (it is shown only this once). It expires after DISBURSE_TOKEN_DAYS days."""
    try:
        token = service.create_token(_user(email), name)
    except service.UserError as exc:
        _refuse(exc.vi, exc.en)
    db.session.commit()
    click.echo(token)


def _when(value: datetime | None) -> str:
    """A moment as the pages show it: dd/mm/yyyy HH:MM, Vietnam's time (it was UTC here, and the pages' time there)."""
    return value.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M") if value else "-"


@tokens_cli.command("list", short_help="Liệt kê token / List tokens.")
@click.option("--email", required=True, help="E-mail của người dùng / The user's e-mail.")
def list_tokens(email: str) -> None:
    """Liệt kê token của người dùng: số, tiền tố, nhãn, trạng thái, ngày tạo, hết hạn, lần dùng cuối (không bao giờ
    in chính token).

    List a user's tokens: id, prefix, name, status, created, expires, last used (never the token itself)."""
    user = _user(email)
    now = datetime.now(UTC)
    # Headed in Vietnamese, then in English (the English line alone was printed).
    rows = [
        ("Số", "Tiền tố", "Nhãn", "Trạng thái", "Ngày tạo", "Hết hạn", "Dùng lần cuối"),
        ("id", "prefix", "name", "status", "created", "expires", "last used"),
    ]
    for token in service.tokens_of(user):
        status = service.token_status(token, now)
        rows.append(
            (
                str(token.id),
                token.prefix,
                token.name or "-",
                status,
                _when(token.created_at),
                _when(token.expires_at),
                _when(token.last_used_at),
            )
        )
    if len(rows) == 2:
        click.echo(f"{user.email} chưa có token API nào. / {user.email} has no API tokens.")
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@tokens_cli.command("revoke", short_help="Thu hồi token / Revoke a token.")
@click.argument("token_id", type=RECORD_ID)
def revoke_token(token_id: int) -> None:
    """Thu hồi token có số này (theo ``tokens list``); token thôi dùng được ngay. Token đã thu hồi từ trước thì được
    báo như vậy, kèm thời điểm (mã thoát 0: token không dùng được, đúng như yêu cầu).

    Revoke the token with this id (from ``tokens list``); it stops working at once. One revoked before is said so
    (exit 0: it does not work, as asked), with when."""
    token = db.session.get(ApiToken, token_id)
    if token is not None and token.revoked_at is not None:
        when = _when(token.revoked_at)
        click.echo(
            f"Token {token.id} ({token.prefix}…) đã bị thu hồi từ {when}. / "
            f"Token {token.id} ({token.prefix}…) was already revoked on {when}."
        )
        return
    token = service.revoke_token(token_id)
    if token is None:
        _refuse(f"Không có token số {token_id}.", f"There is no token with id {token_id}.")
    db.session.commit()
    click.echo(f"Đã thu hồi token {token.id} ({token.prefix}…). / Revoked token {token.id} ({token.prefix}…).")
