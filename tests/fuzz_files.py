"""Hypothesis strategies for hostile and careless files, shared by the fuzz tests of every reader (the registry
import, the Form 02 return): arbitrary bytes, and a real workbook broken in its zip, its compressed streams or its
XML. A strategy gives a recipe, applied to the parts of a real workbook the test builds itself."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

Recipe = Callable[[dict[str, bytes]], bytes]


def workbook_parts(workbook: Any) -> dict[str, bytes]:
    """The parts of an openpyxl workbook, by name."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as source:
        return {info.filename: source.read(info.filename) for info in source.infolist()}


def zipped(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, part in parts.items():
            target.writestr(name, part)
    return out.getvalue()


def _changed(original: bytes, changes: list[tuple[int, bytes]]) -> bytes:
    data = bytearray(original)
    for at, replacement in changes:
        at %= max(len(data), 1)
        data[at : at + len(replacement)] = replacement
    return bytes(data)


def _in_part(parts: dict[str, bytes], pick: int, changes: list[tuple[int, bytes]]) -> bytes:
    name = sorted(parts)[pick % len(parts)]
    return zipped(parts | {name: _changed(parts[name], changes)})


_CHANGES = st.lists(st.tuples(st.integers(0, 1 << 20), st.binary(min_size=1, max_size=6)), min_size=1, max_size=4)

#: Any bytes a file named .xlsx may hold.
WORKBOOK_BYTES: st.SearchStrategy[Recipe] = st.one_of(
    st.binary(max_size=400).map(lambda data: lambda _parts: data),
    st.binary(max_size=400).map(lambda tail: lambda _parts: b"PK\x03\x04" + tail),
    # The zip's structure or its compressed streams broken.
    _CHANGES.map(lambda changes: lambda parts: _changed(zipped(parts), changes)),
    # One part's XML changed and zipped again, its checksum right: the change reaches the XML parser.
    st.tuples(st.integers(0, 100), _CHANGES).map(lambda pc: lambda parts: _in_part(parts, *pc)),
)

#: Any value a spreadsheet cell may hold.
CELL = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(),
)
