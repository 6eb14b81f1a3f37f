"""A table's caption never repeats the heading just above it (a screen reader would read the same words twice, and
the reviewer heard "Đơn vị chi trả, Đơn vị chi trả"): the heading names the table instead (``aria-labelledby``)."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
#: Template folders the check leaves out (none).
ELSEWHERE: tuple[str, ...] = ()

_TAG = re.compile(r"<(h[1-6]|caption)\b[^>]*>(.*?)</\1>", re.S)


def _words(markup: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", markup)).strip()


def repeated_captions(text: str) -> list[str]:
    """The captions of a template that say what the heading before them says."""
    repeated, heading = [], None
    for tag, inner in _TAG.findall(text):
        if tag == "caption":
            if heading is not None and _words(inner) == heading:
                repeated.append(heading)
        else:
            heading = _words(inner)
    return repeated


def test_the_check_finds_a_repeated_caption():
    page = '<h2 id="t">{{ _("Hàng đợi") }}</h2><table><caption class="visually-hidden">{{ _("Hàng đợi") }}</caption>'
    assert repeated_captions(page) == ['{{ _("Hàng đợi") }}']
    assert repeated_captions('<h2>{{ _("Hồ sơ") }}</h2><table><caption>{{ _("Theo lý do") }}</caption>') == []


def test_no_caption_repeats_the_heading_above_it():
    found = {
        str(path.relative_to(TEMPLATES)): repeated
        for path in TEMPLATES.rglob("*.html")
        if path.relative_to(TEMPLATES).parts[0] not in ELSEWHERE
        and (repeated := repeated_captions(path.read_text(encoding="utf-8")))
    }
    assert found == {}
    assert len(list(TEMPLATES.rglob("*.html"))) > 40
