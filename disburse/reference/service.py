"""Reference data as the pages offer it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from flask_babel import gettext as _
from sqlalchemy import select

from disburse.extensions import db
from disburse.reference.models import Bank

#: The words before a bank's own name in its legal name ("Ngân hàng TNHH MTV Shinhan Việt Nam" → "Shinhan Việt Nam").
_LEGAL_FORM = re.compile(r"^Ngân hàng\s+((TMCP|TM TNHH MTV|TNHH MTV|TNHH)\s+)?")


def bank_choices() -> list[tuple[str, str]]:
    """The choices of a bank field: a first empty one asking to choose, then every bank by the name people call it,
    in that order ("Agribank · Ngân hàng Nông nghiệp … · VBA"): listed by code, Agribank sat under "V", and typing
    "Vietcom" on a select chose Vietbank."""
    banks = []
    for code, name in db.session.execute(select(Bank.code, Bank.name)):
        legal, _paren, brand = name.partition(" (")
        brand = brand.rstrip(")") or _LEGAL_FORM.sub("", legal)
        banks.append((bank_key(brand), code, f"{brand} · {legal} · {code}"))
    return [("", _("Chọn ngân hàng")), *((code, label) for _key, code, label in sorted(banks))]


def bank_key(written: str) -> str:
    """A bank as written, for comparing: without marks, case, spaces or punctuation ("NH TMCP Ngoại Thương" and
    "nh tmcp ngoai thuong" are one key)."""
    plain = unicodedata.normalize("NFD", written.replace("đ", "d").replace("Đ", "D"))
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in plain if not unicodedata.combining(c)).lower())


#: The words of a Vietnamese bank's legal name that people leave out or shorten ("NH TMCP Ngoại thương Việt Nam").
_NAME_WORDS = re.compile(r"^(ngan hang|nh)\s+((tmcp|tm tnhh mtv|tnhh mtv|tnhh)\s+)?")


def bank_names() -> dict[str, str]:
    """Every way a unit writes a bank in a spreadsheet, as :func:`bank_key`, to its code: the code ("VCB"), the NAPAS
    number (970436), the brand ("Vietcombank", "MB Bank"), the legal name with or without the brand, "NH" for "Ngân
    hàng", with or without "TMCP". A name two banks would share is neither's (:func:`shared_bank_names`), and so is a
    name that another bank's name begins with: "Ngân hàng (TMCP) Sài Gòn" is SCB's, cut short it is also Sacombank's
    (Sài Gòn Thương Tín), Saigonbank's (Sài Gòn Công Thương) or SHB's (Sài Gòn - Hà Nội); those banks are written by
    code or brand."""
    return {key: codes[0] for key, codes in _bank_ways().items() if len(codes) == 1}


def shared_bank_names() -> dict[str, tuple[str, ...]]:
    """The ways of writing a bank that several banks share (:func:`bank_names` takes none of them), as
    :func:`bank_key`, to those banks' codes in order: "Ngân hàng Sài Gòn" is SCB, SGICB, SHB or STB."""
    return {key: codes for key, codes in _bank_ways().items() if len(codes) > 1}


