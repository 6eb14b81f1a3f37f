"""Reading the G2P Connect messages the sandbox receives: envelope, header and disbursements, checked strictly.

A message that breaks a rule is refused whole (NACK) with every problem named; nothing of it is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: ``account:<number>@<BANK>``: the payee's account number at a bank named by its VietQR/NAPAS short code.
PAYEE_FA = re.compile(r"account:([0-9]{6,19})@([A-Z0-9]{2,11})")
#: A whole number of VND written as a string: no sign, no decimals, no exponent, no leading zero.
WHOLE_VND = re.compile(r"[1-9][0-9]{0,14}")
MAX_REFERENCE = 35
MAX_DISBURSEMENTS = 10_000


class Refused(ValueError):
    """The message is malformed: ``ack_status`` NACK (ERR when not even the envelope can be read)."""

    def __init__(self, code: str, message: str, *, errors: list[str] | None = None, ack: str = "NACK") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or []
        self.ack = ack


@dataclass(frozen=True)
class Disbursement:
    reference_id: str
    payer_fa: str
    payee_fa: str
    payee_name: str
    amount_vnd: int
    note: str | None


@dataclass(frozen=True)
class DisburseRequest:
    message_id: str
    sender_id: str
    sender_uri: str
    transaction_id: str
    disbursements: list[Disbursement]


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, str) and len(value.strip()) > 0 and len(value) <= limit and "\x00" not in value:
        return value
    return None


def amount_vnd(value: Any) -> int | None:
    """A positive whole number of VND given as an integer or a string of digits; floats, decimals, exponents,
    booleans and signs are refused (None)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 10**15 else None
    if isinstance(value, str) and WHOLE_VND.fullmatch(value):
        return int(value)
    return None


