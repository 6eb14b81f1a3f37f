"""Every field of the admins' and supervisors' pages that takes a code of digits alone (its rule: a Regexp of digits,
such as a district's 3 or a province's 2) gives a phone its keypad (``inputmode="numeric"``; a text field, so the
leading zero stays) and no suggestions of the browser's own (``autocomplete="off"``), as the SI code and ID fields of
the caseworkers' and the units' pages do. The user pages' scope (district, province) showed a letter keyboard.

The fields are found from the forms' own rules, the pages by walking every GET page of the admin and dashboard
blueprints: a code-only field added to a form, or a page that shows one, is checked without being listed here."""

from __future__ import annotations

import inspect
import re
from html.parser import HTMLParser

from wtforms import StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import Regexp

from disburse.admin import forms as admin_forms
from disburse.dashboard import forms as dashboard_forms
from tests.conftest import PASSWORD, sign_in
from tests.factories import create_user

#: A rule that lets through digits alone: ``[0-9]{3}\Z``, ``\d{2}``, ``[0-9]+``.
_DIGITS_ONLY = re.compile(r"\^?(\[0-9\]|\\d)(\{\d+(,\d*)?\}|\+)?(\\Z|\$)?")


def code_only_fields() -> set[str]:
    """The names of the text fields of the admin and dashboard forms whose rule accepts digits alone."""
    names = set()
    for module in (admin_forms, dashboard_forms):
        for _, form in inspect.getmembers(module, inspect.isclass):
            for name, attribute in vars(form).items():
                if not isinstance(attribute, UnboundField) or not issubclass(attribute.field_class, StringField):
                    continue
                rules = [v for v in attribute.kwargs.get("validators") or () if isinstance(v, Regexp)]
                if any(_DIGITS_ONLY.fullmatch(rule.regex.pattern) for rule in rules):
                    names.add(name)
    return names


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str | None]] = [{}]
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.forms.append(dict(attrs))
        if tag == "input" and dict(attrs).get("type") in (None, "text", "search"):
            self.inputs.append({**dict(attrs), "form_autocomplete": self.forms[-1].get("autocomplete")})


def test_the_rule_finds_the_code_only_fields():
    assert {"district", "province"} <= code_only_fields()
    assert not {"full_name", "email", "percent", "month", "actor"} & code_only_fields()


def test_every_code_only_field_of_the_admin_and_dashboard_pages_gives_the_keypad(app, client, db_session):
    codes = code_only_fields()
    admin = create_user("admin", password=PASSWORD)
    other = create_user("caseworker", district="017", password=PASSWORD)
    sign_in(client, admin)
    pages = ["/admin/users/new", f"/admin/users/{other.id}"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("admin", "dashboard") and "GET" in rule.methods and not rule.arguments:
            with app.test_request_context():
                pages.append(app.url_for(rule.endpoint))
    seen, wrong = set(), []
    for url in dict.fromkeys(pages):
        page = client.get(url)
        if page.status_code != 200 or page.mimetype != "text/html":
            continue
        parser = _Inputs()
        parser.feed(page.get_data(as_text=True))
        for field in parser.inputs:
            if field.get("name") not in codes:
                continue
            seen.add(field["name"])
            if field.get("inputmode") != "numeric" or "off" not in (
                field.get("autocomplete"),
                field["form_autocomplete"],
            ):
                wrong.append((url, field["name"], field.get("inputmode"), field.get("autocomplete")))
    assert {"district", "province"} <= seen, seen  # the walk reached the user pages' scope
    assert wrong == []
