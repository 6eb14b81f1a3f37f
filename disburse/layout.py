"""What every page's layout (templates/base.html) needs to know about the page it draws.

A page that answers a form with errors says so first in its <title> ("Lỗi: …" / "Error: …", GOV.UK's pattern):
the title is the first thing a screen reader reads, and a browser tab shows it. Pages do not each decide this: the
layout asks :func:`page_has_errors`, which looks at what the view gave the template (any form with an error, and
the errors that belong to no field, which views pass as ``general`` or ``general_errors``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from jinja2 import pass_context
from jinja2.runtime import Context
from wtforms import Field, Form

#: Template variables that hold the errors belonging to no field (a refusal from a service, a conflict).
GENERAL_ERRORS = ("general", "general_errors")


def field_has_errors(field: Field) -> bool:
    """A field's errors, looking into a list of rows (FieldList) and a form within a form (FormField): their errors
    are the rows' own, which a view may add to after validation (a row the service refused)."""
    if field.type == "FieldList":
        return any(isinstance(e, str) for e in field.errors) or any(field_has_errors(entry) for entry in field)
    if field.type == "FormField":
        return form_has_errors(field.form)
    return bool(field.errors)


def form_has_errors(form: Form) -> bool:
    return bool(getattr(form, "form_errors", None)) or any(field_has_errors(field) for field in form)


def _forms(value: Any) -> list[Form]:
    """The forms in a template variable: a form, or the forms of a mapping (one form per record on a page)."""
    if isinstance(value, Form):
        return [value]
    if isinstance(value, Mapping):
        return [item for item in value.values() if isinstance(item, Form)]
    return []


@pass_context
def page_has_errors(context: Context) -> bool:
    """Whether the page being drawn answers a form with errors (see the module's docstring)."""
    if any(context.get(name) for name in GENERAL_ERRORS):
        return True
    return any(form_has_errors(form) for value in context.get_all().values() for form in _forms(value))


def register_layout(app: Flask) -> None:
    app.jinja_env.globals["page_has_errors"] = page_has_errors
