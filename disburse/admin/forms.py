"""The admins' forms. They check the shape of a value; the services check the rules and say what went wrong."""

from __future__ import annotations

from functools import partial

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from disburse.auth.text import NoHiddenCharacters, tidy_filter
from disburse.forms import BaseForm, DayField, district_field, unit_code_field
from disburse.reference.service import area_code

_CHOICE = _l("Hãy chọn một trong các lựa chọn có trên trang.")
_NO_CONTROL = r"[^\x00-\x1f\x7f]*\Z"
#: Registry files the importer reads: the same as ``disburse import`` takes.
IMPORT_EXTENSIONS = ("csv", "xlsx")


class ImportForm(BaseForm):
    kind = SelectField(
        _l("Loại danh sách"), invalid_choice_message=_CHOICE, validators=[DataRequired(_l("Hãy chọn loại danh sách."))]
    )
    file = FileField(
        _l("Tệp danh sách (.csv UTF-8 hoặc .xlsx)"),
        validators=[
            FileRequired(_l("Hãy chọn tệp cần nhập.")),
            FileAllowed(IMPORT_EXTENSIONS, _l("Tệp phải là bảng tính .csv (UTF-8) hoặc .xlsx.")),
        ],
    )
    strict = BooleanField(_l("Không nhập dòng nào nếu có dòng bị từ chối"))


class UserSearchForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(
        _l("Tìm theo e-mail hoặc họ tên"),
        validators=[
            Optional(),
            Length(max=100, message=_l("Nội dung tìm kiếm dài quá 100 ký tự.")),
            Regexp(_NO_CONTROL, message=_l("Có ký tự điều khiển không hợp lệ.")),
        ],
    )
    role = SelectField(_l("Vai trò"), default="", invalid_choice_message=_CHOICE)
    after = IntegerField(
        validators=[Optional(), NumberRange(min=0, max=2**31 - 1, message=_l("Trang không hợp lệ."))],
        invalid_value_message=_l("Trang không hợp lệ."),
    )
    before = IntegerField(
        validators=[Optional(), NumberRange(min=0, max=2**31 - 1, message=_l("Trang không hợp lệ."))],
        invalid_value_message=_l("Trang không hợp lệ."),
    )


