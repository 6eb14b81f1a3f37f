"""The caseworker's forms (Flask-WTF, CSRF on every form that changes something). They check the shape of a value;
the services check the rules and say what went wrong in both languages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from disburse.auth.scopes import visible_unit
from disburse.claims.outcomes import account_digits, account_filter, is_bank_account, si_code_words
from disburse.claims.person_details import MAX_DISMISS_REASON
from disburse.formatting import dmy, say
from disburse.forms import BIRTH_EXAMPLE, BankField, BaseForm, DayField, district_field, free_text, unit_code_field
from disburse.payments.cash import MAX_RECEIPT, MAX_WITHDRAW_REASON, CashRefused, clean_receipt_number
from disburse.programs.calendar import programme_today
from disburse.verification.review import MAX_DUPLICATE_NOTE, MAX_ID, MAX_TEXT, NotFound, visible_district


def _text(required: Any = None, max_len: int = MAX_TEXT) -> list[Any]:
    return free_text(max_len, required)


#: A phone's keyboard for a number written in digits (an SI code, an ID, an account: text fields, their leading zeros
#: kept) or a phone number, and no suggestions from the browser's memory: the number is another person's, never the
#: member of staff's own (the public pages, the person's own, are :mod:`disburse.claims.person_views`).
_DIGITS = {"inputmode": "numeric", "autocomplete": "off"}
_PHONE = {"inputmode": "tel", "autocomplete": "off"}

_CHOICE = _l("Hãy chọn một trong các lựa chọn có trên trang.")
_WHOLE = _l("Hãy ghi một số nguyên.")

#: The caseworker's word that they checked what verification found (asked only when it found something; the service
#: refuses the approval without it: :func:`disburse.verification.review.approve`). Made before the approval forms'
#: fields: a form lists its fields (and the error summary its errors) in the order they were made, and the pages ask
#: for the tick first, under the list of what to check.
_CHECKED = BooleanField(_l("Tôi đã kiểm tra các nội dung trên"))


def district_in_scope(field: Any) -> None:
    """A district filter of a supervisor or an admin names one within their scope; one outside it is answered as one
    that does not exist (a caseworker's is their own, whatever is typed: the views do not read it)."""
    if not field.data or current_user.role == "caseworker":
        return
    try:
        visible_district(current_user, field.data)
    except NotFound:
        raise ValidationError(_("Không có quận/huyện mã %(code)s trong phạm vi của bạn.", code=field.data)) from None


class QueueFilterForm(BaseForm):
    """The queue's filters, read from the query string (a GET form: nothing changes, no CSRF token)."""

    class Meta:
        csrf = False

    state = SelectField(_l("Trạng thái"), default="needs_review", invalid_choice_message=_CHOICE)
    reason = SelectField(_l("Lý do cần xác minh"), default="", invalid_choice_message=_CHOICE)
    age = IntegerField(
        _l("Đã nhận ít nhất (ngày làm việc)"),
        validators=[Optional(), NumberRange(min=0, max=999, message=_l("Số ngày làm việc từ 0 đến 999."))],
        invalid_value_message=_l("Số ngày làm việc từ 0 đến 999."),
    )
    employer = unit_code_field()
    track = SelectField(_l("Luồng hồ sơ"), default="", invalid_choice_message=_CHOICE)
    assigned = SelectField(_l("Người xử lý"), default="", invalid_choice_message=_CHOICE)
    offered = BooleanField(_l("Chỉ hồ sơ có thông tin tài khoản mới do người lao động gửi"))
    district = district_field()
    #: One of the queue's orders (choices set by the view: :data:`disburse.casework.views.QUEUE_SORTS`); left empty,
    #: the default order, as an empty filter is its default.
    sort = SelectField(
        _l("Sắp xếp theo"), default="id", filters=[lambda value: value or "id"], invalid_choice_message=_CHOICE
    )
    after = IntegerField(
        validators=[Optional(), NumberRange(min=0, max=2**63 - 1, message=_WHOLE)], invalid_value_message=_WHOLE
    )
    before = IntegerField(
        validators=[Optional(), NumberRange(min=0, max=2**63 - 1, message=_WHOLE)], invalid_value_message=_WHOLE
    )

    # A unit or district filter names one in the user's scope: a typo is said, rather than "0 claims match". One
    # outside the scope is answered as one that does not exist (never "it is in another district": that would tell
    # which codes exist, and where). Checked with the other filters, so that one look says every mistake (a check run
    # after the form validated said a unit's typo only once the age was right).

    def validate_employer(self, field: Any) -> None:
        if not field.data:
            return
        unit = visible_unit(current_user, field.data)
        if unit is None:
            raise ValidationError(_("Không có đơn vị mã %(code)s trong phạm vi của bạn.", code=field.data))
        field.data = unit.unit_code  # as the registry writes it

    def validate_district(self, field: Any) -> None:
        district_in_scope(field)


class ActionForm(BaseForm):
    """A button that changes something: only the CSRF token."""


class AssignToForm(BaseForm):
    """A supervisor's or an admin's "give this claim to": one of the claim's district's caseworkers (choices set by
    the view)."""

    user_id = SelectField(
        _l("Giao cho cán bộ"),
        coerce=str,
        validators=[DataRequired(_l("Hãy chọn cán bộ nhận hồ sơ."))],
        invalid_choice_message=_CHOICE,
    )


class AssignNextForm(BaseForm):
    """ "Take the next claims": it carries how many claims the caseworker held when the page was shown, so that the
    button pressed twice (a double click, the form sent again) takes one batch, not two."""

    held = HiddenField()


class DecisionForm(BaseForm):
    """A decision on a claim: it carries the claim's latest event when the page was shown, and is refused when the
    claim changed since (:func:`disburse.verification.review.decided_on_what_is`)."""

    seen = HiddenField()


class ApproveForm(DecisionForm):
    note = TextAreaField(_l("Ghi chú (không bắt buộc)"), validators=_text())


class DeclineForm(DecisionForm):
    note = TextAreaField(
        _l("Người lao động báo không nhận hỗ trợ bằng cách nào"),
        validators=_text(required=_l("Hãy ghi người lao động đã báo không nhận hỗ trợ bằng cách nào, ngày nào.")),
    )


class ContactForm(BaseForm):
    #: The claim's latest event when the form was shown (a post sent again records nothing).
    seen = HiddenField()
    channel = RadioField(
        _l("Cách liên hệ"), invalid_choice_message=_CHOICE, validators=[InputRequired(_l("Hãy chọn cách liên hệ."))]
    )
    outcome = RadioField(
        _l("Kết quả"), invalid_choice_message=_CHOICE, validators=[InputRequired(_l("Hãy chọn kết quả liên hệ."))]
    )
    note = TextAreaField(_l("Ghi chú (không bắt buộc)"), validators=_text())


#: The days a request for information usually gives (the example of its due date).
EXAMPLE_DUE_DAYS = 7


def example_due_day(today: date, last_day: date | None) -> date | None:
    """A due date :class:`RequestInfoForm` takes, as its hint's example: a week from today, or the programme's last
    payable day when that comes sooner; None when that day has passed (no day can be taken)."""
    day = today + timedelta(days=EXAMPLE_DUE_DAYS)
    if last_day is not None and day > last_day:
        day = last_day
    return day if day >= today else None


class RequestInfoForm(BaseForm):
    #: As :class:`ContactForm`'s.
    seen = HiddenField()
    addressee = RadioField(
        _l("Yêu cầu ai bổ sung"),
        invalid_choice_message=_CHOICE,
        validators=[InputRequired(_l("Hãy chọn người được yêu cầu."))],
    )
    note = TextAreaField(
        _l("Cần bổ sung những gì"),
        validators=_text(required=_l("Hãy ghi những thông tin cần bổ sung.")),
    )
    due_on = DayField(_l("Hạn bổ sung (dd/mm/yyyy, không bắt buộc)"))

    def __init__(self, *args: Any, last_day: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The programme's last payable day: an answer due after it could change nothing.
        self.last_day = last_day
        # The hint's example is a day the field takes (a fixed 20/11/2021 was one it refused, being past); none when
        # no day is left to take.
        example = example_due_day(programme_today(), last_day)
        self.due_on.description = _("Ví dụ %(day)s", day=dmy(example)) if example is not None else ""

    def validate_due_on(self, field: DayField) -> None:
        """Not before today (the programme's clock), nor after the programme's last payable day."""
        if field.data is None:
            return
        today = programme_today()
        if field.data < today:
            raise ValidationError(_("Hạn bổ sung không được trước hôm nay (%(today)s).", today=dmy(today)))
        if self.last_day is not None and field.data > self.last_day:
            raise ValidationError(
                _(
                    "Hạn bổ sung không được sau ngày %(day)s, ngày cuối cùng chương trình còn chi trả.",
                    day=dmy(self.last_day),
                )
            )


class ResolveDuplicateForm(BaseForm):
    keep = RadioField(
        _l("Hồ sơ được giữ lại"),
        invalid_choice_message=_CHOICE,
        validators=[InputRequired(_l("Hãy chọn hồ sơ được giữ lại."))],
    )
    override = BooleanField(_l("Không phải trùng: các hồ sơ đều được xem xét chi trả"))
    note = TextAreaField(_l("Ghi chú"), validators=_text(max_len=MAX_DUPLICATE_NOTE))


_ACCOUNT_FORMAT = _l(
    "Số tài khoản chỉ gồm chữ số, từ 6 đến 19 số (không có chữ cái hay ký tự khác; dấu cách giữa các nhóm số được "
    "bỏ qua)."
)


def _bank_account(_form: Any, field: Any) -> None:
    """The one rule for an account number (:func:`disburse.claims.outcomes.is_bank_account`: 6 to 19 digits, what
    verification and the bank take), so that the form never lets through an account the service would refuse."""
    if not is_bank_account(account_digits(field.data or "")):
        raise ValidationError(_ACCOUNT_FORMAT)


class ConfirmedForm(BaseForm):
    """A form that moves money or writes to the person (a refusal's notice), taken in two steps: the filled form,
    then a page saying what will happen (to whom, how much, where, why) with "confirm" and "change" buttons.
    ``confirmed`` is "1" only on the second step's post."""

    confirmed = HiddenField()


class RejectForm(ConfirmedForm, DecisionForm):
    """A refusal: its reason is printed in the notice the person receives, so the page says it back before it is
    recorded (the two steps of :class:`ConfirmedForm`)."""

    reason_code = RadioField(
        _l("Lý do từ chối"), invalid_choice_message=_CHOICE, validators=[InputRequired(_l("Hãy chọn lý do từ chối."))]
    )
    reason_text = TextAreaField(
        _l("Lý do ghi trong thông báo gửi người lao động"),
        validators=_text(required=_l("Hãy ghi rõ lý do từ chối; lý do này được in trong thông báo.")),
    )


class PaymentDetailsForm(ConfirmedForm, DecisionForm):
    """New bank details, checked before they are saved; refused when the claim's state or details changed since the
    page was shown (``seen``: a colleague's correction must not be overwritten unseen)."""

    bank_code = BankField(_l("Ngân hàng"), validators=[DataRequired(_l("Hãy ghi ngân hàng."))])
    bank_account = StringField(
        _l("Số tài khoản"),
        validators=[DataRequired(_l("Hãy ghi số tài khoản.")), _bank_account],
        filters=[account_filter],
        render_kw=dict(_DIGITS),
    )


class RecordPhoneForm(BaseForm):
    """The person's new phone number for the registry, recorded at the office: the caseworker's tick that the person
    came and showed their ID card first (the page asks it first), then the number, never filled in (not from the
    public page's offer: whoever sent it may have given their own). The service checks both and says every problem
    at once (:func:`disburse.casework.service.record_phone`)."""

    id_card_seen = BooleanField(_l("Người lao động đã trực tiếp đến cơ quan BHXH và xuất trình CMND/CCCD"))
    phone = StringField(
        _l("Số điện thoại mới"),
        validators=[Optional(), Length(max=20, message=_l("Số điện thoại dài quá 20 ký tự."))],
        render_kw=dict(_PHONE),
    )


def record_id(value: str | None) -> int | None:
    """A record's id as a hidden field carries it, or None when it is not one."""
    value = value or ""
    if value.isascii() and value.isdigit() and len(value) <= 19 and 0 < int(value) <= MAX_ID:
        return int(value)
    return None


def _record_id(_form: Any, field: Any) -> None:
    if record_id(field.data) is None:
        raise ValidationError(_l("Không rõ đề nghị nào; hãy mở lại trang hồ sơ."))


class DismissOfferForm(BaseForm):
    """Dismiss the person's offer of bank details ``offer`` (the note's id, as the case page showed it)."""

    offer = HiddenField(validators=[_record_id])
    reason = StringField(
        _l("Lý do bỏ qua đề nghị"),
        validators=_text(required=_l("Hãy ghi lý do bỏ qua đề nghị."), max_len=MAX_DISMISS_REASON),
    )


class OfferCashForm(BaseForm):
    #: The person's open offer of bank details the page showed (its note's id), if any: switching to cash dismisses
    #: it, and only the one the caseworker saw.
    offer = HiddenField()
    reason = TextAreaField(_l("Lý do chuyển sang nhận tiền mặt sớm"), validators=_text())


class ApproveCashForm(DecisionForm):
    """Approve a claim in review to be paid in cash at the office (its bank details missing or unpayable)."""

    reason = TextAreaField(
        _l("Lý do nhận tiền mặt tại cơ quan BHXH"),
        validators=_text(required=_l("Hãy ghi lý do người lao động nhận tiền mặt tại cơ quan BHXH.")),
    )


class WithdrawCashForm(BaseForm):
    """Take the cash payment ``payment`` (its id, as the page showed it) off the office's list."""

    payment = HiddenField()
    reason = TextAreaField(
        _l("Lý do rút khỏi danh sách chi tiền mặt"),
        validators=_text(required=_l("Hãy ghi lý do rút khỏi danh sách chi tiền mặt."), max_len=MAX_WITHDRAW_REASON),
    )


def _as_stored(value: str | None) -> str | None:
    """A receipt number as it will be stored, so that the check step reads back what is recorded (full-width digits
    as digits, letters in upper case); as typed when it cannot be one (the service says why)."""
    try:
        return clean_receipt_number(value)
    except CashRefused:
        return value


class CashReceiptForm(ConfirmedForm):
    receipt_number = StringField(
        _l("Số biên lai"),
        filters=[_as_stored],
        validators=[
            DataRequired(_l("Hãy ghi số biên lai.")),
            Length(max=MAX_RECEIPT, message=_l("Tối đa %(max)d ký tự.")),
        ],
    )


class OutreachForm(BaseForm):
    """The outreach list's filters, read from the query string (a GET form)."""

    class Meta:
        csrf = False

    kind = SelectField(_l("Danh sách"), default="no_application", invalid_choice_message=_CHOICE)
    with_phone = BooleanField(_l("Chỉ người có số điện thoại"))
    district = district_field()
    format = SelectField(_l("Định dạng"), default="xlsx", invalid_choice_message=_CHOICE)
    after = IntegerField(
        validators=[Optional(), NumberRange(min=0, max=2**63 - 1, message=_WHOLE)], invalid_value_message=_WHOLE
    )


class CashDeskForm(BaseForm):
    """The cash desk's list: the office (for a scope wider than a district) and the day it was issued (a GET form)."""

    class Meta:
        csrf = False

    district = district_field()
    day = DayField(_l("Ngày lập danh sách (dd/mm/yyyy)"))
    q = SearchField(
        _l("Tìm người nhận: họ tên (có hoặc không dấu), mã số BHXH hoặc mã chi trả"),
        validators=[Optional(), Length(max=100, message=_l("Nội dung tìm kiếm dài quá 100 ký tự."))],
    )
    page = IntegerField(
        validators=[Optional(), NumberRange(min=1, max=1_000_000, message=_l("Trang không hợp lệ."))],
        invalid_value_message=_l("Trang không hợp lệ."),
    )


class DeskSearchForm(BaseForm):
    """Look the person up in the registry before taking Form 04 (a GET form)."""

    class Meta:
        csrf = False

    si_code = StringField(
        _l("Mã số BHXH"),
        validators=[
            DataRequired(_l("Hãy ghi mã số BHXH.")),
        ],
        render_kw=dict(_DIGITS),
    )

    def validate_si_code(self, field: StringField) -> None:
        """The SI code's shape, said as every form says it: a code with letters is told which."""
        if (words := si_code_words(field.data or "", typed=True)) is not None:
            raise ValidationError(say(*words))


class ApplicationForm(BaseForm):
    """Form 04 at the desk. The form reads the day and the months; the Form 04 service checks everything else (every
    field's error at once, in both languages)."""

    si_code = StringField(_l("Mã số BHXH"), render_kw=dict(_DIGITS))
    national_id = StringField(_l("Số CMND/CCCD"), render_kw=dict(_DIGITS))
    full_name = StringField(_l("Họ và tên"))
    date_of_birth = DayField(_l("Ngày sinh (dd/mm/yyyy)"), example=BIRTH_EXAMPLE)
    phone = StringField(_l("Số điện thoại"), render_kw=dict(_PHONE))
    address = TextAreaField(_l("Địa chỉ liên hệ"))
    status = RadioField(_l("Tình trạng tham gia BHTN"), validate_choice=False)
    unit_code = StringField(_l("Mã đơn vị (nơi làm việc cuối cùng)"))
    unused_months = IntegerField(
        _l("Số tháng đóng BHTN chưa hưởng"),
        validators=[Optional(), NumberRange(min=0, max=600, message=_l("Số tháng từ 0 đến 600."))],
        invalid_value_message=_l("Số tháng từ 0 đến 600."),
    )
    payout = RadioField(_l("Hình thức nhận"), validate_choice=False)
    bank_code = BankField(_l("Ngân hàng"))
    bank_account = StringField(_l("Số tài khoản"), filters=[account_filter], render_kw=dict(_DIGITS))


class CheckedApproveForm(ApproveForm):
    checked = _CHECKED


class CheckedApproveCashForm(ApproveCashForm):
    checked = _CHECKED


#: The "find a person" page's one field: a code, or a part of a name (a few words).
MAX_FIND = 100
#: The list of codes typed or pasted: up to a thousand codes of 12 digits, with their separators.
MAX_CODES_TEXT = 20_000


class FindPersonForm(BaseForm):
    """The "find a person" page's search (a GET form: nothing changes, no CSRF token). ``district``: the district a
    supervisor or an admin searches by name in (required then, by the view; not for a code); a caseworker's is their
    own, and the page does not show them the field."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Mã số BHXH, số CMND/CCCD hoặc họ tên"),
        validators=free_text(MAX_FIND, required=_l("Hãy ghi mã số BHXH, số CMND/CCCD hoặc vài chữ trong họ tên.")),
        render_kw={"autocomplete": "off"},
    )
    district = district_field()

    def validate_district(self, field: Any) -> None:
        district_in_scope(field)


class FindPeopleForm(BaseForm):
    """The "find a person" page's list: codes typed or pasted, and/or a spreadsheet whose first column holds them (a
    POST form: the list may be long, and the look-up of many people is recorded)."""

    codes = TextAreaField(
        _l("Danh sách mã số BHXH hoặc số CMND/CCCD"),
        validators=[
            Optional(),
            Length(max=MAX_CODES_TEXT, message=_l("Danh sách dài quá 20.000 ký tự (tối đa 1.000 mã).")),
        ],
        render_kw={"rows": 6, "autocomplete": "off", "spellcheck": "false"},
    )
    file = FileField(
        _l("Hoặc tệp danh sách (.xlsx hoặc .csv)"),
        validators=[FileAllowed(["xlsx", "csv"], _l("Tệp phải là bảng tính .xlsx hoặc .csv."))],
    )
