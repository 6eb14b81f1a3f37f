"""Banks written by name on Form 02, Form 03 and the registry import (all read reference.service.bank_names)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from disburse.extensions import db
from disburse.reference.models import Bank
from disburse.reference.service import bank_code_of, bank_names

#: The banks "Ngân hàng Sài Gòn" may be, as a refusal names them.
SAI_GON_BANKS = (
    "SCB (Ngân hàng TMCP Sài Gòn), SGICB (Saigonbank), SHB (Ngân hàng TMCP Sài Gòn - Hà Nội), STB (Sacombank)"
)


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


def test_a_name_several_banks_share_is_refused_naming_them_wherever_a_bank_is_written(db_session):
    """ "Ngân hàng Sài Gòn" was refused as an unknown bank ("Không rõ ngân hàng 'NGÂN HÀNG SÀI GÒN'") although it is
    the start of four banks' names: the unit or the caseworker was left to guess why. Every name several banks share
    is refused as such, naming them, on Form 02, Form 03 and the office's correction (each reads
    :func:`~disburse.claims.outcomes.bank_errors`), and nothing is recorded."""
    from datetime import date

    from disburse.claims import employer_forms as forms
    from disburse.claims.models import Claim
    from disburse.reference.service import known_banks, shared_bank_names
    from disburse.registry.models import Employee
    from tests.factories import create_claim, create_employee, create_employer, nq116

    banks = known_banks()
    shared = shared_bank_names()
    assert shared["nganhangsaigon"] == ("SCB", "SGICB", "SHB", "STB")
    assert banks.sharing("Ngân hàng Sài Gòn") == SAI_GON_BANKS
    assert all(len(codes) > 1 and set(codes) <= banks.codes for codes in shared.values())
    assert not set(shared) & set(bank_names()), "a shared name is no bank's"

    employer = create_employer()
    listed, waiting, failed = (
        create_claim(state, employee=create_employee(employer_id=employer.id))
        for state in ("listed", "awaiting_payment_details", "payment_failed")
    )

    def si(claim: Claim) -> str:
        return db.session.get(Employee, claim.employee_id).si_code

    for written in ("Ngân hàng Sài Gòn", "NH TMCP SAI GON", "ngan hang tmcp sai gon"):
        results = {
            "Form 02": forms.confirm(
                nq116(),
                employer.unit_code,
                [{"si_code": si(listed), "bank_code": written, "bank_account": "0071000123"}],
                today=date(2021, 10, 25),
            ).rows[0],
            "Form 03": forms.adjust(
                nq116(),
                employer.unit_code,
                [
                    {
                        "si_code": si(waiting),
                        "action": "correct",
                        "bank_code": written,
                        "bank_account": "0071000456",
                    }
                ],
                today=date(2021, 10, 25),
            ).rows[0],
            "correction": forms.correct_payment_details(failed.id, written, "0071000789"),
        }
        for path, row in results.items():
            errors = [(e.field, e.code) for e in row.errors]
            assert errors == [("bank_code", "bank_shared")], (path, written, row.errors)
            assert row.errors[0].message_vi == (
                f"Tên ngân hàng này có thể là một trong nhiều ngân hàng: {SAI_GON_BANKS}. Hãy ghi mã ngân hàng."
            )
            assert f"several banks: {SAI_GON_BANKS}" in row.errors[0].message_en
    # The person's own bank-details page and Form 04 (the application) read the same check.
    from disburse.claims import applications, person_details

    offered = person_details.input_errors(
        si_code="0100000001",
        national_id="001090000001",
        date_of_birth=date(1990, 1, 1),
        bank_code="NGÂN HÀNG SÀI GÒN",
        bank_account="0071000999",
    )
    assert (
        offered["bank_code"][1]
        == f"This bank name may be any of several banks: {SAI_GON_BANKS}. Write the bank's code."
    )
    with pytest.raises(applications.ApplicationInvalid) as refused:
        applications.validate(
            {"payout": "bank", "bank_code": "Ngân hàng Sài Gòn", "bank_account": "0071000999"}, date(2021, 10, 25)
        )
    assert ("bank_code", "bank_shared") in [(e.field, e.code) for e in refused.value.errors]
    for claim, state in ((listed, "listed"), (waiting, "awaiting_payment_details"), (failed, "payment_failed")):
        stored = db.session.get(Claim, claim.id)
        assert (stored.state, stored.bank_code) == (state, claim.bank_code)