#: A new user's e-mail, made before the scope fields: a form lists its fields (and the error summary its errors) in
#: the order they were made, and the page asks for the e-mail first.
_EMAIL = StringField(
    _l("E-mail"),
    validators=[
        DataRequired(_l("Hãy nhập e-mail.")),
        Length(max=254, message=_l("Tối đa %(max)d ký tự.")),
        Regexp(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z", message=_l("E-mail không hợp lệ (ví dụ canbo@bhxh.gov.vn).")),
    ],
)


class _ScopeFields(BaseForm):
    #: One line, its white space tidied, no hidden character (:mod:`disburse.auth.text`): a right-to-left override
    #: made a name read as another's in the users list and the audit log.
    full_name = StringField(
        _l("Họ và tên"),
        filters=[tidy_filter],
        validators=[Optional(), Length(max=200, message=_l("Tối đa %(max)d ký tự.")), NoHiddenCharacters()],
    )
    role = SelectField(
        _l("Vai trò"), invalid_choice_message=_CHOICE, validators=[DataRequired(_l("Hãy chọn vai trò."))]
    )
    district = district_field(_l("Mã quận/huyện (cán bộ nghiệp vụ)"))
    province = StringField(
        _l("Mã tỉnh/thành phố (lãnh đạo; để trống: toàn quốc)"),
        filters=[partial(area_code, width=2)],
        validators=[Optional(), Regexp(r"[0-9]{2}\Z", message=_l("Mã tỉnh/thành phố gồm đúng 2 chữ số (ví dụ 01)."))],
    )
    employer = unit_code_field(_l("Mã đơn vị (người dùng của đơn vị)"))


#: How a new account is used: a person signs in with a password (one given once, replaced at the first sign-in), or
#: another system calls the API with tokens made on the account's page (no password: it cannot sign in).
ACCESS_PASSWORD, ACCESS_API = "password", "api"
ACCESS_CHOICES = {
    ACCESS_PASSWORD: _l("Một người đăng nhập trên trang, bằng mật khẩu dùng một lần rồi mật khẩu của mình"),
    ACCESS_API: _l("Chỉ dùng API: một hệ thống khác gọi API bằng token; không có mật khẩu, không đăng nhập"),
}


class NewUserForm(_ScopeFields):
    email = _EMAIL
    #: Its choices (:data:`ACCESS_CHOICES`) are set by the view, in the page's language.
    access = RadioField(
        _l("Cách dùng tài khoản"),
        default=ACCESS_PASSWORD,
        invalid_choice_message=_CHOICE,
        validators=[DataRequired(_l("Hãy chọn cách dùng tài khoản."))],
    )


class EditUserForm(_ScopeFields):
    #: What the page showed of the user (:func:`disburse.admin.service.user_version`): a save over a change another
    #: admin made since is refused, not laid over it.
    seen = HiddenField()


class ActionForm(BaseForm):
    """A button that changes something: only the CSRF token."""


class TokenForm(BaseForm):
    """A new API token for the user: a label to tell it apart (the integration that uses it)."""

    name = StringField(
        _l("Tên token (hệ thống nào dùng nó)"),
        filters=[tidy_filter],
        validators=[Optional(), Length(max=100, message=_l("Tối đa %(max)d ký tự.")), NoHiddenCharacters()],
    )


class ConfirmActionForm(BaseForm):
    """A button whose change the page cannot undo (a locked account, a password replaced): the first post asks once
    more, on a page of its own saying what will happen; the post from there (``confirmed`` = 1) does it."""

    confirmed = HiddenField()


class AuditFilterForm(BaseForm):
    class Meta:
        csrf = False

    actor = StringField(
        _l("Người thực hiện (e-mail hoặc họ tên)"),
        validators=[
            Optional(),
            Length(max=254, message=_l("Tối đa %(max)d ký tự.")),
            Regexp(_NO_CONTROL, message=_l("Có ký tự điều khiển không hợp lệ.")),
        ],
    )
    action = SelectField(_l("Loại thao tác"), default="", invalid_choice_message=_CHOICE)
    #: The kind of record (``user``, ``job``…): a record's number alone names a user, a job and a programme alike.
    object_type = SelectField(_l("Loại bản ghi"), default="", invalid_choice_message=_CHOICE)
    record = StringField(
        _l("Mã bản ghi"),
        validators=[
            Optional(),
            Length(max=40, message=_l("Tối đa %(max)d ký tự.")),
            Regexp(_NO_CONTROL, message=_l("Có ký tự điều khiển không hợp lệ.")),
        ],
    )
    since = DayField(_l("Từ ngày (dd/mm/yyyy)"))
    until = DayField(_l("Đến ngày (dd/mm/yyyy)"))
    before = IntegerField(
        validators=[Optional(), NumberRange(min=1, max=2**63 - 1, message=_l("Trang không hợp lệ."))],
        invalid_value_message=_l("Trang không hợp lệ."),
    )


class BatchFilterForm(BaseForm):
    """The payment batches list's filters (the choices are set by the view, in the page's language)."""

    class Meta:
        csrf = False

    state = SelectField(_l("Trạng thái lô"), default="", invalid_choice_message=_CHOICE)
    channel = SelectField(_l("Kênh chi trả"), default="", invalid_choice_message=_CHOICE)
    provider = SelectField(_l("Bên chi trả"), default="", invalid_choice_message=_CHOICE)
    before = IntegerField(
        validators=[Optional(), NumberRange(min=1, max=2**31 - 1, message=_l("Trang không hợp lệ."))],
        invalid_value_message=_l("Trang không hợp lệ."),
    )


class MaxFailuresForm(BaseForm):
    """The one programme parameter admins change on the page (see disburse.admin.service.set_max_payment_failures)."""

    max_payment_failures = IntegerField(
        _l("Số lần chi trả lỗi trước khi đề nghị nhận tiền mặt"),
        validators=[
            DataRequired(_l("Hãy ghi số lần, từ 1 đến 10.")),
            NumberRange(min=1, max=10, message=_l("Hãy ghi số lần, từ 1 đến 10.")),
        ],
        invalid_value_message=_l("Hãy ghi số lần, từ 1 đến 10."),
    )
