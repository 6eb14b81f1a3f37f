"""The test fixtures' promise: whatever a test commits is gone for the next one."""

from __future__ import annotations

from sqlalchemy import func, select

from disburse.extensions import db
from disburse.registry.models import Employee
from tests.factories import create_employee


def test_a_commit_inside_a_test(db_session):
    create_employee(si_code="0999999999")
    db.session.commit()
    assert db_session.scalar(select(func.count()).select_from(Employee).where(Employee.si_code == "0999999999")) == 1


def test_is_rolled_back_for_the_next_test(db_session):
    assert db_session.scalar(select(func.count()).select_from(Employee).where(Employee.si_code == "0999999999")) == 0
