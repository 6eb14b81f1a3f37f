"""What every feature's forms build on: the base form (strips surrounding whitespace from every text field) and
the fields several features share."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import Any, TypeVar

from flask import Response, current_app, flash, g, has_request_context, make_response, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, StopValidation, ValidationError
from wtforms.widgets import TextInput

from disburse.auth.text import NoHiddenCharacters
from disburse.extensions import limiter
from disburse.formatting import composed, number, parse_vnd
from disburse.programs.calendar import programme_today
from disburse.reference.service import area_code, bank_code_of, bank_names
from disburse.registry.codes import UNIT_CODE_PATTERN

_DMY = re.compile(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}")
#: dd-mm-yyyy, dd.mm.yyyy, dd,mm,yyyy and dd mm yyyy, as people also write a day (an ID card prints 21/09/1982, a
#: phone's number keypad has no "/": the worker's date-of-birth fields open the keypad with a "." or a ",").
_DMY_OTHER_MARKS = re.compile(r"([0-9]{1,2})([-., ])([0-9]{1,2})\2([0-9]{4})")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: Free text may hold tabs and line breaks, no other control character, C0 or C1 (U+0085, "next line", too: the API
#: refuses it with the others; PostgreSQL refuses NUL outright).
_NO_CONTROL = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*\Z"
#: The years a day written in a form may have (a date of birth from 1900, a programme's dates before 2100).
FIRST_YEAR, LAST_YEAR = 1900, 2099


def _strip(value: Any) -> Any:
    """Text without its surrounding spaces, composed (NFC: :func:`disburse.formatting.composed`)."""
    return composed(value).strip() if isinstance(value, str) else value


class MaxLength(Length):
    """At most ``max`` characters, said with the number grouped as the page's character count says it, and how many
    were sent ("Tối đa 1.000 ký tự; nội dung có 1.001 ký tự."). Renders as Length does (its ``maxlength`` flag)."""

    def __init__(self, max: int) -> None:
        super().__init__(max=max)

    def __call__(self, form: Any, field: Any) -> None:
        length = len(field.data or "")
        if length > self.max:
            raise ValidationError(
                _("Tối đa %(max)s ký tự; nội dung có %(length)s ký tự.", max=number(self.max), length=number(length))
            )


def free_text(max_len: int, required: Any = None) -> list[Any]:
    """A free-text field's checks; ``required``: the message naming what to write, when it may not be left blank (and
    then a text of dots or dashes alone is blank too: a reason printed on a notice, a note kept on a record, says
    something)."""
    validators: list[Any] = [DataRequired(required)] if required is not None else [Optional()]
    validators += [
        MaxLength(max_len),
        Regexp(_NO_CONTROL, message=_l("Có ký tự điều khiển không hợp lệ.")),
        # A format character unseen (a right-to-left override, a zero-width space) makes a note or a reason read as
        # something it is not, to the next caseworker and on a printed notice: refused, named by its code point.
        NoHiddenCharacters(),
    ]
    if required is not None:
        validators.append(Regexp(r"(?s).*\w", message=required))
    return validators


class NoLengthAttributes:
    """A form's Meta that renders no ``maxlength``/``minlength`` from the Length validators: a browser cuts a pasted
    value at maxlength without a word (a receipt number recorded short); the server refuses it whole and says why."""

    def render_field(self, field: Any, render_kw: dict[str, Any]) -> Any:
        return super().render_field(field, {"maxlength": False, "minlength": False, **render_kw})  # type: ignore[misc]


#: WTForms' own messages (fields given none of ours: a choice posted that the page did not offer, a number that is
#: not one), in our words and the page's language; the catalog has no Vietnamese of them, so they came in English.
_WTFORMS_WORDS = {
    "Not a valid choice.": _l("Hãy chọn một trong các lựa chọn có trên trang."),
    "Not a valid integer value.": _l("Hãy ghi một số nguyên."),
    "Not a valid decimal value.": _l("Hãy ghi một số."),
    "Not a valid float value.": _l("Hãy ghi một số."),
    "Not a valid date value.": _l("Hãy ghi ngày theo dạng ngày/tháng/năm."),
    "This field is required.": _l("Hãy điền mục này."),
    "Invalid input.": _l("Giá trị không hợp lệ."),
    "Invalid email address.": _l("Địa chỉ e-mail không hợp lệ."),
}


class _Words:
    """The translations WTForms asks for its messages (``Meta.get_translations``): :data:`_WTFORMS_WORDS`, else the
    message as WTForms has it."""

    def gettext(self, string: str) -> str:
        words = _WTFORMS_WORDS.get(string)
        return str(words) if words is not None else string

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


class BaseForm(FlaskForm):
    def validate(self, extra_validators: Any = None) -> bool:
        """Not valid while the page is shown again after a rate limit or an expired form (:func:`shown_again`): the
        values sent are on the form, and nothing is done with them."""
        if shown_again():
            return False
        return bool(super().validate(extra_validators))

    class Meta(NoLengthAttributes):
        def get_translations(self, form: Any) -> _Words:
            return _Words()

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            filters = unbound_field.kwargs.get("filters", [])
            # A password is taken as typed: its spaces are part of it (the commands store it so).
            if _strip not in filters and not issubclass(unbound_field.field_class, PasswordField):
                filters = unbound_field.kwargs["filters"] = [_strip, *filters]
            return unbound_field.bind(form=form, filters=filters, **options)


def district_field(label: Any = None) -> StringField:
    """An optional district code: 3 digits, its leading zeros put back ("17" is 017, :func:`area_code`), said so
    when not (the same words on every form)."""
    return StringField(
        label or _l("Mã quận/huyện"),
        filters=[partial(area_code, width=3)],
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


class _ReadOrSaid(StringField):
    """A text box read into a value (:meth:`process_formdata` raising ValueError with what is wrong): when it cannot
    be read, that is its one error, and no validator runs on the None it leaves ("1.5" said "write whole đồng", then
    "the sum must be more than 0" as well)."""

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()


#: The example a day field's format error gives (:class:`DayField`), unless the field has its own or refuses it: a
#: date of birth's, and any other day's.
BIRTH_EXAMPLE, DAY_EXAMPLE = date(1985, 11, 20), date(2021, 11, 20)


class DayField(_ReadOrSaid):
    """A day written dd/mm/yyyy, as people write it (a text box: the browser's date picker sends another format).
    ``past=True`` (a date of birth) refuses a day after today.

    A day not written so is told the form with an example the field takes (:meth:`example_day`): ``example`` (a day,
    or a function of the form giving one or None), else :data:`BIRTH_EXAMPLE` or :data:`DAY_EXAMPLE`; checked against
    the field's own validators, the programme's today when they refuse it, no example when they refuse that too (a
    due day asked after the programme's last day: 20/11/2021 was given to a field that refused every past day)."""

    data: date | None

    def __init__(
        self,
        *args: Any,
        past: bool = False,
        example: date | Callable[[Any], date | None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.past = past
        self.example = example
        #: Whether what was typed is not written as a day (its error names an example, once the form is known).
        self.unreadable = False

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        self.unreadable = False
        text = _typed(valuelist)
        if not text:
            return
        # dd/mm/yyyy as people write it (or with dashes or dots), or YYYY-MM-DD as programs do (a date copied from the
        # API or an export).
        if other := _DMY_OTHER_MARKS.fullmatch(text):
            text = f"{other[1]}/{other[3]}/{other[4]}"
        iso = _ISO_DAY.fullmatch(text) is not None
        if not (iso or _DMY.fullmatch(text)):
            self.unreadable = True
            # Said again with the form's example when the form validates (:meth:`pre_validate`).
            raise ValueError(self.format_words(self.example_day(None)))
        try:
            day = datetime.strptime(text, "%Y-%m-%d" if iso else "%d/%m/%Y").date()
        except ValueError:
            raise ValueError(_l("Ngày %(day)s không có trong lịch.", day=text)) from None
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValueError(_l("Năm phải từ %(first)s đến %(last)s.", first=FIRST_YEAR, last=LAST_YEAR))
        if self.past and day > programme_today():
            today = programme_today().strftime("%d/%m/%Y")
            raise ValueError(_l("Ngày sinh %(day)s nằm trong tương lai (hôm nay là %(today)s).", day=text, today=today))
        self.data = day

    def pre_validate(self, form: Any) -> None:
        if self.unreadable:
            self.errors[:] = [self.format_words(self.example_day(form))]
        super().pre_validate(form)

    def format_words(self, example: date | None) -> Any:
        """What a day not written as one is told: the form, with ``example`` when there is one."""
        if example is None:
            return _l("Ngày ghi theo dạng dd/mm/yyyy.")
        if self.past:
            return _l("Ngày ghi theo dạng ngày/tháng/năm, ví dụ %(day)s.", day=example.strftime("%d/%m/%Y"))
        return _l("Ngày ghi theo dạng dd/mm/yyyy, ví dụ %(day)s.", day=example.strftime("%d/%m/%Y"))

    def example_day(self, form: Any) -> date | None:
        """A day this field takes, as its example: its own, else the usual one (:data:`BIRTH_EXAMPLE`,
        :data:`DAY_EXAMPLE`), else the programme's today; the first its validators and the form's
        ``validate_<name>`` take (None when they take neither; ``form`` None: the first, unchecked)."""
        candidates: list[date | None]
        if callable(self.example):
            candidates = [self.example(form)] if form is not None else []
        elif self.example is not None:
            candidates = [self.example]
        else:
            candidates = [BIRTH_EXAMPLE if self.past else DAY_EXAMPLE, programme_today()]
        for day in candidates:
            if day is not None and (form is None or self._takes(form, day)):
                return day
        return None

    def _takes(self, form: Any, day: date) -> bool:
        """Whether the field's validators and the form's ``validate_<name>`` take ``day`` (the field left as it was)."""
        if (self.past and day > programme_today()) or not FIRST_YEAR <= day.year <= LAST_YEAR:
            return False
        inline = getattr(type(form), f"validate_{self.short_name}", None)
        checks = [*self.validators, *([inline] if inline is not None else [])]
        data, errors = self.data, list(getattr(self, "errors", ()))
        self.data = day
        try:
            for check in checks:
                check(form, self)
        except (ValueError, StopValidation):
            return False
        finally:
            self.data, self.errors = data, errors
        return True

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return self.data.strftime("%d/%m/%Y") if self.data else ""


class VndField(_ReadOrSaid):
    """A sum in whole đồng, as people write it: ``1.800.000``, ``1,800,000``, ``1 800 000 ₫`` or ``VND 1800000``
    (a text box, so that the separators can be typed). Empty is None; anything else that is not a whole number of
    đồng says so."""

    data: int | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        text = _typed(valuelist)
        if not text:
            return
        self.data = parse_vnd(text)
        if self.data is None:
            raise ValueError(_l("Số tiền ghi bằng số đồng, ví dụ 1.800.000."))


#: The request's datalists of banks already on its page: (the choices they list, the datalist's id), by the choices.
_BANK_LISTS = "disburse.bank_datalists"


class _BankInput(TextInput):
    """A text box with the field's banks as its suggestions (a ``datalist``: each bank's code, labelled by the name
    people call it). Fields given the same choices on a page share one datalist, written with the first of them: a
    Form 02 page of 200 people wrote the 40-odd banks 200 times (about a megabyte, on an employer's phone)."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("autocomplete", "off")
        kwargs.setdefault("spellcheck", "false")
        written: dict[int, tuple[list[tuple[str, str]], str]] = (
            request.environ.setdefault(_BANK_LISTS, {}) if has_request_context() else {}
        )
        shared = written.get(id(field.choices))
        if shared is not None and shared[0] is field.choices:
            return super().__call__(field, list=shared[1], **kwargs)
        listed = f"{field.id}-banks"
        written[id(field.choices)] = (field.choices, listed)  # the choices kept: their id is not another's meanwhile
        options = Markup("").join(
            Markup('<option value="{}">{}</option>').format(code, label) for code, label in field.choices if code
        )
        box = super().__call__(field, list=listed, **kwargs)
        return Markup('{}<datalist id="{}">{}</datalist>').format(box, listed, options)


class BankField(StringField):
    """A bank, typed or picked, as people know it: by its short code or by its name. A select found banks by the
    first words of their names only (typing "VCB" chose VBSP); this text box lists every bank as a suggestion
    (``choices``, set by the view as a select's: :func:`disburse.reference.service.bank_choices`), which the
    browser narrows to the code or the name being typed, and reads what was typed into a bank's code: a code, a
    NAPAS number, a brand or a legal name (:func:`disburse.reference.service.bank_names`); anything else is kept in
    capitals for the service to refuse as an unknown bank, naming it. Empty is "". Shown again (the form refused),
    the box holds what was typed, not the code or the capitals it was read into."""

    widget = _BankInput()
    data: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "description", _l("Ghi mã ngân hàng (ví dụ VCB) hoặc tên ngân hàng, rồi chọn trong danh sách.")
        )
        super().__init__(*args, **kwargs)
        self.choices: list[tuple[str, str]] = []

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = _typed(valuelist)
        self.data = bank_code_of(text, _request_bank_names()) if text else ""

    def _value(self) -> str:
        return _typed(self.raw_data) if self.raw_data else super()._value()


def _request_bank_names() -> dict[str, str]:
    """:func:`~disburse.reference.service.bank_names`, read once a request: a Form 02 page's 200 bank fields read
    them 200 times."""
    if not has_request_context():
        return bank_names()
    if "disburse.bank_names" not in request.environ:
        request.environ["disburse.bank_names"] = bank_names()
    names: dict[str, str] = request.environ["disburse.bank_names"]
    return names


# ------------------------------------------------------------------------------------------------ rate limits

_View = TypeVar("_View", bound=Callable[..., Any])
_FORM_AGAIN_ATTR = "_disburse_form_again_when_limited"
#: The request's key in ``g`` while its form page is shown again after a rate limit: the seconds to wait.
_WAITING = "seconds_to_wait"
#: The request's key in ``g`` while its form page is shown again because its CSRF token did not hold.
_EXPIRED = "form_expired"


def form_again_when_limited(view: _View) -> _View:
    """Marks a page whose form is behind a rate limit: past the limit, the person gets the same page back (the
    values they typed kept, a message at the top saying how long to wait), answered 429 with ``Retry-After``,
    rather than a bare error page that loses what they typed (:func:`form_again_after_limit`). The same when the
    form's CSRF token no longer holds (the browser's session ended while the page was open: a person filling in the
    public form slowly, a phone that dropped its cookies): the page again with a fresh token, 400
    (:func:`form_again_after_expiry`). The view must act only on a form that validates (a :class:`BaseForm`, which
    does not validate while the page is shown again, :func:`shown_again`)."""
    setattr(view, _FORM_AGAIN_ATTR, True)
    return view


def seconds_to_wait() -> int | None:
    """While a form page is shown again after a rate limit: the seconds until the limit lets the person try again;
    otherwise None."""
    value = g.get(_WAITING)
    return int(value) if value is not None else None


def shown_again() -> bool:
    """Whether the request's form page is being shown again, what was sent kept and nothing done with it: after a
    rate limit (:func:`seconds_to_wait`) or an expired form (:func:`form_again_after_expiry`)."""
    return seconds_to_wait() is not None or bool(g.get(_EXPIRED))


@limiter.request_filter
def _showing_form_again() -> bool:
    # The page shown again is not another try: no limit counts it (nor refuses it a second time).
    return shown_again()


def limit_resets_in() -> int:
    """Seconds until the limit this request ran into lets the caller try again: the limiter's reset time, counted as
    Flask-Limiter counts its own ``Retry-After`` (its reset time is a second past the window's end already: rounding
    it up again told people to wait 61 seconds on a per-minute limit)."""
    breached = limiter.current_limit
    if breached is None:
        return 60
    return max(1, int(breached.reset_at - time.time()))


def wait_words(seconds: int) -> str:
    """How long to wait, in words: seconds up to a minute and a half, then whole minutes (rounded up)."""
    if seconds < 90:
        return ngettext("%(num)d giây", "%(num)d giây", seconds)
    minutes = math.ceil(seconds / 60)
    return ngettext("%(num)d phút", "%(num)d phút", minutes)


def too_many_tries_message(seconds: int) -> str:
    return _(
        "Bạn đã gửi quá nhiều lần trong thời gian ngắn, nên lần này chưa được xử lý. Hãy đợi %(wait)s rồi gửi lại.",
        wait=wait_words(seconds),
    )


def _form_again(
    key: str, value: Any, words: Callable[[], str], status: int, headers: dict[str, str]
) -> Response | None:
    """The same form page again, for a POST to a view marked :func:`form_again_when_limited`: the view runs once
    more with ``g[key] = value`` (:func:`shown_again`: every limit off, its form not validating, so it renders the
    values sent and does nothing), ``words`` flashed at the top, answered ``status`` with ``headers``; a redirect
    (signed in meanwhile) stays one. None for any other request (the error page answers): nothing here logs what was
    sent (an account number)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method != "POST" or view is None or not getattr(view, _FORM_AGAIN_ATTR, False):
        return None
    g.setdefault(key, value)
    flash(words(), "error")
    response = make_response(current_app.ensure_sync(view)(**(request.view_args or {})))
    if response.status_code < 300 or response.status_code >= 400:
        response.status_code = status
        response.headers.update(headers)
    return response


def form_again_after_expiry() -> Response | None:
    """A page's answer to a CSRF token that did not hold (a 400): the same page with what was sent and a fresh
    token, a message asking to check and send again, status 400 (:func:`_form_again`)."""

    def words() -> str:
        return _("Biểu mẫu đã hết hạn nên lần gửi này chưa được xử lý. Hãy kiểm tra lại rồi gửi lại.")

    return _form_again(_EXPIRED, True, words, 400, {})


def form_again_after_outage(retry_after: int) -> Response | None:
    """A page's answer to Redis not answering (a 503: the limits cannot be counted, so nothing is done): the same page
    with what was sent, a message asking to send again in a few minutes, 503 and ``Retry-After``
    (:func:`_form_again`). The view runs without Redis (no limit counts a page shown again); should it fail too
    (the database down as well), the caller answers with the error page."""

    def words() -> str:
        return _(
            "Hệ thống tạm thời không nhận được lần gửi này; những gì bạn đã nhập vẫn ở dưới. Hãy gửi lại sau ít phút."
        )

    return _form_again(_EXPIRED, True, words, 503, {"Retry-After": str(retry_after)})


def form_again_after_limit() -> Response | None:
    """A page's answer to a rate limit (a 429): the same page with what was sent, a message at the top saying how
    long to wait, status 429 and ``Retry-After`` (:func:`_form_again`)."""
    seconds = limit_resets_in()
    return _form_again(_WAITING, seconds, lambda: _limit_words(seconds), 429, {"Retry-After": str(seconds)})


def _limit_words(seconds: int) -> str:
    """What a rate limit says: the caller sent too often; or, for a limit on one person's look-ups
    (:func:`disburse.auth.limits.person_key`), that the person's look-ups are paused after wrong tries, whoever made
    them: the person reading it may not be the one who guessed."""
    breached = limiter.current_limit
    if breached is not None and "/person:" in breached.key:
        return _(
            "Đã có quá nhiều lần tra cứu không đúng với mã số BHXH này, nên việc tra cứu mã này tạm dừng %(wait)s "
            "để bảo vệ thông tin của người lao động. Nếu đây là mã của bạn, hãy thử lại sau, hoặc gọi hay đến cơ quan "
            "BHXH quận/huyện với CMND/CCCD.",
            wait=wait_words(seconds),
        )
    return too_many_tries_message(seconds)
