"""Every form of every feature, rendered: no field carries ``maxlength`` or ``minlength``. A browser cuts a pasted
value at maxlength without a word (a 60-character receipt number was recorded as its first 40 characters); the
server's Length check refuses the whole value and says why on the field."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import wtforms

import disburse

ROOT = Path(__file__).resolve().parent.parent


def _form_classes() -> list[type[wtforms.Form]]:
    for module in pkgutil.walk_packages(disburse.__path__, "disburse."):
        importlib.import_module(module.name)
    found, todo = [], [wtforms.Form]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("disburse."):
                found.append(sub)
    return found


def test_no_form_field_is_rendered_with_a_length_limit_the_browser_would_enforce(app):
    classes = _form_classes()
    assert len(classes) > 30  # every feature's forms were found
    lengths = 0
    with app.test_request_context():
        for cls in classes:
            form = cls(formdata=None, meta={"csrf": False})
            for field in form:
                lengths += any(isinstance(v, wtforms.validators.Length) for v in field.validators)
                if getattr(field, "choices", ()) is None:
                    field.choices = []
                html = str(field())
                assert "maxlength" not in html and "minlength" not in html, (cls.__name__, field.name, html)
    assert lengths > 20  # the forms do check lengths: on the server


def _field_order(form_class: type[wtforms.Form]) -> list[str]:
    """The fields as the form lists them (and the error summary its errors): in the order they were made."""
    fields: dict[str, Any] = {}
    for klass in reversed(form_class.__mro__):
        fields.update({n: v for n, v in vars(klass).items() if isinstance(v, wtforms.fields.core.UnboundField)})
    return [name for name, _ in sorted(fields.items(), key=lambda item: (item[1].creation_counter, item[0]))]


def test_every_form_lists_its_fields_in_the_order_its_page_asks_for_them():
    """The error summary at the top of a page lists the errors in the form's order: a page asking for its fields in
    another order sends the reader up and down (a new user's e-mail, asked first, was listed last). Each template's
    form is the form class whose fields are exactly those the template renders."""
    orders = {form_class: _field_order(form_class) for form_class in _form_classes()}
    compared = 0
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        for variable in sorted(set(re.findall(r"\b(\w*form)\.\w+", text))):
            asked: list[str] = []
            for name in re.findall(rf"\b{variable}\.(\w+)", text):
                if name not in asked:
                    asked.append(name)
            for form_class, order in orders.items():
                fields = [name for name in order if name != "csrf_token"]
                # What the template asks of the variable but the form's methods (hidden_tag, errors, ...).
                page = [name for name in asked if name in fields or not hasattr(form_class, name)]
                if len(fields) >= 2 and set(page) == set(fields):
                    compared += 1
                    assert page == fields, (template.name, form_class.__name__, page)
    assert compared > 10  # the templates' forms were found (those rendered field by field)
