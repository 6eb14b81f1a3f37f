"""The employer's page forms (Flask-WTF, with CSRF on every form that changes something)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, IntegerField, SearchField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from disburse.forms import BaseForm


class WorkforceSearchForm(BaseForm):
    """The status page's search (a GET form: it changes nothing, so it carries no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Tìm theo họ tên (có hoặc không dấu) hoặc mã số BHXH"),
        validators=[Optional(), Length(max=100, message=_l("Nội dung tìm kiếm dài quá 100 ký tự."))],
    )
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100_000)])


class Form02UploadForm(BaseForm):
    file = FileField(
        _l("Tệp Mẫu số 02 đã điền (.xlsx hoặc .csv)"),
        validators=[
            FileRequired(_l("Hãy chọn tệp Mẫu số 02 đã điền.")),
            FileAllowed(["xlsx", "csv"], _l("Tệp phải là bảng tính .xlsx hoặc .csv (tệp Mẫu số 01 đã tải về).")),
        ],
    )


class ErrorsFileForm(BaseForm):
    """The refused rows of an upload, signed by us, sent back to be written as the errors file."""

    errors = HiddenField(validators=[DataRequired()])
