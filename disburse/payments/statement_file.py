"""The bank's end-of-day statement of the fund's account, ISO 20022 ``camt.053`` (versions 001.02 and 001.08), read
into :class:`~disburse.payments.providers.StatementEntry` values for reconciliation.

Read with the same safety checks as the status files (:mod:`disburse.payments.bankfile`: a size cap, defusedxml
refusing any DTD or entity, strict mapping onto ``pyiso20022``'s dataclasses), through its helpers. Of the entries
only the booked ones count (``BOOK``; pending and information entries have moved nothing), and of those:

- a debit that is not a reversal, per transaction with an ``EndToEndId``: a **settlement** of that reference;
- a credit carrying return information, or a reversal: a **return** of that reference.

Anything else on the account (the fund's own top-ups, fees, a line without an end-to-end id) is not a payment of
ours and is left out. Amounts must be whole VND, as everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pyiso20022.camt import camt_053_001_02 as camt053v02
from pyiso20022.camt import camt_053_001_08 as camt053v08

from disburse.formatting import os_reason
from disburse.payments.bankfile import (
    MAX_STATUS_FILE_BYTES,
    VIETNAM,
    UnreadableBankFile,
    _choice_datetime,
    _code,
    _datetime,
    _entry_status,
    _parse,
    _tx_amount,
)
from disburse.payments.providers import StatementEntry

STATEMENT_DOCUMENTS: dict[str, tuple[str, type]] = {
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02": ("camt.053", camt053v02.Document),
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08": ("camt.053", camt053v08.Document),
}


@dataclass(frozen=True)
class BankStatement:
    """What a ``camt.053`` says: its message id and the settlements and returns on it."""

    message_id: str
    entries: list[StatementEntry]
    #: The accounts its statements are of (``Stmt/Acct/Id``: the IBAN or the other id), as written.
    accounts: frozenset[str] = frozenset()

    def days(self) -> set[date]:
        """The Vietnam days its entries were booked on."""
        return {entry.booked_at.astimezone(VIETNAM).date() for entry in self.entries}


def _kind(direction: str | None, entry: Any, tx: Any) -> str | None:
    if direction == "DBIT" and not entry.rvsl_ind:
        return "settlement"
    if direction == "CRDT" and (getattr(tx, "rtr_inf", None) is not None or entry.rvsl_ind):
        return "return"
    return None


def _entries_of(entry: Any, default_at: datetime | None) -> list[StatementEntry]:
    """The settlements and returns in one booked ``Ntry``."""
    at = _choice_datetime(entry.bookg_dt) or default_at
    found = []
    for details in entry.ntry_dtls:
        for tx in details.tx_dtls:
            direction = _code(getattr(tx, "cdt_dbt_ind", None)) or _code(entry.cdt_dbt_ind)
            kind = _kind(direction, entry, tx)
            reference = tx.refs.end_to_end_id if tx.refs is not None else None
            if kind is None or not reference or reference == "NOTPROVIDED":
                continue
            amount = _tx_amount(tx, entry)
            if amount is None or at is None:
                raise UnreadableBankFile(
                    f"Bút toán {reference!r} thiếu số tiền hoặc ngày hạch toán.",
                    f"The entry for {reference!r} has no amount or booking date.",
                )
            try:
                found.append(StatementEntry(reference, kind, amount, at))
            except ValueError as exc:
                raise UnreadableBankFile(
                    f"Bút toán {reference!r} không dùng được: {exc}.",
                    f"The entry for {reference!r} is unusable: {exc}.",
                ) from exc
    return found


def parse_statement(body: bytes) -> BankStatement:
    """The settlements and returns in a ``camt.053`` document; raises :class:`UnreadableBankFile` saying why."""
    _, document = _parse(body, STATEMENT_DOCUMENTS)
    report = document.bk_to_cstmr_stmt
    header_at = _datetime(report.grp_hdr.cre_dt_tm)
    entries: list[StatementEntry] = []
    accounts = frozenset(account for statement in report.stmt if (account := _account(statement)))
    for statement in report.stmt:
        period = statement.fr_to_dt
        start = _datetime(period.fr_dt_tm) if period is not None else None
        for entry in statement.ntry:
            if _entry_status(entry) == "BOOK":
                entries.extend(_entries_of(entry, start or header_at))
    return BankStatement(report.grp_hdr.msg_id, entries, accounts)


def _account(statement: Any) -> str | None:
    """The account a ``Stmt`` is of: its IBAN, else its other identification."""
    account_id = statement.acct.id if statement.acct is not None else None
    if account_id is None:
        return None
    other = getattr(account_id, "othr", None)
    return getattr(account_id, "iban", None) or (other.id if other is not None else None)


def read_statement_file(path: Path) -> BankStatement:
    """:func:`parse_statement` of a file; no more than the status files' cap is ever read."""
    try:
        with path.open("rb") as handle:
            body = handle.read(MAX_STATUS_FILE_BYTES + 1)
    except OSError as exc:
        vi, en = os_reason(exc)
        raise UnreadableBankFile(
            f"Không đọc được tệp '{path}': {vi}.", f"The file '{path}' cannot be read: {en}."
        ) from exc
    return parse_statement(body)


__all__ = ["STATEMENT_DOCUMENTS", "BankStatement", "parse_statement", "read_statement_file"]
