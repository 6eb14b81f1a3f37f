"""Every search by a part of a person's name takes it however the spaces were typed: twice between words, or around
it ("Đào  Mai Anh" found nobody at the cash desk while the unit's page found her), and a name a registry file gave
with two spaces or a tab is found as typed with one. The class: the unit's list, the cash desk's list, the users
list."""

from __future__ import annotations

import pytest

from disburse.admin.service import find_users
from disburse.claims import unit as units
from disburse.claims.models import Claim
from disburse.extensions import db
from disburse.payments.cash import cash_list
from disburse.programs.models import Program
from disburse.registry.models import Employee, Employer
from tests.factories import create_cash_payment, create_user

TYPED = ["Đào  Mai Anh", " đào mai  anh ", "Dao\tMai Anh", "mai   anh"]


@pytest.mark.parametrize("stored", ["Đào Mai Anh", "Đào  Mai\tAnh"])
@pytest.mark.parametrize("typed", TYPED)
def test_the_cash_desk_and_the_units_list_find_a_name_however_spaced(db_session, typed, stored):
    payment = create_cash_payment(district_code="017")
    claim = db.session.get(Claim, payment.claim_id)
    person = db.session.get(Employee, claim.employee_id)
    person.full_name = stored
    db.session.flush()
    program = db.session.get(Program, claim.program_id)
    assert [row.si_code for row in cash_list(program, "017", None, typed)] == [person.si_code]
    employer = db.session.get(Employer, claim.employer_id)
    assert [row.si_code for row in units.workforce(program, employer, typed)] == [person.si_code]


@pytest.mark.parametrize("stored", ["Đào Mai Anh", "Đào  Mai Anh"])
@pytest.mark.parametrize("typed", TYPED)
def test_the_users_list_finds_a_name_however_spaced(db_session, typed, stored):
    user = create_user("caseworker", full_name=stored)
    assert [found.id for found in find_users(typed, None, None).rows] == [user.id]
