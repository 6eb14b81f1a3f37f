"""The dashboard's query string (area, table, sort, limit, format), read as a GET form: a value that can never be
right is an error naming the field, never a 500 and never a different table."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional, Regexp, StopValidation
from wtforms.widgets import HiddenInput

from disburse.casework.forms import ConfirmedForm, DayField
from disburse.dashboard.queries import MAX_LIMIT, SORT_COLUMNS, TABLES
from disburse.forms import BaseForm, VndField, district_field, free_text
from disburse.payments.models import RECOVERY_STATES
from disburse.reference.service import area_code

_CHOICE = _l("Hãy chọn một trong các lựa chọn có trên trang.")
_LIMIT = _l("Số dòng là một số nguyên từ 1 đến %(most)d.", most=MAX_LIMIT)
#: The furthest page of a table (a million units at the fewest rows a page).
MAX_PAGE = 1_000_000
_PAGE = _l("Trang là một số nguyên từ 1 đến %(most)d.", most=MAX_PAGE)


class AreaQuery(BaseForm):
    class Meta:
        csrf = False

    province = StringField(
        _l("Mã tỉnh"),
        filters=[partial(area_code, width=2)],
        validators=[Optional(), Regexp(r"[0-9]{2}\Z", message=_l("Mã tỉnh gồm đúng 2 chữ số (01 = Hà Nội)."))],
    )
    district = district_field()
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
    page = IntegerField(
        _l("Trang"),
        validators=[Optional(), NumberRange(min=1, max=MAX_PAGE, message=_PAGE)],
        invalid_value_message=_PAGE,
    )


class ExportQuery(AreaQuery):
    format = SelectField(
        _l("Định dạng"),
        choices=[SelectChoice("csv"), SelectChoice("xlsx")],
        default="xlsx",
        invalid_choice_message=_CHOICE,
    )


class PercentField(StringField):
    """A percentage as people write it ("80", "74,3" or "74.3"), kept as basis points (7430)."""

    data: int | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        text = (valuelist[0] if valuelist else "") or ""
        text = text.strip().removesuffix("%").strip().replace(",", ".") if isinstance(text, str) else ""
        if not text:
            return
        if not _PERCENT.fullmatch(text):
            raise ValueError(_l("Ghi tỷ lệ từ 0 đến 100, nhiều nhất 2 chữ số thập phân, ví dụ 80 hoặc 74,5."))
        whole, _, fraction = text.partition(".")
        value = int(whole) * 100 + int((fraction + "00")[:2])
        if value > 10_000:
            raise ValueError(_l("Tỷ lệ cần đạt từ 0 đến 100%."))
        self.data = value

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else f"{self.data / 100:g}"


_PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,2})?")


class TargetForm(BaseForm):
    """A supervisor's completion target for a district and a date (the choices: the districts in their scope)."""

    district = SelectField(
        _l("Quận/huyện"), validators=[DataRequired(_l("Hãy chọn quận/huyện."))], invalid_choice_message=_CHOICE
    )
    target_date = DayField(_l("Đến ngày"), validators=[InputRequired(_l("Hãy ghi ngày, dạng dd/mm/yyyy."))])
    percent = PercentField(
        _l("Tỷ lệ đã chi trả cần đạt (%)"),
        validators=[InputRequired(_l("Hãy ghi tỷ lệ cần đạt."))],
    )


def _month_in_two_digits(value: str | None) -> str | None:
    """ "1/2026", as a month is often written, is "01/2026"."""
    if value and len(value) == 6 and value[0].isascii() and value[0].isdigit() and value[1] == "/":
        return "0" + value
    return value


#: The years a monthly report may be asked for.
FIRST_REPORT_YEAR, LAST_REPORT_YEAR = 2000, 2099


def _year_in_range(form: BaseForm, field: StringField) -> None:
    """A month written right (mm/yyyy) in a year out of range is told so, not that its form is wrong."""
    year = field.data[3:] if field.data else ""
    if year.isascii() and year.isdigit() and not FIRST_REPORT_YEAR <= int(year) <= LAST_REPORT_YEAR:
        raise StopValidation(_l("Năm phải từ %(first)s đến %(last)s.", first=FIRST_REPORT_YEAR, last=LAST_REPORT_YEAR))


class MonthQuery(BaseForm):
    """The monthly report's month (mm/yyyy, as people write it), the province whose districts it gives (the
    country's provinces without one) or the district whose row it gives, and format."""

    class Meta:
        csrf = False

    province = AreaQuery.province
    district = AreaQuery.district

    month = StringField(
        _l("Tháng"),
        filters=[_month_in_two_digits],
        validators=[
            Optional(),
            Regexp(r"(0[1-9]|1[0-2])/([0-9]{4})\Z", message=_l("Tháng ghi theo dạng mm/yyyy, ví dụ 11/2021.")),
            _year_in_range,
        ],
    )
    format = SelectField(
        _l("Định dạng"),
        choices=[SelectChoice("html"), SelectChoice("csv"), SelectChoice("xlsx")],
        default="html",
        invalid_choice_message=_CHOICE,
    )


#: The longest note kept with a recovery's move (on the move's event).
MAX_RECOVERY_NOTE = 500


class RecoveryQuery(AreaQuery):
    """The recoveries list's area and state ("" is every state)."""

    state = SelectField(
        _l("Trạng thái"),
        choices=[SelectChoice(s) for s in ("", *RECOVERY_STATES)],
        default="",
        invalid_choice_message=_CHOICE,
    )


class RecoveryExportQuery(RecoveryQuery):
    """The recoveries list's area and state, and the file's format."""

    format = ExportQuery.format


class RecoveryMoveForm(ConfirmedForm):
    """A recovery moved on by a supervisor, in two steps (it says how much money is back, or given up)."""

    to_state = SelectField(
        _l("Chuyển sang"), validators=[DataRequired(_l("Hãy chọn trạng thái mới."))], invalid_choice_message=_CHOICE
    )
    amount = VndField(
        _l("Số tiền đã nhận lại (đồng)"),
        validators=[Optional(), NumberRange(min=1, message=_l("Số tiền phải lớn hơn 0."))],
    )
    note = TextAreaField(_l("Ghi chú (bắt buộc khi xoá nợ)"), validators=free_text(MAX_RECOVERY_NOTE))
    #: The recovery's last step when the page was opened: a step recorded since refuses this one (or, when it is this
    #: very one sent twice, makes it done already).
    seen = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(min=1, max=2**63 - 1)])
