"""The interface every payment provider implements, so that a real bank or a G2P payment switch can replace ours.

A provider receives payment orders in batches and tells us, later, what became of each one, by callback or when
asked. Three implementations: ``sandbox`` (a simulated bank speaking the G2P Connect disbursement API, with its own
ledger), ``bankfile`` (ISO 20022 files: pain.001 out, pain.002 and camt.054 in) and ``cash`` (paid at the office
against a receipt). The core speaks only these types; what a status means for a payment is decided by
:mod:`disburse.payments.service`.

Money is integer VND everywhere; a reference is our ``payments.provider_reference`` (the ISO 20022 EndToEndId,
the G2P Connect ``reference_id``): at most 35 characters, unique, never reused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

#: ISO 20022's limit for an EndToEndId, which our references must fit.
MAX_REFERENCE = 35


class ProviderStatus(StrEnum):
    """What a provider says of one order, in the words of G2P Connect (``rcvd``, ``pdng``, ``succ``, ``rjct``) and
    ISO 20022 (accepted, booked, rejected, returned)."""

    RECEIVED = "received"  # acknowledged, nothing decided (G2P rcvd; pain.002 ACTC)
    PENDING = "pending"  # on its way (G2P pdng; pain.002 ACSP/PDNG)
    PAID = "paid"  # credited to the payee (G2P succ; camt.054 booked credit; pain.002 ACSC)
    REJECTED = "rejected"  # not paid, with a reason (G2P rjct; pain.002 RJCT)
    RETURNED = "returned"  # paid, then sent back by the payee's bank (camt.054 return; G2P rjct after succ)
    UNKNOWN = "unknown"  # the provider has never seen this reference


#: How far along each status is: a status never replaces one further along (a late "pending" after "paid" is
#: ignored), so callbacks and polls may arrive in any order.
PROGRESS = {
    ProviderStatus.UNKNOWN: 0,
    ProviderStatus.RECEIVED: 1,
    ProviderStatus.PENDING: 2,
    ProviderStatus.PAID: 3,
    ProviderStatus.REJECTED: 3,
    ProviderStatus.RETURNED: 4,
}


@dataclass(frozen=True)
class PaymentOrder:
    """One transfer to make."""

    reference: str
    amount_vnd: int
    #: The payee's bank (VietQR/NAPAS short code, e.g. "VCB") and account; None for cash.
    bank_code: str | None
    bank_account: str | None
    payee_name: str
    #: Shown to the payee, e.g. "Ho tro NQ116 - 0100012345".
    note: str

    def __post_init__(self) -> None:
        if not 0 < len(self.reference) <= MAX_REFERENCE:
            raise ValueError(f"a reference has 1 to {MAX_REFERENCE} characters (got {self.reference!r})")
        if not isinstance(self.amount_vnd, int) or isinstance(self.amount_vnd, bool) or self.amount_vnd <= 0:
            raise ValueError(f"an amount is a positive whole number of VND (got {self.amount_vnd!r})")


@dataclass(frozen=True)
class StatusUpdate:
    """One thing a provider said about one order."""

    reference: str
    status: ProviderStatus
    #: The provider's reason code for a rejection or a return (e.g. "rjct.payee_fa.invalid", "AC04").
    reason_code: str | None = None
    reason_message: str | None = None
    #: When the provider says it happened (its clock), if it says.
    at: datetime | None = None
    #: The provider's own id of the message this came in, for de-duplication and audit.
    event_id: str | None = None
    amount_vnd: int | None = None


@dataclass(frozen=True)
class Acknowledgement:
    """The provider's immediate answer to a batch: taken (results come later) or refused whole."""

    accepted: bool
    #: The provider's id for the batch (G2P Connect correlation_id; a file name for bank files).
    correlation_id: str | None = None
    #: Statuses known at once (e.g. references refused on sight as duplicates).
    updates: tuple[StatusUpdate, ...] = ()
    message: str | None = None


class ProviderError(Exception):
    """The provider could not be reached or answered nonsense."""


class RetryableError(ProviderError):
    """Worth asking again later (timeout, 5xx, connection refused). A send that raised this may have arrived:
    ask for the references' status before sending again."""


class PermanentError(ProviderError):
    """Asking again will not help (4xx other than 429, a malformed answer)."""


class InvalidSignature(ProviderError):
    """A callback whose signature, timestamp or format does not check out: refused (401), kept for audit."""


class UnreadableCallback(ProviderError):
    """A callback whose signature checks out but whose body is not JSON: the provider's own fault, refused (400,
    not 401: the secret is right), kept for audit."""


class Provider(Protocol):
    name: str

    def send(self, batch_reference: str, orders: Sequence[PaymentOrder]) -> Acknowledgement:
        """Hand a batch of orders to the provider. Idempotent on the references: an order the provider already has
        is not paid again (it answers with the reference's status or a duplicate rejection)."""
        ...

    def status(self, references: Sequence[str]) -> list[StatusUpdate]:
        """What the provider knows of each reference now (``UNKNOWN`` for one it has never seen)."""
        ...

    def parse_event(self, body: bytes, headers: Mapping[str, str]) -> list[StatusUpdate]:
        """The updates in one callback, after checking its signature; raises :class:`InvalidSignature`."""
        ...


class CallbackProvider(Provider, Protocol):
    """A provider that calls us back: the callbacks endpoint checks and stores each callback (:meth:`verify`), and
    a worker reads the stored ones later (:meth:`read_event`); ``parse_event`` is the two in one."""

    def verify(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """The callback's JSON once its signature and timestamp check out; raises :class:`InvalidSignature`."""
        ...

    def read_event(self, payload: Any, event_id: str | None) -> list[StatusUpdate]:
        """The updates in a verified callback's JSON; raises :class:`PermanentError` for one we cannot read."""
        ...


#: What a bank statement entry can be: our account debited for a transfer, or credited when it came back.
STATEMENT_KINDS = ("settlement", "return")


@dataclass(frozen=True)
class StatementEntry:
    """One booking on the fund's account as the provider's statement shows it (the sandbox's ``/statement``, a
    ``camt.053`` end-of-day statement): a settlement (our account debited for ``reference``) or a return (credited
    back), in integer VND, booked at the provider's time."""

    reference: str
    kind: str
    amount_vnd: int
    booked_at: datetime

    def __post_init__(self) -> None:
        if self.kind not in STATEMENT_KINDS:
            raise ValueError(f"a statement entry is a settlement or a return (got {self.kind!r})")
        if not 0 < len(self.reference) <= MAX_REFERENCE:
            raise ValueError(f"a reference has 1 to {MAX_REFERENCE} characters (got {self.reference!r})")
        if not isinstance(self.amount_vnd, int) or isinstance(self.amount_vnd, bool) or self.amount_vnd <= 0:
            raise ValueError(f"an amount is a positive whole number of VND (got {self.amount_vnd!r})")
        if self.booked_at.tzinfo is None:
            raise ValueError("a booking time must be timezone-aware")
