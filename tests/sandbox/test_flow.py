"""Send → ACK → settle → signed callback → parse_event; status polls; the settle thread on its own."""

from __future__ import annotations

from disburse.payments.providers import ProviderStatus

from .conftest import PAYER, order


def test_send_is_acknowledged_then_settled_and_called_back_signed(bank, make_provider, receiver):
    provider = make_provider(bank)
    ack = provider.send("B-0001", [order("R-1", 2_100_000), order("R-2", 3_300_000), order("R-3", 1_800_000)])
    assert ack.accepted and ack.correlation_id and ack.correlation_id.startswith("sbx-")
    assert [u.status for u in provider.status(["R-1", "R-2", "R-3"])] == [ProviderStatus.RECEIVED] * 3

    assert bank.sandbox.settle_due() == 3
    assert bank.sandbox.deliver_due() == 1
    [callback] = receiver.wait_for(1)
    assert callback.headers["webhook-id"].startswith("msg_")
    assert callback.headers["webhook-signature"].startswith("v1,")
    assert callback.json["header"]["action"] == "on-disburse"
    assert callback.json["message"]["transaction_id"] == "B-0001"

    updates = provider.parse_event(callback.body, callback.headers)
    assert {(u.reference, u.status, u.amount_vnd) for u in updates} == {
        ("R-1", ProviderStatus.PAID, 2_100_000),
        ("R-2", ProviderStatus.PAID, 3_300_000),
        ("R-3", ProviderStatus.PAID, 1_800_000),
    }
    assert {u.event_id for u in updates} == {callback.headers["webhook-id"]}
    assert all(u.at is not None for u in updates)
    assert [u.status for u in provider.status(["R-2", "NEVER-SENT"])] == [ProviderStatus.PAID, ProviderStatus.UNKNOWN]
    balances = bank.sandbox.balances()
    assert balances[PAYER] == -7_200_000
    assert sum(balances.values()) == 0


def test_a_transfer_waits_pending_until_the_delay_has_passed(make_bank, make_provider):
    bank = make_bank(delay_s=3600)
    provider = make_provider(bank)
    provider.send("B-0002", [order("R-10")])
    assert bank.sandbox.settle_due() == 0
    assert provider.status(["R-10"])[0].status is ProviderStatus.PENDING
    assert bank.sql("SELECT count(*) FROM sandbox.ledger")[0][0] == 0


def test_the_settle_thread_settles_and_delivers_on_its_own(make_bank, make_provider, receiver):
    bank = make_bank(delay_s=0.2, start_settler=True, settle_interval_s=0.05)
    provider = make_provider(bank)
    provider.send("B-0003", [order("R-20"), order("R-21")])
    [callback] = receiver.wait_for(1)
    assert {u.status for u in provider.parse_event(callback.body, callback.headers)} == {ProviderStatus.PAID}


def test_status_by_transaction_id(bank, make_provider):
    import httpx

    provider = make_provider(bank)
    provider.send("B-0004", [order("R-30"), order("R-31")])
    body = {
        "signature": None,
        "header": {"message_id": "m-1", "action": "status"},
        "message": {
            "transaction_id": "t-1",
            "txnstatus_request": {
                "txn_type": "disburse",
                "attribute_type": "transaction_id",
                "attribute_value": "B-0004",
            },
        },
    }
    answer = httpx.post(
        f"{bank.url}/disburse/txn/status", json=body, headers={"Authorization": "Bearer sandbox-test-token"}
    )
    assert answer.status_code == 200
    items = answer.json()["message"]["txnstatus_response"]["txn_status"]
    assert [(i["reference_id"], i["status"]) for i in items] == [("R-30", "rcvd"), ("R-31", "rcvd")]
