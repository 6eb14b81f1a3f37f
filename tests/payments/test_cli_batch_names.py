"""Every command that names a batch takes its reference (``NQ116-B1``: what ``payments batches`` prints beside its
number, what the bank file is named after and the bank's pain.002 quotes) as well as its number; Click refused the
reference in English alone ("is not a valid integer range"). An unknown one is refused in both languages, exit 2."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from disburse.payments.models import PaymentBatch
from tests.factories import create_claim, create_program


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["payments", *args], catch_exceptions=False)


@pytest.mark.parametrize("command", ["export", "send"])
def test_a_batch_is_named_by_its_reference_as_well_as_its_number(app, db_session, bankfile, command):
    program = create_program()
    create_claim("approved", program=program, amount_vnd=2_100_000)
    assert _run(app, "batch", "--program", program.code).exit_code == 0
    batch = db_session.scalars(select(PaymentBatch).where(PaymentBatch.program_id == program.id)).one()
    assert batch.reference and not batch.reference.isdigit()

    for named in (batch.reference, batch.reference.lower()):
        result = _run(app, command, named)
        assert result.exit_code == 0, result.output
        assert f"Batch {batch.id}" in result.output, result.output

    unknown = _run(app, command, f"{program.code}-B999999")
    assert unknown.exit_code == 2, unknown.output
    assert f"Không có lô chi trả '{program.code}-B999999'" in unknown.output
    assert f"There is no payment batch '{program.code}-B999999'" in unknown.output
    assert "integer" not in unknown.output