def envelope(body: Any, action: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and message of a ``{signature, header, message}`` envelope whose action is ``action``."""
    if not isinstance(body, dict) or not isinstance(body.get("header"), dict):
        raise Refused("err.request.bad", "not a G2P Connect envelope: {signature, header, message}", ack="ERR")
    header, message = body["header"], body.get("message")
    if header.get("action") != action:
        raise Refused("err.action.invalid", f"header.action must be {action!r}")
    if not isinstance(message, dict):
        raise Refused("err.request.bad", "message must be an object")
    if not _text(header.get("message_id"), 99):
        raise Refused("err.request.bad", "header.message_id is missing")
    return header, message


def _disbursement(index: int, item: Any, errors: list[str], max_amount_vnd: int | None = None) -> Disbursement | None:
    where = f"disbursements[{index}]"
    if not isinstance(item, dict):
        errors.append(f"{where}: not an object")
        return None
    before = len(errors)
    reference = _text(item.get("reference_id"), MAX_REFERENCE)
    if reference is None:
        errors.append(f"{where}.reference_id: 1 to {MAX_REFERENCE} characters")
    payer = _text(item.get("payer_fa"), 100)
    if payer is None:
        errors.append(f"{where}.payer_fa: missing")
    payee = item.get("payee_fa")
    if not (isinstance(payee, str) and PAYEE_FA.fullmatch(payee)):
        errors.append(f"{where}.payee_fa: must be account:<number>@<BANK>")
    amount = amount_vnd(item.get("amount"))
    if amount is None:
        errors.append(f"{where}.amount: a positive whole number of VND (integer or digits), no decimals")
    elif max_amount_vnd is not None and amount > max_amount_vnd:
        errors.append(f"{where}.amount: above the payer's limit of {max_amount_vnd} VND per transfer")
    if item.get("currency_code") != "VND":
        errors.append(f"{where}.currency_code: must be VND")
    name = _text(item.get("payee_name"), 200)
    if name is None:
        errors.append(f"{where}.payee_name: missing")
    note = item.get("note")
    if note is not None and _text(note, 99) is None:
        errors.append(f"{where}.note: at most 99 characters")
    if len(errors) > before:
        return None
    assert reference and payer and name and amount  # checked above; narrows the types
    return Disbursement(reference, payer, str(payee), name, amount, note)


def _disbursements(items: list[Any], errors: list[str], max_amount_vnd: int | None = None) -> list[Disbursement]:
    """Every item checked: the common case, an item that passes every rule of :func:`_disbursement` as the JSON
    parser gives it (strings, the amount as digits), in one expression; anything else by :func:`_disbursement`, which
    decides and names every problem. The quick test only ever accepts what the full one accepts, with the same
    values (10,000 items a batch: the full check's calls and messages cost twice as much)."""
    checked: list[Disbursement] = []
    append = checked.append
    for index, item in enumerate(items):
        if type(item) is dict:
            reference, payer, payee = item.get("reference_id"), item.get("payer_fa"), item.get("payee_fa")
            amount, name, note = item.get("amount"), item.get("payee_name"), item.get("note")
            if (
                type(reference) is str
                and len(reference) <= MAX_REFERENCE
                and reference.strip()
                and "\x00" not in reference
                and type(payer) is str
                and len(payer) <= 100
                and payer.strip()
                and "\x00" not in payer
                and type(payee) is str
                and PAYEE_FA.fullmatch(payee)
                and type(amount) is str
                and WHOLE_VND.fullmatch(amount)
                and item.get("currency_code") == "VND"
                and type(name) is str
                and len(name) <= 200
                and name.strip()
                and "\x00" not in name
                and (note is None or (type(note) is str and len(note) <= 99 and note.strip() and "\x00" not in note))
                and (max_amount_vnd is None or int(amount) <= max_amount_vnd)
            ):
                append(Disbursement(reference, payer, payee, name, int(amount), note))
                continue
        if (disbursement := _disbursement(index, item, errors, max_amount_vnd)) is not None:
            append(disbursement)
    return checked


def disburse_request(body: Any, *, max_amount_vnd: int | None = None) -> DisburseRequest:
    """Check a ``POST /disburse`` body; raises :class:`Refused` naming every problem. ``max_amount_vnd``: the payer's
    limit per transfer at this bank (:attr:`disburse.sandbox.bank.Sandbox.max_amount_vnd`): an item above it is a
    problem of the message (``disbursements[i].amount``), as a real bank refuses a transfer over the account's limit;
    None: only the format's own limit (15 digits)."""
    header, message = envelope(body, "disburse")
    errors: list[str] = []
    sender_uri = header.get("sender_uri")
    if not (isinstance(sender_uri, str) and re.fullmatch(r"https?://[^\s]{1,490}", sender_uri)):
        errors.append("header.sender_uri: the http(s) URL to call back")
    sender_id = _text(header.get("sender_id"), 99)
    if sender_id is None:
        errors.append("header.sender_id: missing")
    transaction_id = _text(message.get("transaction_id"), 99)
    if transaction_id is None:
        errors.append("message.transaction_id: 1 to 99 characters")
    items = message.get("disbursements")
    if not isinstance(items, list) or not 0 < len(items) <= MAX_DISBURSEMENTS:
        errors.append(f"message.disbursements: a list of 1 to {MAX_DISBURSEMENTS}")
        items = []
    total = header.get("total_count")
    if total is not None and total != len(items):
        errors.append("header.total_count: must be the number of disbursements")
    disbursements = _disbursements(items, errors, max_amount_vnd)
    if errors:
        raise Refused("rjct.message.invalid", "the message is not valid; see errors", errors=errors)
    assert sender_id and transaction_id
    return DisburseRequest(str(header["message_id"]), sender_id, str(sender_uri), transaction_id, disbursements)


def status_request(body: Any) -> tuple[str | None, list[str] | None]:
    """A ``POST /disburse/txn/status`` body → (transaction_id, reference_ids): exactly one of them is asked for."""
    _header, message = envelope(body, "status")
    request = message.get("txnstatus_request")
    if not isinstance(request, dict):
        raise Refused("rjct.message.invalid", "message.txnstatus_request must be an object")
    kind, value = request.get("attribute_type"), request.get("attribute_value")
    if kind == "transaction_id" and _text(value, 99):
        return str(value), None
    if (
        kind == "reference_id_list"
        and isinstance(value, list)
        and 0 < len(value) <= MAX_DISBURSEMENTS
        and all(_text(v, MAX_REFERENCE) for v in value)
    ):
        return None, [str(v) for v in value]
    raise Refused(
        "rjct.message.invalid",
        "txnstatus_request: attribute_type transaction_id with a transaction id, or reference_id_list with 1 to "
        f"{MAX_DISBURSEMENTS} references",
    )
