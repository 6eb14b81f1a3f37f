"""A note, a reason or an answer holds no hidden character: a right-to-left override or a zero-width space in a
caseworker's note read as something it is not to the next caseworker and on a printed notice. Every free-text field
of every form (:func:`disburse.forms.free_text`) and every note of the API (``NO_CONTROL``) refuses every control
character but tab and line breaks, and every format character (Unicode Cc, Cf); the text people write passes."""

from __future__ import annotations

import re
from typing import Annotated

from hypothesis import given
from hypothesis import strategies as st
from pydantic import StringConstraints, TypeAdapter, ValidationError
from werkzeug.datastructures import MultiDict
from wtforms import TextAreaField
from wtforms.validators import Regexp

import disburse.forms
from disburse.api.schemas import NO_CONTROL
from disburse.auth.text import NO_HIDDEN_TEXT, NoHiddenCharacters
from disburse.forms import BaseForm, free_text

#: A hidden character: a control but tab, line feed and carriage return, or a format character.
hidden = st.characters(categories=["Cc", "Cf"]).filter(lambda c: c not in "\t\n\r")
#: What people write in a note: Vietnamese letters, digits, punctuation, spaces and line breaks.
written = st.text(st.sampled_from("aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạễệỗộờởỡợ ABCĐ0123456789.,;:-()/\n\t"), max_size=30)
API_NOTE = TypeAdapter(Annotated[str, StringConstraints(pattern=NO_CONTROL)])


class _Note(BaseForm):
    """A note as the pages' forms take it (a BaseForm: its text stripped, then checked)."""

    class Meta:
        csrf = False

    note = TextAreaField(validators=free_text(200))


def _read(text: str) -> tuple[bool, str]:
    """Whether the form takes ``text``, and what it keeps of it."""
    form = _Note(formdata=MultiDict({"note": text}))
    return form.validate(), form.note.data or ""


@given(before=written, character=hidden, after=written)
def test_every_hidden_character_is_refused_in_a_note_of_a_form_and_of_the_api(app, before, character, after):
    text = before + character + after
    with app.test_request_context():
        taken, kept = _read(text)
    # Refused; or, a text of one control Python counts as white space (U+001C to U+001F), stripped to nothing.
    assert not taken or character not in kept
    assert re.match(NO_HIDDEN_TEXT, text) is None
    try:
        API_NOTE.validate_python(text)
    except ValidationError:
        pass
    else:
        raise AssertionError(f"the API took U+{ord(character):04X}")


@given(text=written)
def test_what_people_write_passes(app, text):
    with app.test_request_context():
        assert _read(text)[0]
    assert API_NOTE.validate_python(text) == text


def test_every_free_text_field_takes_the_check():
    """free_text is the one place: every validator list it gives holds the check (and the control characters' own)."""
    validators = free_text(10) + free_text(10, required="x")
    assert sum(isinstance(v, NoHiddenCharacters) for v in validators) == 2
    assert sum(isinstance(v, Regexp) and v.regex.pattern == disburse.forms._NO_CONTROL for v in validators) == 2
