"""The person's pages, public (anyone may open them; tries are limited, see :mod:`disburse.auth.limits`): their own
claim's status (:mod:`disburse.claims.person_status`), and new bank details sent by the person themselves, for a
caseworker to confirm (:mod:`disburse.claims.person_details`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from wtforms import StringField
from wtforms.validators import Length

from disburse.auth.limits import person_status_per_person
from disburse.auth.permissions import public
from disburse.auth.views import remember_locale
from disburse.claims.outcomes import account_filter
from disburse.claims.person_details import (
    clean_identity,
    identity_errors,
    input_errors,
    offer_payment_details,
    period_ended,
)
from disburse.claims.person_status import find
from disburse.extensions import db, limiter
from disburse.formatting import dmy, say
from disburse.forms import BankField, BaseForm, DayField, form_again_when_limited, shown_again
from disburse.programs.service import get_program
from disburse.reference.service import bank_choices

bp = Blueprint("people", __name__, url_prefix="/people")

_TOO_LONG = _l("Tối đa %(max)d ký tự.")


class IdentityForm(BaseForm):
    """The three facts a person is found by."""

    # Digits on a phone's keypad (the SI code's and the ID's leading zeros are kept: text, not a number field).
    si_code = StringField(
        _l("Mã số BHXH"), validators=[Length(max=20, message=_TOO_LONG)], render_kw={"inputmode": "numeric"}
    )
    national_id = StringField(
        _l("Số CMND/CCCD"), validators=[Length(max=20, message=_TOO_LONG)], render_kw={"inputmode": "numeric"}
    )
    date_of_birth = DayField(_l("Ngày sinh (ngày/tháng/năm)"), past=True)


class PersonDetailsForm(IdentityForm):
    bank_code = BankField(_l("Ngân hàng"))
    bank_account = StringField(
        _l("Số tài khoản"),
        validators=[Length(max=40, message=_TOO_LONG)],
        filters=[account_filter],
        render_kw={"inputmode": "numeric"},
    )
    phone = StringField(
        _l("Số điện thoại liên hệ (nếu đã đổi số)"),
        validators=[Length(max=20, message=_TOO_LONG)],
        render_kw={"inputmode": "tel"},
    )


def _limit() -> str:
    return str(current_app.config["LIMIT_PERSON_DETAILS_PER_ADDRESS"])


def _status_limit() -> str:
    return str(current_app.config["LIMIT_PERSON_STATUS_PER_ADDRESS"])


def _form_bodies_only() -> None:
    """The person's pages take what their HTML form sends, nothing else: a JSON body (which Flask-WTF would read into
    the form) or an uploaded file in a field would slip past the per-SI-code limit, whose key reads the posted form
    (:func:`disburse.auth.limits.person_key`), or crash on a value that is not text. 415, nothing done."""
    if request.mimetype not in _FORM_TYPES or request.files:
        abort(415)


_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _errors_onto(form: BaseForm, errors: dict[str, tuple[str, str]]) -> None:
    """The service's errors (field → (vi, en)) onto the form's fields, in the page's language, after the form's own."""
    for name, pair in errors.items():
        field = form._fields[name]
        if not field.errors:
            field.errors = [*field.errors, say(*pair)]


def _carried() -> bool:
    """Whether the post is the status result's button carrying the three facts looked up (``carried``): it only
    opens this page filled in, checking and keeping nothing, so it is not one of the page's tries. Counted, a person
    who had a few tries on this page was refused the page by the status page's button."""
    return request.form.get("carried") == "1" and not request.files


@bp.route("/payment-details", methods=["GET", "POST"])
@form_again_when_limited
@public
@limiter.limit(_limit, key_func=get_remote_address, methods=["POST"], exempt_when=_carried)
def payment_details() -> ResponseReturnValue:
    form = PersonDetailsForm()
    form.bank_code.choices = bank_choices()
    context: dict[str, Any] = {"form": form, "sent": False}
    program = get_program(current_app.config["DISBURSE_PROGRAM"])
    if (ended := period_ended(program)) is not None:
        # After the last payable day nobody is paid: the page says so and takes nothing (the same for everyone).
        status = 409 if form.is_submitted() and not shown_again() else 200
        return render_template("people/payment_details.html", **context, ended=say(*ended)), status
    if not form.is_submitted():
        return render_template("people/payment_details.html", **context)
    if not shown_again():
        _form_bodies_only()
        if request.form.get("carried") == "1":
            # From the status page's result: the three facts looked up, filled in; nothing checked nor done yet.
            return render_template("people/payment_details.html", **context, carried=True)
    values: dict[str, Any] = {
        "si_code": form.si_code.data or "",
        "national_id": form.national_id.data or "",
        "date_of_birth": form.date_of_birth.data,
        "bank_code": form.bank_code.data or "",
        "bank_account": form.bank_account.data or "",
        "phone": form.phone.data or "",
    }
    valid = form.validate()
    if shown_again():  # shown again after a rate limit or an expired form: what was sent, unchecked, nothing done
        return render_template("people/payment_details.html", **context)
    # Every error at once: the service's checks too, even when the form's own (a date, a length) failed.
    errors = input_errors(**values)
    if valid and not errors:
        offer_payment_details(program, **values)
        db.session.commit()
        # The same answer whether or not anything matched: the page tells nobody who is in the registry.
        return render_template("people/payment_details.html", form=form, sent=True)
    _errors_onto(form, errors)
    return render_template("people/payment_details.html", **context), 422


@bp.route("/status", methods=["GET", "POST"])
@form_again_when_limited
@public
@limiter.limit(_status_limit, key_func=get_remote_address, methods=["POST"])
@person_status_per_person
def status() -> ResponseReturnValue:
    """A person's own status (:mod:`disburse.claims.person_status`): 404 with the form again when nobody matches."""
    form = IdentityForm()
    if not form.is_submitted() or shown_again():
        return render_template("people/status.html", form=form, found=None)
    _form_bodies_only()
    remember_locale(request.form.get("locale"))  # the result's language switch sends the look-up again
    si_code, national_id = clean_identity(form.si_code.data or "", form.national_id.data or "")
    valid = form.validate()
    errors = identity_errors(si_code, national_id, form.date_of_birth.data)
    if not valid or errors or form.date_of_birth.data is None:
        _errors_onto(form, errors)
        return render_template("people/status.html", form=form, found=None), 422
    program = get_program(current_app.config["DISBURSE_PROGRAM"])
    found = find(program, si_code, national_id, form.date_of_birth.data)
    if found is None:
        return render_template("people/status.html", form=form, found=None, not_found=True), 404
    # Its language switch sends the same look-up again (what the person typed, no more) rather than the empty form.
    typed = {"si_code": si_code, "national_id": national_id, "date_of_birth": dmy(form.date_of_birth.data)}
    return render_template(
        "people/status.html", form=IdentityForm(formdata=None), found=found, program=program, language_repost=typed
    )
