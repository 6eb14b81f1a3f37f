"""The commands' summaries write counts and VND grouped by thousands, each language its way (13.529 khớp / 13,529
matched), through disburse.formatting."""

from __future__ import annotations

from datetime import date, datetime

from disburse.payments import reconcile_cli
from disburse.payments.reconcile import ReconcileResult


def test_the_reconciliation_summary_groups_its_counts(app, capsys):
    result = ReconcileResult(
        id=1,
        provider="sandbox",
        day=date(2021, 11, 2),
        ran_at=datetime(2021, 11, 3),
        matched=13529,
        differences=[],
        statement_entries=1_204_311,
        recovered=1500,
    )
    with app.app_context():
        reconcile_cli._report(result)
    vi, en = capsys.readouterr().out.splitlines()
    assert "13.529 khớp, 0 chênh lệch (1.204.311 bút toán trên sao kê; 1.500 khoản thu hồi" in vi
    assert "13,529 matched, 0 differences (1,204,311 statement entries; 1,500 recoveries" in en
