"""The user guides (docs/guide/) say what the pages say: a guide that quotes a button, a heading or a state the pages no
longer show, names a page the app does not have, or links a file or a heading that is not there fails here.

The convention the guides follow (docs/guide/README.md says it too): every label quoted from the pages is written
inside «…», Vietnamese in the Vietnamese guides (``employer.vi.md``…) and English in the English ones
(``employer.en.md``…). A label is true when it is

- a message of the catalogue (a Vietnamese msgid for a .vi guide, an English msgstr for an .en guide), a label with
  placeholders (``%(date)s``) matching any value put in their place, e.g. «Hạn gửi Mẫu số 02: 15/10/2021, còn 3 ngày
  làm việc.»;
- or a string written in the code side by side in both languages (the claim states' labels, the person's page's
  words: ``("Cần tài khoản ngân hàng", "Bank account needed")``), placeholders ``{office}`` matching any value;
- or text written literally in a template (``XLSX``).

Every page path in backquotes (``/employers/<unit>/form-02``) must be a route of the app, a ``<…>`` part standing for
any value. Each .vi guide has its .en twin with as many sections (``## `` headings) and the same images; every image
exists, and every relative link (to a file, and to a heading's anchor) resolves.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ROOT / "docs" / "guide"
CATALOG = ROOT / "disburse" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
AUDIENCES = ("employer", "caseworker", "supervisor", "worker")
#: Each audience's guide in Vietnamese and in English (named in full: a file name is what the docs test of
#: tests/test_boundaries.py checks exists).
PAIRS = [
    (GUIDES / "employer.vi.md", GUIDES / "employer.en.md"),
    (GUIDES / "caseworker.vi.md", GUIDES / "caseworker.en.md"),
    (GUIDES / "supervisor.vi.md", GUIDES / "supervisor.en.md"),
    (GUIDES / "worker.vi.md", GUIDES / "worker.en.md"),
]
#: Every Markdown file whose links are checked: the guides, their index, the docs' index and the README.
LINKED = [
    *(path for pair in PAIRS for path in pair),
    GUIDES / "README.md",
    ROOT / "docs" / "README.md",
    ROOT / "README.md",
]

QUOTED = re.compile(r"«([^»]+)»")
PAGE_PATH = re.compile(r"`(/(?:[^`\s<]|<[^>`]*>)*)`")  # a `<…>` part may hold spaces: `<mã đơn vị>`
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
PERCENT_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
BRACE_PLACEHOLDER = re.compile(r"\{\w*\}")


def _pattern(text: str, placeholder: re.Pattern[str]) -> re.Pattern[str] | None:
    """``text`` with each placeholder matching any non-empty value; None when it has none."""
    parts = placeholder.split(text)
    if len(parts) == 1 or not any(ch.isalpha() for part in parts for ch in part):
        return None  # no placeholder, or nothing but placeholders and punctuation ("%(a)s · %(b)s" matches anything)
    return re.compile(".+?".join(re.escape(part) for part in parts), re.DOTALL)


class Labels:
    """The texts a guide may quote: exact strings, and patterns for those with placeholders."""

    def __init__(self) -> None:
        self.exact: set[str] = set()
        self.patterns: list[re.Pattern[str]] = []
        self.templates = ""

    def add(self, text: str, placeholder: re.Pattern[str]) -> None:
        text = " ".join(text.split())
        if not text:
            return
        self.exact.add(text)
        pattern = _pattern(text, placeholder)
        if pattern is not None:
            self.patterns.append(pattern)

    def has(self, label: str) -> bool:
        label = " ".join(label.split())
        if label in self.exact or label in self.templates:
            return True
        return any(pattern.fullmatch(label) for pattern in self.patterns)


def _side_by_side() -> Iterator[tuple[str, str]]:
    """Every pair of string literals written ``("Vietnamese", "English")`` in the package (implicitly concatenated
    literals are one string to ``ast``)."""
    for path in (ROOT / "disburse").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Tuple) and len(node.elts) == 2):
                continue
            vi, en = (elt.value if isinstance(elt, ast.Constant) else None for elt in node.elts)
            if isinstance(vi, str) and isinstance(en, str):
                yield vi, en


@cache
def labels() -> dict[str, Labels]:
    """The labels of each language: ``vi`` (msgids, the Vietnamese of the code's pairs, templates) and ``en``
    (msgstrs, the English of the pairs, templates)."""
    known = {"vi": Labels(), "en": Labels()}
    with CATALOG.open("rb") as po:
        for message in read_po(po):
            if not message.id:
                continue
            # A plural message's id and string are tuples (singular, plural): every form is a label.
            for lang, texts in (("vi", message.id), ("en", message.string)):
                for text in texts if isinstance(texts, (tuple, list)) else (texts,):
                    if isinstance(text, str):
                        known[lang].add(text, PERCENT_PLACEHOLDER)
    for vi, en in _side_by_side():
        known["vi"].add(vi, BRACE_PLACEHOLDER)
        known["en"].add(en, BRACE_PLACEHOLDER)
    templates = " ".join(
        " ".join(path.read_text(encoding="utf-8").split()) for path in (ROOT / "templates").rglob("*.html")
    )
    for language in known.values():
        language.templates = templates
    return known


def _language(path: Path) -> str:
    return path.name.split(".")[-2]  # "employer.vi.md": "vi"


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped (letters of any script, digits, spaces,
    hyphens and underscores kept), each space a hyphen."""
    kept = "".join(ch for ch in heading.strip().lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            slug = _slug(line.lstrip("#"))
            anchor, n = slug, 1
            while anchor in anchors:
                anchor, n = f"{slug}-{n}", n + 1
            anchors.add(anchor)
    return anchors


def _sections(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]


@pytest.mark.parametrize("path", [path for pair in PAIRS for path in pair], ids=lambda p: p.name)
def test_quoted_labels_are_on_the_pages(path: Path) -> None:
    """Each «label» of a guide is a message the pages show, in the guide's language."""
    known = labels()[_language(path)]
    quoted = QUOTED.findall(path.read_text(encoding="utf-8"))
    assert quoted, f"{path.name} quotes no label"
    missing = [label for label in quoted if not known.has(label)]
    assert not missing, f"{path.name}: labels the pages do not show: {missing}"


def test_a_renamed_label_is_caught() -> None:
    """The check is not vacuous: a label the catalogue lacks, in either language, is not found."""
    assert labels()["vi"].has("Gửi Mẫu số 02")
    assert labels()["en"].has("Send Form 02")
    assert labels()["vi"].has("Hạn gửi Mẫu số 02: 15/10/2021, còn 3 ngày làm việc.")
    assert not labels()["vi"].has("Nộp Mẫu số 02 ngay")
    assert not labels()["en"].has("Submit Form 02 now")


@pytest.mark.parametrize("path", [path for pair in PAIRS for path in pair], ids=lambda p: p.name)
def test_page_paths_are_routes(app: Flask, path: Path) -> None:
    """Each page path a guide names in backquotes is a route of the app, as the app matches a request's path (a
    ``<…>`` part stands for a value: a number, which every converter of the app takes). A path only a redirect would
    reach (a missing final slash) is not one."""
    adapter = app.url_map.bind("localhost")
    named = PAGE_PATH.findall(path.read_text(encoding="utf-8"))
    assert named, f"{path.name} names no page"
    unknown = []
    for page in named:
        concrete = re.sub(r"<[^>]+>", "1", page.split("?")[0].split("#")[0])
        try:
            adapter.match(concrete, method="GET")
        except MethodNotAllowed:
            pass  # a route, for another method
        except (NotFound, RequestRedirect):
            unknown.append(page)
    assert not unknown, f"{path.name}: pages the app does not have: {unknown}"


@pytest.mark.parametrize(("vi", "en"), PAIRS, ids=AUDIENCES)
def test_each_guide_has_its_english_twin(vi: Path, en: Path) -> None:
    """Both languages exist, with as many sections and the same screenshots in the same order."""
    assert vi.exists() and en.exists()
    assert len(_sections(vi)) == len(_sections(en)), (
        f"{vi.name} has {len(_sections(vi))} sections, {en.name} {len(_sections(en))}"
    )
    assert IMAGE.findall(vi.read_text(encoding="utf-8")) == IMAGE.findall(en.read_text(encoding="utf-8"))
    assert f"({en.name})" in vi.read_text(encoding="utf-8") and f"({vi.name})" in en.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", LINKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_and_images_resolve(path: Path) -> None:
    """Every relative link and image of the guides and the indexes points at a file that exists, and an anchor at a
    heading of that file."""
    broken = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: outside the repository
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        missing_anchor = bool(anchor) and linked.suffix.lstrip(".") == "md" and anchor not in _anchors(linked)
        if not linked.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{path.relative_to(ROOT)}: broken links {broken}"


def test_guides_are_indexed() -> None:
    """docs/guide/README.md links every guide; docs/README.md and the README link the guides."""
    index = (GUIDES / "README.md").read_text(encoding="utf-8")
    for vi, en in PAIRS:
        assert f"({vi.name})" in index and f"({en.name})" in index
    assert "guide/README.md" in (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    assert "docs/guide/" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_screenshots_are_small_pngs() -> None:
    """The guides' screenshots: at most six PNGs, each under 250 KB."""
    shots = sorted((ROOT / "docs" / "screenshots").glob("guide-*.png"))
    assert 0 < len(shots) <= 6
    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot.name
        assert shot.stat().st_size < 250 * 1024, shot.name
