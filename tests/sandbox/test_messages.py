"""Malformed messages are refused whole (NACK / ERR) and nothing of them is kept; amounts are whole VND only."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disburse.payments.providers import PermanentError, ProviderStatus, RetryableError
from disburse.sandbox import messages

from .conftest import TOKEN, order

AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD = {
    "signature": None,
    "header": {
        "version": "1.0.0",
        "message_id": "m-1",
        "message_ts": "2026-12-03T08:00:00Z",
        "action": "disburse",
        "sender_id": "disburse",
        "sender_uri": "http://127.0.0.1:9/events",
        "receiver_id": "sandbox-bank",
        "total_count": 1,
    },
    "message": {
        "transaction_id": "B-1",
        "disbursements": [
            {
                "reference_id": "R-1",
                "payer_fa": "account:UIFUND@SANDBOX",
                "payee_fa": "account:0011001234567@VCB",
                "amount": "2100000",
                "currency_code": "VND",
                "payee_name": "NGUYEN VAN AN",
                "note": "Ho tro NQ116",
            }
        ],
    },
}


def _with(path: str, value):
    body = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[key][0] if key == "disbursements" else node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return body


@pytest.mark.parametrize("amount", [2100000, "2100000"])
def test_a_good_message_is_acknowledged(bank, amount):
    answer = httpx.post(f"{bank.url}/disburse", json=_with("message.disbursements.amount", amount), headers=AUTH)
    assert answer.status_code == 200
    assert answer.json()["message"]["ack_status"] == "ACK"
    assert answer.json()["message"]["correlation_id"].startswith("sbx-")
    assert bank.sql("SELECT amount_vnd FROM sandbox.transfers") == [(2100000,)]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("message.disbursements.amount", 2100000.0),
        ("message.disbursements.amount", 2100000.5),
        ("message.disbursements.amount", "2100000.00"),
        ("message.disbursements.amount", "2,100,000"),
        ("message.disbursements.amount", "2.1e6"),
        ("message.disbursements.amount", "-2100000"),
        ("message.disbursements.amount", "02100000"),
        ("message.disbursements.amount", 0),
        ("message.disbursements.amount", -5),
        ("message.disbursements.amount", True),
        ("message.disbursements.amount", None),
        ("message.disbursements.currency_code", "USD"),
        ("message.disbursements.payee_fa", "0011001234567@VCB"),
        ("message.disbursements.payee_fa", "account:0011001234567@vcb"),
        ("message.disbursements.reference_id", "R" * 36),
        ("message.disbursements.reference_id", ""),
        ("message.disbursements.payee_name", ...),
        ("message.disbursements.note", "x" * 100),
        ("message.disbursements", []),
        ("message.transaction_id", ...),
        ("header.sender_uri", ...),
        ("header.sender_uri", "ftp://example.org/x"),
        ("header.total_count", 2),
        ("header.action", "search"),
    ],
)
def test_a_malformed_message_is_nacked_and_nothing_is_kept(bank, path, value):
    answer = httpx.post(f"{bank.url}/disburse", json=_with(path, value), headers=AUTH)
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert message["ack_status"] == "NACK"
    assert message["error"]["code"]
    assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == 0


@pytest.mark.parametrize("path", ["/disburse", "/disburse/txn/status"])
@pytest.mark.parametrize(
    "content",
    [b"not json", b"[]", b'{"message": {}}', b"[" * 100_000 + b"]" * 100_000],  # deeper than Python parses
)
def test_an_unreadable_envelope_is_an_err(bank, content, path):
    answer = httpx.post(f"{bank.url}{path}", content=content, headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["message"]["ack_status"] == "ERR"


def test_every_problem_is_named_at_once(bank):
    body = _with("message.disbursements.amount", 1.5)
    body["message"]["disbursements"][0]["currency_code"] = "USD"
    errors = httpx.post(f"{bank.url}/disburse", json=body, headers=AUTH).json()["message"]["error"]["errors"]
    assert any("amount" in e for e in errors) and any("currency_code" in e for e in errors)


def test_the_client_reports_a_nack_as_not_accepted(bank, make_provider):
    # An order the client can write and the bank refuses (an amount beyond what it takes): the whole message is
    # refused. (One the client cannot write, such as a bad bank code, is left out by the client itself.)
    ack = make_provider(bank).send("B-1", [order("R-1"), order("R-2", amount=10**15)])
    assert not ack.accepted
    assert "amount" in (ack.message or "")
    assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == 0


def test_a_transfer_above_the_payers_limit_is_refused_naming_its_amount_and_taken_once_the_limit_is_raised(
    make_bank, make_provider
):
    """The fund's limit per transfer at the bank (``max_amount_vnd``): a message with a transfer above it is refused
    whole, naming that item's amount, which the client reads as the sender's problem (UNKNOWN: held back, nobody's
    details). At the limit a transfer is taken; the limit raised while the bank runs, the same order is taken."""
    bank = make_bank(max_amount_vnd=3_000_000)
    provider = make_provider(bank)

    ack = provider.send("B-LIMIT", [order("R-AT", amount=3_000_000), order("R-OVER", amount=3_000_001)])

    assert not ack.accepted and "disbursements[1].amount: above the payer's limit of 3000000" in (ack.message or "")
    assert [(u.reference, u.status, u.reason_code) for u in ack.updates] == [("R-OVER", ProviderStatus.UNKNOWN, None)]
    assert "above the payer's limit" in (ack.updates[0].reason_message or "")
    assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == 0
    assert provider.send("B-LIMIT", [order("R-AT", amount=3_000_000)]).accepted
    bank.sandbox.max_amount_vnd = None
    assert provider.send("B-LIMIT-2", [order("R-OVER", amount=3_000_001)]).accepted
    assert sorted(bank.sql("SELECT reference_id, amount_vnd FROM sandbox.transfers")) == [
        ("R-AT", 3_000_000),
        ("R-OVER", 3_000_001),
    ]


def test_every_endpoint_needs_the_token(bank, make_provider):
    for method, path in [
        ("POST", "/disburse"),
        ("POST", "/disburse/txn/status"),
        ("GET", "/statement?date=2026-12-03"),
    ]:
        wrong = {"Authorization": "Bearer not-the-token"}
        for headers in ({}, wrong):
            response = httpx.request(method, f"{bank.url}{path}", json={}, headers=headers)
            assert response.status_code == 401 and response.headers["WWW-Authenticate"] == 'Bearer realm="sandbox"'
    with pytest.raises(PermanentError, match="401"):
        make_provider(bank, token="not-the-token").send("B-1", [order("R-1")])


def test_a_status_request_must_name_references_or_a_transaction(bank):
    body = {"header": {"message_id": "m", "action": "status"}, "message": {"txnstatus_request": {}}}
    answer = httpx.post(f"{bank.url}/disburse/txn/status", json=body, headers=AUTH)
    assert answer.status_code == 400 and answer.json()["message"]["ack_status"] == "NACK"


def test_cash_orders_are_not_for_the_sandbox(bank, make_provider):
    from disburse.payments.providers import PaymentOrder

    # An order without an account (a bank claim approved without details) is the payee's to correct: reported
    # refused, never sent; the bank is not called for nothing.
    cash = PaymentOrder("R-1", 2_100_000, None, None, "NGUYEN VAN AN", "note")
    ack = make_provider(bank).send("B-1", [cash])
    assert [(u.reference, u.status, u.reason_code) for u in ack.updates] == [
        ("R-1", ProviderStatus.REJECTED, "rjct.payee_fa.malformed")
    ]
    assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == 0


# ---------------------------------------------------------------------------------- the bank failing to answer


def test_a_bank_that_never_answers_is_retryable(hanging_redis_url, make_provider):
    """``hanging_redis_url`` is a socket that accepts and never answers: any protocol hangs on it."""
    address = hanging_redis_url.removeprefix("redis://").rsplit("/", 1)[0]
    provider = make_provider(f"http://{address}", timeout=httpx.Timeout(0.5, connect=0.5))
    started = datetime.now(UTC)
    with pytest.raises(RetryableError, match="in time"):
        provider.send("B-1", [order("R-1")])
    with pytest.raises(RetryableError):
        provider.status(["R-1"])
    assert datetime.now(UTC) - started < timedelta(seconds=3)


def test_a_bank_that_is_not_there_is_retryable(dead_redis_url, make_provider):
    address = dead_redis_url.removeprefix("redis://").rsplit("/", 1)[0]
    with pytest.raises(RetryableError, match="reached"):
        make_provider(f"http://{address}").send("B-1", [order("R-1")])


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, RetryableError), (503, RetryableError), (429, RetryableError), (404, PermanentError), (200, PermanentError)],
)
def test_http_errors(make_provider, status, error):
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=b"<html>not the API</html>")

    provider = make_provider("http://bank.invalid", transport=httpx.MockTransport(answer))
    with pytest.raises(error):
        provider.send("B-1", [order("R-1")])
    with pytest.raises(error):
        provider.status(["R-1"])


_TEXTS = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.text(max_size=3),
    st.text(alphabet=" \x00\t", max_size=2),
    st.sampled_from(["", " ", "R-1", "x" * 35, "x" * 36, "x" * 99, "x" * 100, "x" * 101, "x" * 200, "x" * 201]),
    st.sampled_from(["account:0011001234567@VCB", "account:12345@VCB", "account:0011001234567@vcb", "VND"]),
    st.sampled_from(["2100000", "0", "02100000", "1e6", "-5", "2100000.0", "9" * 15, "9" * 16, " 21"]),
)


@settings(max_examples=400, deadline=None)
@given(
    item=st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                key: _TEXTS
                for key in ("reference_id", "payer_fa", "payee_fa", "amount", "currency_code", "payee_name", "note")
            },
        ),
        st.sampled_from([None, [], "R-1", 5]),
    ),
    good=st.booleans(),
    limit=st.sampled_from([None, 1, 2_099_999, 2_100_000, 10**15]),
)
def test_the_quick_check_of_disbursements_decides_as_the_full_one(item, good, limit):
    """The quick test of an item (the common case) only ever takes what the full check takes, with the same values;
    whatever it does not take, the full check decides and names (also the payer's limit per transfer)."""
    if good and isinstance(item, dict):
        item = {**GOOD["message"]["disbursements"][0], **item}
    quick_errors: list[str] = []
    full_errors: list[str] = []
    quick = messages._disbursements([item], quick_errors, limit)
    full = messages._disbursement(0, item, full_errors, limit)
    assert quick == ([full] if full is not None else [])
    assert quick_errors == full_errors
