"""A registry file's bank written as units write it in Form 02 and Form 03 (a brand, the legal name with or without
"TMCP", "NH" for "Ngân hàng", the NAPAS number, any case, marks or none, decomposed marks) is stored as the bank's
code, on every path of the check (small file, big file raw or normalised) and on a re-import; a bank nobody
recognises is refused on its row, the message naming the value as written. The SQL key is the key of
:func:`disburse.reference.service.bank_key`."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from disburse.extensions import db
from disburse.reference.models import Bank
from disburse.reference.service import bank_key, bank_names
from disburse.registry import importer
from disburse.registry.imports.spec import BANK_KEY
from tests.registry.test_import_dates import WAYS, check_as, imported_unit
from tests.registry.test_import_support import employee_row, read_errors, write_csv

#: A bank cell as written → the code stored.
WRITTEN = {
    "VCB": "VCB",
    "Vietcombank": "VCB",
    "NH TMCP Ngoại thương Việt Nam": "VCB",
    "ngân hàng ngoại thương": "VCB",
    "970436": "VCB",
    " Vietinbank ": "ICB",
    "NGÂN HÀNG TMCP ĐẦU TƯ VÀ PHÁT TRIỂN VIỆT NAM": "BIDV",
    unicodedata.normalize("NFD", "Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam"): "VBA",
    "MB Bank": "MB",
    "tcb": "TCB",
    "Ngân hàng TMCP Á Châu (ACB)": "ACB",
}


def _banks(codes: list[str]) -> dict[str, str | None]:
    rows = db.session.execute(text("SELECT si_code, bank_code FROM employees WHERE si_code = ANY(:c)"), {"c": codes})
    return {si: bank for si, bank in rows}


@pytest.mark.parametrize("way", list(WAYS))
def test_a_bank_written_as_a_name_is_stored_as_its_code(
    db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    check_as(monkeypatch, way)
    unit = imported_unit(tmp_path)
    people = [employee_row(unit["unit_code"], bank_code=written) for written in WRITTEN]
    first = importer.import_file("employees", write_csv(tmp_path / "e.csv", "employees", people))
    assert (first.inserted, first.rejected) == (len(people), 0), first.errors
    stored = _banks([p["si_code"] for p in people])
    assert [stored[p["si_code"]] for p in people] == list(WRITTEN.values())

    # The same file again changes nothing: a name is its code, not a change of bank.
    again = importer.import_file("employees", write_csv(tmp_path / "e2.csv", "employees", people))
    assert (again.updated, again.unchanged, again.rejected) == (0, len(people), 0)
    # A name for another bank is a change of bank.
    people[0]["bank_code"] = "Techcombank"
    changed = importer.import_file("employees", write_csv(tmp_path / "e3.csv", "employees", people))
    assert (changed.updated, changed.rejected) == (1, 0)
    assert _banks([people[0]["si_code"]]) == {people[0]["si_code"]: "TCB"}


@pytest.mark.parametrize("way", list(WAYS))
def test_a_bank_nobody_recognises_is_refused_on_its_row_naming_it(
    db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    check_as(monkeypatch, way)
    unit = imported_unit(tmp_path)
    code = unit["unit_code"]
    # "Ngân hàng Sài Gòn" alone is SCB's core name after "Ngân hàng"; "Sài Gòn" alone is a city, never a bank.
    unknown = ["Ngân hàng Mặt Trăng", "Sài Gòn", "VCB2"]
    people = [employee_row(code), *(employee_row(code, bank_code=bank) for bank in unknown), employee_row(code)]
    errors = tmp_path / "errors.csv"
    result = importer.import_file("employees", write_csv(tmp_path / "e.csv", "employees", people), errors_out=errors)
    assert (result.inserted, result.rejected) == (2, 3)
    reported = read_errors(errors)
    assert [(e["row"], e["column"], e["value"], e["error_code"]) for e in reported] == [
        (str(row), "bank_code", bank, "bank_unknown") for row, bank in zip((3, 4, 5), unknown, strict=True)
    ]
    assert "Không rõ ngân hàng «Ngân hàng Mặt Trăng»" in reported[0]["message_vi"]
    assert "mã ngân hàng" in reported[0]["message_vi"] and "tên ngân hàng" in reported[0]["message_vi"]
    assert "The bank 'Ngân hàng Mặt Trăng' is not known" in reported[0]["message_en"]


@pytest.mark.parametrize("way", list(WAYS))
def test_a_name_several_banks_share_is_refused_as_such(
    db_session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    """ "Ngân hàng Sài Gòn" begins four banks' names: refused saying so, not as a bank nobody knows."""
    check_as(monkeypatch, way)
    unit = imported_unit(tmp_path)
    shared = ["Ngân hàng Sài Gòn", "NH TMCP SAI GON"]
    people = [employee_row(unit["unit_code"], bank_code=bank) for bank in shared]
    errors = tmp_path / "errors.csv"
    result = importer.import_file("employees", write_csv(tmp_path / "e.csv", "employees", people), errors_out=errors)
    assert (result.inserted, result.rejected) == (0, 2)
    reported = read_errors(errors)
    assert [(e["value"], e["error_code"]) for e in reported] == [(bank, "bank_shared") for bank in shared]
    assert "«Ngân hàng Sài Gòn» có thể là một trong nhiều ngân hàng" in reported[0]["message_vi"]
    assert "'Ngân hàng Sài Gòn' may be any of several banks" in reported[0]["message_en"]


def test_the_sql_key_is_the_python_key(db_session: Session) -> None:
    """Every bank's code, number, name, legal name and brand, in capitals, without marks and decomposed, keyed in SQL
    as :func:`bank_key` keys it in Python; and every key the import table holds is one bank_names() gives."""
    texts: list[str] = ["Đông Á", "ĐÔNG Á", "đ", "Ngân hàng  -  Sài Gòn, Hà Nội (SHB)", "Ơ ư ờ ữ ỵ Ỷ", "A.B/C_D"]
    for bank in db.session.scalars(select(Bank)):
        for written in (bank.code, bank.bin, bank.name, bank.name.partition(" (")[0]):
            texts += [written, written.upper(), written.lower(), unicodedata.normalize("NFD", written)]
    sql = f"SELECT {BANK_KEY} FROM unnest(CAST(:texts AS text[])) AS n (bank)"
    keyed = db.session.scalars(text(sql), {"texts": texts}).all()
    assert keyed == [bank_key(t) for t in texts]
    assert len(bank_names()) > 100
