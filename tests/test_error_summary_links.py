"""Where an error summary's link takes the focus, in both summaries (``components/forms.html``, the employer's and
the others' pages; ``caseworker/_macros.html``): a field's own id; in a radio group, its checked choice, else its
first. A link to the first choice of a group with another one checked put the keyboard on an unchecked radio, one
arrow key from changing the answer."""

from __future__ import annotations

import re

import pytest
from flask import render_template_string
from werkzeug.datastructures import MultiDict
from wtforms import Form, RadioField, StringField
from wtforms.fields.choices import SelectChoice


class _Form(Form):
    kind = RadioField("Loại", choices=[SelectChoice(v, v.upper()) for v in "abc"])
    empty = RadioField("Không có lựa chọn", choices=[])
    name = StringField("Tên")


def _links(app, source: str, data: dict[str, str]) -> list[str]:
    form = _Form(MultiDict(data))
    for field in form:
        field.errors = [f"Lỗi ở {field.name}."]
    with app.test_request_context():
        page = render_template_string(source, form=form)
    return re.findall(r'<a href="#([^"]*)">', page)


SUMMARIES = {
    "components": '{% from "components/forms.html" import error_summary %}{{ error_summary([form]) }}',
    "caseworker": '{% from "caseworker/_macros.html" import error_summary %}{{ error_summary(form) }}',
}


@pytest.mark.parametrize("summary", SUMMARIES)
def test_a_radio_group_s_error_links_to_its_checked_choice(app, summary):
    assert _links(app, SUMMARIES[summary], {"kind": "c", "name": "x"}) == ["kind-2", "empty", "name"]


@pytest.mark.parametrize("summary", SUMMARIES)
def test_a_radio_group_with_nothing_checked_links_to_its_first_choice(app, summary):
    assert _links(app, SUMMARIES[summary], {"name": "x"}) == ["kind-0", "empty", "name"]
    # A value that is none of its choices checks nothing either.
    assert _links(app, SUMMARIES[summary], {"kind": "z"})[0] == "kind-0"
