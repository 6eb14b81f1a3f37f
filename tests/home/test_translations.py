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


def test_compiled_catalog_matches_the_po_file():
    with PO.open("rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id and m.string}
    with MO.open("rb") as fh:
        mo = {m.id: m.string for m in read_mo(fh) if m.id}
    assert mo == po, "run: .venv/bin/pybabel compile -d disburse/translations"
