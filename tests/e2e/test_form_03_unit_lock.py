"""Form 03's addition reads the unit's district locked ``FOR SHARE`` (:func:`employer_forms.unit_district`): an import
moving the unit meanwhile waits for the claim (and then refuses the move, the unit having a claim in its district),
where it went through and the claim was written to the district the unit had just left. Real committed rows (the
e2e package's ``committed``) and a second connection."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from disburse.claims.employer_forms import adjust
from disburse.extensions import db
from disburse.programs.service import get_program
from tests.e2e.conftest import DONG_ANH


def test_a_unit_s_district_is_locked_while_an_addition_writes_a_claim_there(app, committed):
    unit = committed.unit(district_code=DONG_ANH)
    person = committed.person(employer_id=unit.id)
    committed.commit()
    program = get_program(app.config["DISBURSE_PROGRAM"])

    added = adjust(program, unit.unit_code, [{"si_code": person.si_code, "action": "add"}]).rows[0]
    assert added.outcome == "added", added
    try:
        with db.engine.connect() as other:
            other.execute(text("SET lock_timeout = '300ms'"))
            # An import's plain update of the district: the claim's own foreign-key lock (FOR KEY SHARE) lets it
            # through; the district's lock (FOR SHARE) does not.
            with pytest.raises(OperationalError, match="lock timeout"):
                other.execute(text("UPDATE employers SET district_code = '001' WHERE id = :id"), {"id": unit.id})
            other.rollback()
    finally:
        db.session.rollback()
