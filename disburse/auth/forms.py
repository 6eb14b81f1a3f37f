from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from disburse.auth.service import MIN_PASSWORD_LENGTH
from disburse.forms import BaseForm

#: No control characters (NUL among them, which PostgreSQL refuses in text) and no spaces inside an address.
_NO_CONTROL = r"[^\x00-\x20\x7f]*"


class LoginForm(BaseForm):
    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(_l("Hãy nhập email.")),
            Length(max=254, message=_l("E-mail dài quá 254 ký tự.")),
            Regexp(_NO_CONTROL + r"\Z", message=_l("E-mail chứa ký tự không hợp lệ.")),
        ],
    )
    # argon2 takes any length, but a sign-in form has no reason to accept a megabyte.
    password = PasswordField(
        _l("Mật khẩu"),
        validators=[
            DataRequired(_l("Hãy nhập mật khẩu.")),
            Length(max=1024, message=_l("Mật khẩu dài quá 1024 ký tự.")),
        ],
    )


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(
        _l("Mật khẩu hiện tại"),
        validators=[
            DataRequired(_l("Hãy nhập mật khẩu hiện tại.")),
            Length(max=1024, message=_l("Mật khẩu dài quá 1024 ký tự.")),
        ],
    )
    new_password = PasswordField(
        _l("Mật khẩu mới"),
        description=_l("Ít nhất %(n)s ký tự.", n=MIN_PASSWORD_LENGTH),
        validators=[
            DataRequired(_l("Hãy nhập mật khẩu mới.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1024,
                message=_l("Mật khẩu mới cần từ %(min)s đến 1024 ký tự.", min=MIN_PASSWORD_LENGTH),
            ),
            # As the service refuses it (set_password): no control characters, which no sign-in form can type.
            Regexp(
                r"[^\x00-\x1f\x7f-\x9f]*\Z",
                message=_l("Mật khẩu không được có ký tự điều khiển (như NUL, tab hay xuống dòng)."),
            ),
        ],
    )
    confirm_password = PasswordField(
        _l("Nhập lại mật khẩu mới"),
        validators=[
            DataRequired(_l("Hãy nhập lại mật khẩu mới.")),
            EqualTo("new_password", message=_l("Hai lần nhập mật khẩu mới không giống nhau.")),
        ],
    )
