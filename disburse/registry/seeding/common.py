"""Helpers every generator of the seed uses: seeded generators, weighted lookup tables, permutations, text."""

from __future__ import annotations

import functools
import random
import unicodedata
from collections.abc import Sequence


def generator(seed: int, purpose: str) -> random.Random:
    """An independent generator per purpose (and per chunk), so each part of the data is reproducible alone."""
    return random.Random(f"{seed}:{purpose}")  # noqa: S311 - synthetic data, reproducible on purpose


@functools.lru_cache(maxsize=8192)
def ascii_slug(text: str) -> str:
    """'Thành phố Hà Nội' → 'thanhphohanoi' (for e-mail addresses)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def csv_field(text: str) -> str:
    """Quote a field the way csv.writer (QUOTE_MINIMAL) does."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def lookup_table(weights: Sequence[float], size: int) -> list[int]:
    """A table of ``size`` indexes in which index k appears in proportion to weights[k] (drawn with one
    getrandbits/random call instead of a cumulative search per row)."""
    total = float(sum(weights))
    table: list[int] = []
    acc = 0.0
    for k, w in enumerate(weights):
        acc += w
        upto = round(acc / total * size)
        table.extend([k] * (upto - len(table)))
    table.extend([len(weights) - 1] * (size - len(table)))
    return table


def permutation(modulus: int, rng: random.Random) -> tuple[int, int]:
    """(a, b) such that x ↦ (a·x + b) mod modulus is a bijection on [0, modulus) (modulus a power of ten)."""
    while True:
        a = rng.randrange(modulus // 10, modulus)
        if a % 2 and a % 5:
            return a, rng.randrange(modulus)