def _bank_ways() -> dict[str, tuple[str, ...]]:
    """Every way of writing a bank (:func:`bank_names`), as :func:`bank_key`, to the codes of the banks it may be."""
    banks = []
    for code, bin_, name in db.session.execute(select(Bank.code, Bank.bin, Bank.name)):
        legal, _, brand = name.partition(" (")
        plain = " ".join(filter(None, (bank_key(word) for word in legal.split())))
        rest = _NAME_WORDS.sub("", plain)
        # The name's core only after "Ngân hàng"/"NH": alone, "Sài Gòn", "Quân đội" or "Bảo Việt" are a branch's city,
        # a word or an insurer, never a bank.
        # ...with or without its "Việt Nam" ("Ngân hàng Ngoại thương", "NH Công thương").
        banks.append((code, bin_, name, legal, brand.rstrip(")"), {rest, rest.removesuffix(" viet nam")} - {""}))
    names: dict[str, set[str]] = {}
    for code, bin_, name, legal, brand, cores in banks:
        # The banks whose name goes on past this one's core: its legal name and shortenings may be theirs, cut short.
        longer = {
            other for other, *_, theirs in banks for their in theirs for core in cores if their.startswith(f"{core} ")
        }
        shortened = [legal]
        for core in cores:
            shortened += [f"{prefix} {core}" for prefix in ("ngan hang", "nh")]
            shortened += [f"{prefix} {kind} {core}" for prefix in ("ngan hang", "nh") for kind in ("tmcp", "tnhh mtv")]
        for way in shortened:
            names.setdefault(bank_key(way), set()).update({code, *longer})
        for way in [code, bin_, name, *([brand, f"{brand} bank"] if brand else [])]:
            if key := bank_key(way):
                names.setdefault(key, set()).add(code)
    return {key: tuple(sorted(codes)) for key, codes in names.items()}


@dataclass(frozen=True)
class KnownBanks:
    """The banks' codes a bank field takes (``code in banks``), and what its refusal of another text names: the
    banks a name several banks share may be (:meth:`sharing`, read only for such a refusal)."""

    codes: frozenset[str]

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def sharing(self, written: str) -> str:
        """The banks a name several banks share may be, as a message lists them ("SCB (Ngân hàng TMCP Sài Gòn), SGICB
        (Saigonbank), SHB (Ngân hàng TMCP Sài Gòn - Hà Nội), STB (Sacombank)"); "" for any other text."""
        shared, called = self._names
        return ", ".join(f"{code} ({called.get(code, code)})" for code in shared.get(bank_key(written), ()))

    @cached_property
    def _names(self) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
        """The shared names, and each bank's name as people call it: its brand ("Sacombank"), or its legal name when
        the brand is its code ("SCB": "Ngân hàng TMCP Sài Gòn"), so that a person can tell the banks apart."""
        called = {}
        for code, name in db.session.execute(select(Bank.code, Bank.name)):
            legal, _, brand = name.partition(" (")
            brand = brand.rstrip(")")
            called[code] = brand if brand and brand != code else legal
        return shared_bank_names(), called


def known_banks() -> KnownBanks:
    """The banks a bank field takes (:class:`KnownBanks`)."""
    return KnownBanks(frozenset(db.session.scalars(select(Bank.code))))


def bank_code_of(written: str, names: dict[str, str]) -> str:
    """The code of the bank ``written`` names (:func:`bank_names`), else ``written`` in capitals (refused as an unknown
    code, naming what was written)."""
    return names.get(bank_key(written), written.strip().upper())


def area_code(value: object, width: int) -> object:
    """A province's (``width`` 2) or district's (3) code with the leading zeros a spreadsheet or a hurried hand
    dropped put back ("1" → "01", "17" → "017"), as the registry import and the commands put them back; anything
    else as it came (None, or text that is not digits, for the field's own check to refuse in its words)."""
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and 0 < len(text) < width:
            return text.zfill(width)
    return value


#: The kinds of area a district's or province's name starts with, written in lower case inside a Vietnamese sentence.
_AREA_WORDS = ("huyện ", "quận ", "thị xã ", "thành phố ", "tỉnh ")


def area_in_sentence(name: str) -> tuple[str, str]:
    """An area's name inside a sentence, (Vietnamese, English): Vietnamese writes its kind in lower case, however the
    list capitalised it ("cơ quan BHXH huyện Đông Anh", "thành phố Bắc Kạn" for "Thành Phố Bắc Kạn"), the name
    itself as it is; English keeps the name."""
    for kind in _AREA_WORDS:
        if name[: len(kind)].lower() == kind:
            return kind + name[len(kind) :], name
    return name, name
