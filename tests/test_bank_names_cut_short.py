"""Banks written by name on Form 02, Form 03 and the registry import (all read reference.service.bank_names)."""

from __future__ import annotations

from sqlalchemy import select

from disburse.extensions import db
from disburse.reference.models import Bank
from disburse.reference.service import bank_code_of, bank_names


def test_a_bank_name_cut_short_is_no_other_banks(db_session):
    """ "Ngân hàng Sài Gòn" was taken as SCB (Ngân hàng TMCP Sài Gòn) and paid there, while a unit writing it may have
    meant Sacombank (Sài Gòn Thương Tín), Saigonbank (Sài Gòn Công Thương) or SHB (Sài Gòn - Hà Nội) cut short. Every
    bank's legal name cut after any of its words, with or without its "TMCP", is that bank or no bank at all."""

    names = bank_names()
    for code, name in db.session.execute(select(Bank.code, Bank.name)):
        words = name.partition(" (")[0].split()
        for cut in range(3, len(words) + 1):
            for written in (" ".join(words[:cut]), " ".join(w for w in words[:cut] if w != "TMCP")):
                assert bank_code_of(written, names) in {code, written.upper()}, (written, code)
    for cut_short in ("Ngân hàng Sài Gòn", "NH TMCP Sài Gòn", "Ngân hàng TMCP Sài Gòn"):
        assert bank_code_of(cut_short, names) == cut_short.upper()
    written_whole = {
        "SCB": "SCB",
        "Sacombank": "STB",
        "NH Sài Gòn Thương Tín": "STB",
        "Ngân hàng Sài Gòn - Hà Nội": "SHB",
    }
    assert {written: bank_code_of(written, names) for written in written_whole} == written_whole
