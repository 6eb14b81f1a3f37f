"""The person's page: new bank details sent by the person themselves, for a caseworker to confirm
(:mod:`disburse.claims.person_details`). Public: anyone may open it; tries are limited per address."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from wtforms import SelectField, StringField
from wtforms.validators import Length

from disburse.auth.permissions import public
from disburse.claims.person_details import input_errors, offer_payment_details
from disburse.extensions import db, limiter
from disburse.forms import BaseForm, DayField, form_again_when_limited, seconds_to_wait
from disburse.programs.service import get_program
from disburse.reference.service import bank_choices

bp = Blueprint("people", __name__, url_prefix="/people")

_TOO_LONG = _l("Tối đa %(max)d ký tự.")


class PersonDetailsForm(BaseForm):
    # Digits on a phone's keypad (the SI code's and the ID's leading zeros are kept: text, not a number field).
    si_code = StringField(
        _l("Mã số BHXH"), validators=[Length(max=20, message=_TOO_LONG)], render_kw={"inputmode": "numeric"}
    )
    national_id = StringField(
        _l("Số CMND/CCCD"), validators=[Length(max=20, message=_TOO_LONG)], render_kw={"inputmode": "numeric"}
    )
    date_of_birth = DayField(_l("Ngày sinh (dd/mm/yyyy)"), past=True)
    bank_code = SelectField(_l("Ngân hàng"), validate_choice=False)
    bank_account = StringField(
        _l("Số tài khoản"), validators=[Length(max=40, message=_TOO_LONG)], render_kw={"inputmode": "numeric"}
    )
    phone = StringField(
        _l("Số điện thoại liên hệ (nếu đã đổi số)"),
        validators=[Length(max=20, message=_TOO_LONG)],
        render_kw={"inputmode": "tel"},
    )


def _pick(pair: tuple[str, str]) -> str:
    return pair[1] if str(get_locale()) == "en" else pair[0]


def _limit() -> str:
    return str(current_app.config["LIMIT_PERSON_DETAILS_PER_ADDRESS"])


@bp.route("/payment-details", methods=["GET", "POST"])
@form_again_when_limited
@public
@limiter.limit(_limit, key_func=get_remote_address, methods=["POST"])
def payment_details() -> ResponseReturnValue:
    form = PersonDetailsForm()
    form.bank_code.choices = bank_choices()
    context: dict[str, Any] = {"form": form, "sent": False}
    if not form.is_submitted():
        return render_template("people/payment_details.html", **context)
    values: dict[str, Any] = {
        "si_code": form.si_code.data or "",
        "national_id": form.national_id.data or "",
        "date_of_birth": form.date_of_birth.data,
        "bank_code": form.bank_code.data or "",
        "bank_account": form.bank_account.data or "",
        "phone": form.phone.data or "",
    }
    valid = form.validate()
    if seconds_to_wait() is not None:  # shown again after a rate limit: what was sent, unchecked, nothing done
        return render_template("people/payment_details.html", **context)
    # Every error at once: the service's checks too, even when the form's own (a date, a length) failed.
    errors = input_errors(**values)
    if valid and not errors:
        offer_payment_details(get_program(current_app.config["DISBURSE_PROGRAM"]), **values)
        db.session.commit()
        # The same answer whether or not anything matched: the page tells nobody who is in the registry.
        return render_template("people/payment_details.html", form=form, sent=True)
    for name, pair in errors.items():
        field = form._fields[name]
        if not field.errors:
            field.errors = [*field.errors, _pick(pair)]
    return render_template("people/payment_details.html", **context), 422
