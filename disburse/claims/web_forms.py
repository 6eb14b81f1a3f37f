"""The employer's page forms (Flask-WTF, with CSRF on every form that changes something)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional

from disburse.casework.forms import ConfirmedForm
from disburse.claims.employer_forms import MAX_ANSWER
from disburse.claims.outcomes import account_filter
from disburse.formatting import file_size
from disburse.forms import BankField, BaseForm, NoLengthAttributes, free_text


class WorkforceSearchForm(BaseForm):
    """The status page's search (a GET form: it changes nothing, so it carries no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Tìm theo họ tên (có hoặc không dấu) hoặc mã số BHXH"),
        validators=[Optional(), Length(max=100, message=_l("Nội dung tìm kiếm dài quá 100 ký tự."))],
    )
    #: One state only (choices set by the view, in the page's language): the people the unit must act on.
    state = SelectField(_l("Trạng thái"), validate_choice=True, default="")


class Form02UploadForm(BaseForm):
    file = FileField(
        _l("Tệp Mẫu số 02 đã điền (.xlsx hoặc .csv)"),
        validators=[
            FileRequired(_l("Hãy chọn tệp Mẫu số 02 đã điền.")),
            FileAllowed(["xlsx", "csv"], _l("Tệp phải là bảng tính .xlsx hoặc .csv (tệp Mẫu số 01 đã tải về).")),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.file.description = _(
            "Tối đa %(size)s. Nên gửi tệp .xlsx: Excel mở tệp .csv sẽ làm mất các chữ số 0 ở đầu số tài khoản.",
            size=file_size(current_app.config["MAX_CONTENT_LENGTH"]),
        )


class Form03UploadForm(BaseForm):
    file = FileField(
        _l("Tệp Mẫu số 03 đã điền (.xlsx hoặc .csv)"),
        validators=[
            FileRequired(_l("Hãy chọn tệp Mẫu số 03 đã điền.")),
            FileAllowed(["xlsx", "csv"], _l("Tệp phải là bảng tính .xlsx hoặc .csv (tệp điều chỉnh đã tải về).")),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.file.description = _(
            "Tối đa %(size)s. Nên gửi tệp .xlsx: Excel mở tệp .csv sẽ làm mất các chữ số 0 ở đầu số tài khoản.",
            size=file_size(current_app.config["MAX_CONTENT_LENGTH"]),
        )


class AnswerRequestForm(BaseForm):
    """The unit's answer in words to the office's request for information."""

    answer = TextAreaField(
        _l("Nội dung trả lời"),
        validators=free_text(MAX_ANSWER, _l("Hãy ghi nội dung trả lời.")),
        description=_l("Ghi những gì cơ quan BHXH đề nghị bổ sung; cán bộ đọc được trong lịch sử hồ sơ."),
    )


class ErrorsFileForm(BaseForm):
    """The refused rows of an upload, signed by us, sent back to be written as the errors file."""

    errors = HiddenField(validators=[DataRequired()])


class ConfirmRowForm(Form):
    """One person of Form 02 in the browser: what the unit says for them (nothing yet, a bank transfer, cash at the
    office, or "Không nhận hỗ trợ"), and the bank details for a transfer. The service checks the details."""

    class Meta(NoLengthAttributes):
        pass

    si_code = HiddenField()
    choice = RadioField(
        _l("Xác nhận"),
        choices=[
            SelectChoice("", _l("Chưa xác nhận")),
            SelectChoice("bank", _l("Chuyển khoản vào tài khoản cá nhân")),
            SelectChoice("cash", _l("Nhận tiền mặt tại cơ quan BHXH")),
            SelectChoice("decline", _l("Không nhận hỗ trợ")),
        ],
        default="",
    )
    bank_code = BankField(_l("Ngân hàng"))
    bank_account = StringField(
        _l("Số tài khoản"),
        validators=[Optional(), Length(max=30, message=_l("Số tài khoản dài quá 30 ký tự."))],
        filters=[account_filter],
    )


class Form02RowsForm(FlaskForm):
    """A page of Form 02 in the browser (at most one page of people at a time). A FlaskForm, not a BaseForm: a list
    of rows takes no filters (the view trims each value)."""

    rows = FieldList(FormField(ConfirmRowForm), max_entries=200)


#: Form 03's choice of a correction, also named by the answer to an addition of someone already listed.
CORRECT_LABEL = _l("Điều chỉnh tài khoản ngân hàng hoặc số điện thoại")


class Form03Form(ConfirmedForm):
    """One adjustment (Form 03): add a person missing from the list, remove one not employed at the unit, or correct
    a person's bank details or phone. The service checks the rules and says what is wrong, field by field. Taken in
    two steps (:class:`ConfirmedForm`): ``seen`` is what the check step read back, as a digest."""

    seen = HiddenField()

    action = RadioField(
        _l("Loại điều chỉnh"),
        choices=[
            SelectChoice("add", _l("Bổ sung người lao động chưa có trong danh sách")),
            SelectChoice("remove", _l("Người lao động không có tại đơn vị")),
            SelectChoice("correct", CORRECT_LABEL),
        ],
        validate_choice=False,
        validators=[
            InputRequired(_l("Hãy chọn loại điều chỉnh.")),
            AnyOf(["add", "remove", "correct"], message=_l("Hãy chọn loại điều chỉnh.")),
        ],
    )
    si_code = StringField(
        _l("Mã số BHXH"),
        validators=[
            DataRequired(_l("Hãy nhập mã số BHXH của người lao động.")),
            Length(max=20, message=_l("Mã số BHXH phải gồm đúng 10 chữ số.")),
        ],
    )
    bank_code = BankField(_l("Ngân hàng"))
    bank_account = StringField(
        _l("Số tài khoản"),
        validators=[Optional(), Length(max=30, message=_l("Số tài khoản dài quá 30 ký tự."))],
        filters=[account_filter],
    )
    phone = StringField(
        _l("Số điện thoại mới"),
        validators=[Optional(), Length(max=20, message=_l("Số điện thoại dài quá 20 ký tự."))],
    )
    reason = TextAreaField(
        _l("Lý do không có tại đơn vị (khi báo không có, không bắt buộc)"),  # read for a removal only
        validators=[Optional(), Length(max=900, message=_l("Lý do dài quá 900 ký tự."))],
    )


class Form03RowsForm(ConfirmedForm):
    """A Form 03 file's rows read back on its check step, signed (``rows``), sent again by "Xác nhận điều chỉnh"."""

    rows = HiddenField(validators=[DataRequired()])


class FindUnitForm(BaseForm):
    """Go to a unit's pages by its code (a GET form: it changes nothing, so it carries no CSRF token)."""

    class Meta:
        csrf = False

    unit = StringField(
        _l("Mã đơn vị"),
        validators=[
            DataRequired(_l("Hãy nhập mã đơn vị.")),
            Length(max=20, message=_l("Mã đơn vị dài quá 20 ký tự.")),
        ],
    )
