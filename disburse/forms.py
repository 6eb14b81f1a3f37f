"""What every feature's forms build on: the base form (strips surrounding whitespace from every text field) and
the fields several features share."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from disburse.registry.codes import UNIT_CODE_PATTERN

_DMY = re.compile(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}")
#: Free text may hold tabs and line breaks, no other control character (PostgreSQL refuses NUL outright).
_NO_CONTROL = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\Z"
#: The years a day written in a form may have (a date of birth from 1900, a programme's dates before 2100).
FIRST_YEAR, LAST_YEAR = 1900, 2099


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def free_text(max_len: int, required: Any = None) -> list[Any]:
    """A free-text field's checks; ``required``: the message naming what to write, when it may not be left blank."""
    validators: list[Any] = [DataRequired(required)] if required is not None else [Optional()]
    validators += [
        Length(max=max_len, message=_l("Tối đa %(max)d ký tự.")),
        Regexp(_NO_CONTROL, message=_l("Có ký tự điều khiển không hợp lệ.")),
    ]
    return validators


class NoLengthAttributes:
    """A form's Meta that renders no ``maxlength``/``minlength`` from the Length validators: a browser cuts a pasted
    value at maxlength without a word (a receipt number recorded short); the server refuses it whole and says why."""

    def render_field(self, field: Any, render_kw: dict[str, Any]) -> Any:
        return super().render_field(field, {"maxlength": False, "minlength": False, **render_kw})  # type: ignore[misc]


class BaseForm(FlaskForm):
    class Meta(NoLengthAttributes):
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            filters = unbound_field.kwargs.get("filters", [])
            # A password is taken as typed: its spaces are part of it (the commands store it so).
            if _strip not in filters and not issubclass(unbound_field.field_class, PasswordField):
                filters = unbound_field.kwargs["filters"] = [_strip, *filters]
            return unbound_field.bind(form=form, filters=filters, **options)


def district_field(label: Any = None) -> StringField:
    """An optional district code: exactly 3 digits, said so when not (the same words on every form)."""
    return StringField(
        label or _l("Mã quận/huyện"),
        validators=[Optional(), Regexp(r"[0-9]{3}\Z", message=_l("Mã quận/huyện gồm đúng 3 chữ số (ví dụ 017)."))],
    )


def unit_code_field(label: Any = None) -> StringField:
    """An optional unit code, by the one rule (:mod:`disburse.registry.codes`; its words, ``UNIT_CODE_WORDS``, are
    this message and its English)."""
    return StringField(
        label or _l("Mã đơn vị"),
        validators=[
            Optional(),
            Regexp(
                rf"{UNIT_CODE_PATTERN}\Z",
                message=_l("Mã đơn vị chỉ gồm chữ, số và . _ -, bắt đầu bằng chữ hoặc số, tối đa 20 ký tự."),
            ),
        ],
    )


def _typed(valuelist: list[Any]) -> str:
    """What was typed in a text box, without surrounding spaces ("" when nothing was)."""
    text = (valuelist[0] if valuelist else "") or ""
    return text.strip() if isinstance(text, str) else ""


class DayField(StringField):
    """A day written dd/mm/yyyy, as people write it (a text box: the browser's date picker sends another format)."""

    data: date | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        text = _typed(valuelist)
        if not text:
            return
        if not _DMY.fullmatch(text):
            raise ValueError(_l("Ngày ghi theo dạng dd/mm/yyyy, ví dụ 20/11/2021."))
        try:
            day = datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            raise ValueError(_l("Ngày %(day)s không có trong lịch.", day=text)) from None
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValueError(_l("Năm phải từ %(first)s đến %(last)s.", first=FIRST_YEAR, last=LAST_YEAR))
        self.data = day

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return self.data.strftime("%d/%m/%Y") if self.data else ""


#: What a sum of money may be written with around its digits: thousands separators and the currency.
_MONEY_MARKS = str.maketrans("", "", " .,\u00a0\u202f")


class VndField(StringField):
    """A sum in whole đồng, as people write it: ``1.800.000``, ``1,800,000``, ``1 800 000 ₫`` or ``VND 1800000``
    (a text box, so that the separators can be typed). Empty is None; anything else that is not a whole number of
    đồng says so."""

    data: int | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        text = _typed(valuelist)
        if not text:
            return
        digits = text.lower().removeprefix("vnd").removesuffix("vnd").removesuffix("₫").removesuffix("đ")
        digits = digits.translate(_MONEY_MARKS)
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 15:
            raise ValueError(_l("Số tiền ghi bằng số đồng, ví dụ 1.800.000."))
        self.data = int(digits)
