"""Every Vietnamese string a page or message shows has an English translation, and the compiled catalog is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "disburse/translations/en/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")


def test_every_message_in_the_code_has_an_english_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            str(pot),
            "--no-location",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    with PO.open("rb") as fh:
        translated = {m.id for m in read_po(fh) if m.id and m.string and not m.fuzzy}
    assert sorted(wanted - translated) == []


def _plain(value):
    """A message's id or string as a comparable value: a plural message's are sequences (one per form)."""
    return tuple(value) if isinstance(value, list | tuple) else value


def test_compiled_catalog_matches_the_po_file():
    with PO.open("rb") as fh:
        po = {_plain(m.id): _plain(m.string) for m in read_po(fh) if m.id and m.string}
    with MO.open("rb") as fh:
        mo = {_plain(m.id): _plain(m.string) for m in read_mo(fh) if m.id}
    assert mo == po, "run: .venv/bin/pybabel compile -d disburse/translations"


def test_a_count_of_one_reads_as_one_in_english():
    """English has a singular: the counted messages are plural messages, each with both forms."""
    with PO.open("rb") as fh:
        plural = [m for m in read_po(fh) if m.pluralizable]
    assert len(plural) >= 9
    for message in plural:
        one, many = message.string
        assert one and many and one != many, message.id


def test_no_template_rebinds_the_translation_function():
    """`{% set _ = list.append(…) %}` (a way to call a method in a template) replaced gettext's `_` for the rest of
    the loop: the queue failed ("'NoneType' object is not callable") on a row with a payment failure."""
    import re

    rebinding = re.compile(r"{%-?\s*set\s+_\s*=")
    templates = sorted((ROOT / "templates").rglob("*.html"))
    assert templates
    assert [str(t.relative_to(ROOT)) for t in templates if rebinding.search(t.read_text(encoding="utf-8"))] == []
