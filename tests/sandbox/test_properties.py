"""Random batches with repeated references: the ledger always equals the distinct settled transfers minus the
returned ones, and no reference is ever debited twice."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disburse.payments.providers import ProviderStatus
from disburse.sandbox.models import clear

from .conftest import PAYER, order

references = st.sampled_from([f"R-{i}" for i in range(12)])
orders = st.tuples(references, st.integers(min_value=1, max_value=50_000_000))
batches = st.lists(st.lists(orders, min_size=1, max_size=8), min_size=1, max_size=5)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches, seed=st.integers(min_value=0, max_value=10_000), settle_between=st.booleans())
def test_the_ledger_is_the_distinct_settled_minus_the_returned(bank, make_provider, batches, seed, settle_between):
    # One bank for every example (its decisions are a function of the seed, set here), emptied each time.
    bank.sandbox.failure_rate, bank.sandbox.return_rate, bank.sandbox.seed = 0.3, 0.3, seed
    clear(bank.sandbox.engine)
    provider = make_provider(bank)
    first_amount: dict[str, int] = {}
    for number, batch in enumerate(batches):
        assert provider.send(f"B-{number}", [order(ref, amount) for ref, amount in batch]).accepted
        for ref, amount in batch:
            first_amount.setdefault(ref, amount)
        if settle_between:
            bank.sandbox.settle_due()
            bank.sandbox.return_due()
    bank.sandbox.settle_due()
    bank.sandbox.return_due()

    statuses = {u.reference: u.status for u in provider.status(list(first_amount))}
    assert ProviderStatus.UNKNOWN not in statuses.values()
    settled = [r for r, s in statuses.items() if s in (ProviderStatus.PAID, ProviderStatus.RETURNED)]
    kept = [r for r, s in statuses.items() if s is ProviderStatus.PAID]
    assert bank.sandbox.balances().get(PAYER, 0) == -sum(first_amount[r] for r in kept)

    debits = bank.sql(
        "SELECT reference_id, count(*), sum(amount_vnd) FROM sandbox.ledger WHERE account = :payer"
        " AND direction = 'debit' GROUP BY reference_id",
        payer=PAYER,
    )
    assert {ref: (count, total) for ref, count, total in debits} == {r: (1, first_amount[r]) for r in settled}
    assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == len(first_amount)
