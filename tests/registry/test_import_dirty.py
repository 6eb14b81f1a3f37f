"""The raw-cell check (imports.check) trusts ``dirty_expr`` to say exactly when normalising would change a cell."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from disburse.registry.imports.statements import dirty_expr, normalise_expr

KINDS = ["text", "lower", "upper", "code2", "code3"]
TRICKY = ["", " ", "  ", " a", "a ", " a ", "a", "A", "Ab", "ẞ", "Đ", "đ", "1", "01", "001", " 1", "1 ", "\t1", "ß"]


def _agree(session: Session, values: list[str | None]) -> None:
    for how in KINDS:
        for trim in (True, False):
            rows = session.execute(
                text(
                    f"SELECT v, {dirty_expr(how, 'v', trim=trim)}, "
                    f"{normalise_expr(how, 'v', trim=trim)} IS DISTINCT FROM v "
                    "FROM unnest(CAST(:values AS text[])) AS v"
                ),
                {"values": values},
            )
            for value, fast, exact in rows:
                assert (fast is True) == exact, (how, trim, value)


def test_dirty_agrees_with_normalising_on_tricky_cells(db_session: Session) -> None:
    _agree(db_session, [*TRICKY, None])


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.text(alphabet=" aAzZ019ẞđĐ\t-", max_size=5), min_size=1, max_size=30))
@pytest.mark.usefixtures("db_session")
def test_dirty_agrees_with_normalising_on_generated_cells(values: list[str]) -> None:
    from disburse.extensions import db

    _agree(db.session, values)
