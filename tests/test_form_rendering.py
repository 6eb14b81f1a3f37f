"""Every form of every feature, rendered: no field carries ``maxlength`` or ``minlength``. A browser cuts a pasted
value at maxlength without a word (a 60-character receipt number was recorded as its first 40 characters); the
server's Length check refuses the whole value and says why on the field."""

from __future__ import annotations

import importlib
import pkgutil

import wtforms

import disburse


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
