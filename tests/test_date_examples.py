"""Every date field's format error gives an example the field takes: "ví dụ 20/11/2021" was said to a request for
information's due day, which refuses every past day. The test finds every form with a day field (every module of the
app imported), sends it a day not written as one, and sends the example its error names back: the field takes it.
Hypothesis moves the programme's clock and the programme's last payable day (the due day's range)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms.fields.core import UnboundField

import disburse
from disburse.forms import BaseForm, DayField


def _day_forms() -> list[tuple[type[BaseForm], str]]:
    """(form, field name) for every day field of every form in the app."""
    for module in pkgutil.walk_packages(disburse.__path__, "disburse."):
        importlib.import_module(module.name)
    found = set()
    stack = list(BaseForm.__subclasses__())
    while stack:
        form = stack.pop()
        stack += form.__subclasses__()
        for name, value in inspect.getmembers(form):
            if isinstance(value, UnboundField) and issubclass(value.field_class, DayField):
                found.add((form, name))
    return sorted(found, key=lambda pair: (pair[0].__module__, pair[0].__qualname__, pair[1]))


DAY_FORMS = _day_forms()
_EXAMPLE = re.compile(r"(?:ví dụ|e\.g\.|for example) ([0-9]{2}/[0-9]{2}/[0-9]{4})", re.IGNORECASE)


def _field_after(form_class: type[BaseForm], name: str, value: str, last_day: date | None) -> Any:
    """The field ``name`` of ``form_class`` after it validated ``value`` sent in it."""
    kwargs: dict[str, Any] = {"meta": {"csrf": False}}
    if "last_day" in inspect.signature(form_class.__init__).parameters:
        kwargs["last_day"] = last_day
    form = form_class(formdata=MultiDict({name: value}), **kwargs)
    # The one field, as the form's validate runs it (its validators and the form's validate_<name>): the form's other
    # fields (their choices set by a view) are not the matter here.
    inline = getattr(form_class, f"validate_{name}", None)
    form[name].validate(form, [inline] if inline is not None else [])
    return form[name]


def test_the_walk_finds_the_day_fields():
    names = {f"{form.__qualname__}.{name}" for form, name in DAY_FORMS}
    assert {
        "RequestInfoForm.due_on",
        "IdentityForm.date_of_birth",
        "AuditFilterForm.since",
        "TargetForm.target_date",
    } <= names


@pytest.mark.parametrize(("form_class", "name"), DAY_FORMS, ids=[f"{f.__qualname__}.{n}" for f, n in DAY_FORMS])
@pytest.mark.parametrize("locale", ["vi", "en"])
@settings(max_examples=25, deadline=None)
@given(
    today=st.dates(min_value=date(2021, 9, 1), max_value=date(2023, 6, 30)),
    last_after=st.one_of(st.none(), st.integers(min_value=-30, max_value=400)),
    typed=st.sampled_from(["20/11", "2021/11/20", "hôm nay", "20 11 21", "1/1/21"]),
)
def test_the_format_error_s_example_is_a_day_the_field_takes(
    app: Flask, form_class, name, locale, today, last_after, typed
):
    last_day = None if last_after is None else today + timedelta(days=last_after)
    before, app.config["DISBURSE_TODAY"] = app.config.get("DISBURSE_TODAY"), today
    try:
        with app.test_request_context(headers={"Accept-Language": locale}):
            field = _field_after(form_class, name, typed, last_day)
            assert len(field.errors) == 1, field.errors
            said = str(field.errors[0])
            example = _EXAMPLE.search(said)
            if example is None:
                # No example only when the field takes no day at all (the programme's last day is past).
                assert last_day is not None and last_day < today, said
                assert "dd/mm/yyyy" in said
                return
            assert _field_after(form_class, name, example[1], last_day).errors == [], (said, example[1])
    finally:
        app.config["DISBURSE_TODAY"] = before


def test_a_due_day_s_example_is_not_past(app: Flask):
    """The case that was wrong: the request for information's due day was told 20/11/2021, a day it refused."""
    from disburse.casework.forms import RequestInfoForm

    before, app.config["DISBURSE_TODAY"] = app.config.get("DISBURSE_TODAY"), date(2022, 3, 1)
    try:
        with app.test_request_context():
            field = _field_after(RequestInfoForm, "due_on", "20/11", date(2022, 6, 30))
            assert field.errors == ["Ngày ghi theo dạng dd/mm/yyyy, ví dụ 01/03/2022."]
            birth = _field_after(
                next(f for f, n in DAY_FORMS if f.__qualname__ == "IdentityForm"), "date_of_birth", "20/11", None
            )
            assert birth.errors == ["Ngày ghi theo dạng ngày/tháng/năm, ví dụ 20/11/1985."]
    finally:
        app.config["DISBURSE_TODAY"] = before
