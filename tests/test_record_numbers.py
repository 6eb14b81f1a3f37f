"""A record's number, wherever a person or a program can write one (a path, a form's number field), is bounded before
PostgreSQL sees it: a number past a column's range was a 500 (``/jobs/9223372036854775808``, a recovery's hidden
step), and Werkzeug's ``<int:>`` took any Unicode digit (``/admin/users/٣/deactivate`` deactivated user 3)."""

from __future__ import annotations

import inspect
import re

import pytest
from werkzeug.routing import IntegerConverter
from wtforms import Form, IntegerField
from wtforms.validators import NumberRange

from tests.conftest import PASSWORD, sign_in
from tests.factories import create_user

#: Past a bigint, past an integer (the programmes' ids), an Arabic-Indic three, a leading zero, zero.
ODD_NUMBERS = ["9223372036854775808", "99999999999999999999", "2147483648", "٣", "03", "0"]


@pytest.mark.parametrize("role", ["admin", "caseworker", "supervisor", "employer"])
def test_no_record_number_in_a_path_is_a_500(app, client, db_session, role):
    scope = {"district": "017"} if role == "caseworker" else {}
    sign_in(client, create_user(role, password=PASSWORD, **scope))
    answers: dict[str, int] = {}
    for rule in app.url_map.iter_rules():
        if not any(isinstance(converter, IntegerConverter) for converter in rule._converters.values()):
            continue
        for number in ODD_NUMBERS:
            path = re.sub(r"<int(\([^)]*\))?:[a-z_]+>", number, rule.rule)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                answer = client.open(path, method=method, data={"seen": number, "confirmed": "1"})
                answers[f"{method} {path}"] = answer.status_code
    assert answers, "routes with a record number"
    assert {key: code for key, code in answers.items() if code >= 500} == {}
    # Not one of them names a record: never found, the way an unknown number is.
    assert {key: code for key, code in answers.items() if key.startswith("GET") and code == 200} == {}


def _product_forms() -> list[type[Form]]:
    import disburse

    found: set[type[Form]] = set()
    todo = [Form]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith(disburse.__name__ + "."):
                found.add(sub)
    return sorted(found, key=lambda form: (form.__module__, form.__qualname__))


def test_every_number_field_of_a_form_has_a_range(app):
    """A number field without a maximum passes any size to the query or the column behind it."""
    from disburse import create_app  # noqa: F401 - every blueprint's forms are imported with the app

    unbounded = []
    for form in _product_forms():
        for name, field in inspect.getmembers(form):
            if getattr(field, "field_class", None) is IntegerField or (
                inspect.isclass(getattr(field, "field_class", None)) and issubclass(field.field_class, IntegerField)
            ):
                validators = field.kwargs.get("validators") or (field.args[1] if len(field.args) > 1 else [])
                ranges = [v for v in validators if isinstance(v, NumberRange) and v.max is not None]
                if not ranges:
                    unbounded.append(f"{form.__module__}.{form.__qualname__}.{name}")
    assert _product_forms(), "the product's forms"
    assert unbounded == []
