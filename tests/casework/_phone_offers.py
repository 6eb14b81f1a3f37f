"""Set-up shared by the casework tests of the person's offer of bank details (test_offers) and of the phone number the
office records (test_record_phone): the offer a person sends on the public page, which the caseworker confirms by a
call to the registered number."""

from __future__ import annotations

from disburse.claims.models import Claim
from disburse.claims.person_details import Offer, offer_payment_details
from disburse.extensions import db
from disburse.registry.models import Employee
from tests.factories import nq116


def offer_from_the_public_page(
    claim: Claim, bank_code: str = "BIDV", bank_account: str = "21510001234567", phone: str = ""
) -> Offer:
    """The bank details ``claim``'s person sends on the public page, with their own SI code, ID and birth date."""
    employee = db.session.get(Employee, claim.employee_id)
    assert employee is not None
    return offer_payment_details(
        nq116(),
        si_code=employee.si_code,
        national_id=employee.national_id,
        date_of_birth=employee.date_of_birth,
        bank_code=bank_code,
        bank_account=bank_account,
        phone=phone,
    )
