"""The dashboard's query string (area, table, sort, limit, format), read as a GET form: a value that can never be
right is an error naming the field, never a 500 and never a different table."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import NumberRange, Optional, Regexp

from disburse.dashboard.queries import MAX_LIMIT, SORT_COLUMNS, TABLES
from disburse.forms import BaseForm

_CHOICE = _l("Hãy chọn một trong các lựa chọn có trên trang.")
_LIMIT = _l("Số dòng là một số nguyên từ 1 đến %(most)d.", most=MAX_LIMIT)


class AreaQuery(BaseForm):
    class Meta:
        csrf = False

    province = StringField(
        _l("Mã tỉnh"),
        validators=[Optional(), Regexp(r"[0-9]{2}\Z", message=_l("Mã tỉnh gồm đúng 2 chữ số (01 = Hà Nội)."))],
    )
    district = StringField(
        _l("Mã quận/huyện"),
        validators=[Optional(), Regexp(r"[0-9]{3}\Z", message=_l("Mã quận/huyện gồm đúng 3 chữ số (ví dụ 017)."))],
    )
    table = SelectField(
        _l("Bảng"), choices=[SelectChoice(t) for t in ("", *TABLES)], default="", invalid_choice_message=_CHOICE
    )
    sort = SelectField(
        _l("Sắp xếp theo"),
        choices=[SelectChoice(c) for c in SORT_COLUMNS],
        default="code",
        invalid_choice_message=_CHOICE,
    )
    order = SelectField(
        _l("Thứ tự"), choices=[SelectChoice("asc"), SelectChoice("desc")], default="asc", invalid_choice_message=_CHOICE
    )
    limit = IntegerField(
        _l("Số dòng"),
        validators=[Optional(), NumberRange(min=1, max=MAX_LIMIT, message=_LIMIT)],
        invalid_value_message=_LIMIT,
    )


class ExportQuery(AreaQuery):
    format = SelectField(
        _l("Định dạng"),
        choices=[SelectChoice("csv"), SelectChoice("xlsx")],
        default="xlsx",
        invalid_choice_message=_CHOICE,
    )
