"""Our side of the sandbox bank: :class:`SandboxProvider`, the :class:`~disburse.payments.providers.Provider` that
speaks its G2P Connect API over HTTP and checks its Standard Webhooks callbacks.

- HTTP with short timeouts; a timeout, a connection error, a 429 or a 5xx is :class:`RetryableError` (the batch
  may have arrived: ask the status before sending again; the bank never moves a reference twice anyway); any other
  4xx, or an answer that is not the API's, is :class:`PermanentError`. A NACK (the message refused whole) is an
  :class:`Acknowledgement` with ``accepted=False``.
- Callbacks: ``webhook-signature`` must hold a ``v1`` HMAC-SHA256 of ``{id}.{timestamp}.{body}`` under one of our
  secrets (several, while a secret is being rotated), and ``webhook-timestamp`` must be within 5 minutes; else
  :class:`InvalidSignature`.
- Statuses: ``rcvd`` → RECEIVED, ``pdng`` → PENDING, ``succ`` → PAID, ``rjct`` → REJECTED, ``rjct`` with
  ``rjct.returned`` → RETURNED. ``rjct.reference_id.duplicate`` says only that the bank already had the reference:
  it is replaced by the reference's real status, asked with :meth:`SandboxProvider.status`. The reason is read from
  G2P Connect's own fields, ``status_reason_code`` / ``status_reason_message`` (DisburseResponse), or from the
  ``reason_code`` / ``reason_message`` the sandbox sends today.
- One bad order never holds up the others. An order the bank's message cannot carry (no bank or account, an account
  that is not 6 to 19 digits: :func:`disburse.claims.outcomes.is_bank_account`) is left out of the message and
  answered at once as REJECTED ``rjct.payee_fa.malformed``. When the bank refuses a message and every problem it
  names is an item's (``disbursements[i].field: …``), the acknowledgement names those items: REJECTED with the G2P
  code of the field for the payee's own details (``payee_fa`` → ``rjct.payee_fa.invalid``, ``payee_name``), UNKNOWN
  (not taken, nobody's details at fault) for anything else; the caller sends the rest again
  (:func:`disburse.payments.sending.deliver`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from config import ConfigError
from disburse.claims.outcomes import is_bank_account
from disburse.payments.providers import (
    Acknowledgement,
    InvalidSignature,
    PaymentOrder,
    PermanentError,
    ProviderStatus,
    RetryableError,
    StatementEntry,
    StatusUpdate,
    UnreadableCallback,
)
from disburse.payments.reasons import PAYEE_FA_MALFORMED

G2P_STATUS = {
    "rcvd": ProviderStatus.RECEIVED,
    "pdng": ProviderStatus.PENDING,
    "succ": ProviderStatus.PAID,
    "rjct": ProviderStatus.REJECTED,
}
RETURNED = "rjct.returned"
DUPLICATE = "rjct.reference_id.duplicate"
#: An order left out of the message: its payee cannot be written ``account:<6 to 19 digits>@<BANK>``.
MALFORMED = PAYEE_FA_MALFORMED
#: The bank's name for a bank in a payee's financial address (VietQR/NAPAS short code).
_BANK_CODE = re.compile(r"[A-Z0-9]{2,11}")
#: A refused message's problem that names one of its items: ``disbursements[3].payee_fa: …`` (or ``disbursements[3]:``).
_ITEM_ERROR = re.compile(r"\s*disbursements\[([0-9]{1,6})\](?:\.([a-z_]{1,40}))?\s*:")
#: The item fields that are the payee's own details, with the G2P Connect reason code for each (DisburseStatusReason
#: Code; the sandbox's own ``rjct.payee_name.mismatch`` family for the name). A refusal for any other field is ours
#: (a reference, an amount, a currency, the payer): it fails nobody.
PAYEE_FIELDS = {"payee_fa": "rjct.payee_fa.invalid", "payee_name": "rjct.payee_name.invalid"}
#: Connect within 2 s, and every read within 10 s: a bank that hangs costs a worker seconds, never minutes.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=2.0)
STATUS_CHUNK = 1000


def timeout_from(read_s: float | None) -> httpx.Timeout:
    """Our timeouts for a read timeout of ``read_s`` seconds (``DISBURSE_SANDBOX_TIMEOUT_S``; None: the default)."""
    if read_s is None:
        return DEFAULT_TIMEOUT
    return httpx.Timeout(float(read_s), connect=min(2.0, float(read_s)))


def _secrets(value: str | Sequence[str]) -> list[str]:
    """``"whsec_new whsec_old"`` (or a list) → the secrets, newest first."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    return [item for item in items if item]


def _amount(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _reason(item: Mapping[str, Any], part: str) -> str | None:
    """The status's reason ``part`` (code or message): G2P Connect's ``status_reason_<part>``, else the sandbox's
    ``reason_<part>``; None when neither is a non-empty string."""
    for key in (f"status_reason_{part}", f"reason_{part}"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def update_from(item: Mapping[str, Any], event_id: str | None = None) -> StatusUpdate:
    """One G2P ``disbursement status`` object → a :class:`StatusUpdate`; raises :class:`PermanentError` for anything
    else (not an object, no reference or status we know, a reference or an amount a StatusUpdate refuses)."""
    if not isinstance(item, Mapping):
        raise PermanentError(f"the sandbox sent a status that is not an object: {item!r}"[:300])
    reference, status = item.get("reference_id"), item.get("status")
    code, message = _reason(item, "code"), _reason(item, "message")
    if not isinstance(reference, str) or not isinstance(status, str) or status not in G2P_STATUS:
        raise PermanentError(f"the sandbox sent a status we cannot read: {dict(item)!r}"[:300])
    mapped = ProviderStatus.RETURNED if status == "rjct" and code == RETURNED else G2P_STATUS[status]
    try:
        return StatusUpdate(
            reference=reference,
            status=mapped,
            reason_code=code,
            reason_message=message,
            at=_moment(item.get("timestamp")),
            event_id=event_id,
            amount_vnd=_amount(item.get("amount")),
        )
    except (TypeError, ValueError) as exc:
        raise PermanentError(f"the sandbox sent a status we cannot read ({exc}): {dict(item)!r}"[:300]) from exc


class SandboxProvider:
    """The sandbox bank, as disburse's payment provider."""

    name = "sandbox"

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        webhook_secret: str | Sequence[str],
        callback_url: str,
        sender_id: str = "disburse",
        payer_fa: str = "account:UIFUND@SANDBOX",
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.callback_url = callback_url
        self.sender_id = sender_id
        self.payer_fa = payer_fa
        self._verifiers = [Webhook(secret) for secret in _secrets(webhook_secret)]
        if not self._verifiers:
            raise ValueError("the sandbox provider needs at least one webhook secret (whsec_…)")
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}"},
            follow_redirects=False,
            transport=transport,
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SandboxProvider:
        """Built from the app's configuration. Production refuses the sandbox unless
        ``DISBURSE_SANDBOX_IN_PRODUCTION`` is set, and needs its token and webhook secret."""
        check_sandbox_allowed(config)
        return cls(
            config["DISBURSE_SANDBOX_URL"],
            token=config["DISBURSE_SANDBOX_TOKEN"],
            webhook_secret=config["DISBURSE_SANDBOX_WEBHOOK_SECRET"],
            callback_url=config["DISBURSE_SANDBOX_CALLBACK_URL"],
            timeout=timeout_from(config.get("DISBURSE_SANDBOX_TIMEOUT_S")),
        )

    def close(self) -> None:
        self._client.close()

    # --------------------------------------------------------------------------------------------- HTTP

    def _request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """The answer, or :class:`RetryableError` for a timeout, a connection error, a 429 or a 5xx."""
        try:
            response = self._client.request(method, path, **options)
        except httpx.TimeoutException as exc:
            raise RetryableError(f"the sandbox did not answer {path} in time: {exc}") from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"the sandbox could not be reached for {path}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableError(f"the sandbox answered {path} with HTTP {response.status_code}")
        return response

    def _post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        response = self._request("POST", path, json=body)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400 and not _is_refusal(answer):
            raise PermanentError(f"the sandbox answered {path} with HTTP {response.status_code}")
        if not isinstance(answer, dict):
            raise PermanentError(f"the sandbox's answer to {path} is not JSON")
        return response.status_code, answer

    def _header(self, action: str, total: int) -> dict[str, Any]:
        return {
            "version": "1.0.0",
            "message_id": f"msg_{uuid.uuid4().hex}",
            "message_ts": datetime.now(UTC).isoformat(),
            "action": action,
            "sender_id": self.sender_id,
            "sender_uri": self.callback_url,
            "receiver_id": "sandbox-bank",
            "total_count": total,
            "is_msg_encrypted": False,
        }

    # ------------------------------------------------------------------------------------------ Provider

    def send(self, batch_reference: str, orders: Sequence[PaymentOrder]) -> Acknowledgement:
        """Hand ``orders`` to the bank in one ``POST /disburse``. Orders the message cannot carry are left out and
        answered REJECTED (:data:`MALFORMED`) in the acknowledgement; when nothing is left, the bank is not called and
        the answer is an acceptance of nothing. A refusal whose problems all name items names them in ``updates``
        (see the module's docstring)."""
        disbursements: list[dict[str, Any]] = []
        left_out: list[StatusUpdate] = []
        for order in orders:
            if not _payable(order):
                left_out.append(
                    StatusUpdate(
                        reference=order.reference,
                        status=ProviderStatus.REJECTED,
                        reason_code=MALFORMED,
                        reason_message="the bank or the account number (6 to 19 digits) is missing or malformed",
                    )
                )
                continue
            disbursements.append(
                {
                    "reference_id": order.reference,
                    "payer_fa": self.payer_fa,
                    "payee_fa": f"account:{order.bank_account}@{order.bank_code}",
                    "amount": str(order.amount_vnd),
                    "currency_code": "VND",
                    "payee_name": order.payee_name,
                    "note": order.note[:99],
                }
            )
        if not disbursements:
            return Acknowledgement(accepted=True, updates=tuple(left_out))
        body = {
            "signature": None,
            "header": self._header("disburse", len(disbursements)),
            "message": {"transaction_id": batch_reference, "disbursements": disbursements},
        }
        _code, answer = self._post("/disburse", body)
        message = answer.get("message")
        if not isinstance(message, dict):
            raise PermanentError("the sandbox's answer to /disburse is not a G2P Connect acknowledgement")
        if message.get("ack_status") == "ACK":
            return Acknowledgement(accepted=True, correlation_id=message.get("correlation_id"), updates=tuple(left_out))
        error = message.get("error")
        error = error if isinstance(error, dict) else {}
        problems = [str(problem) for problem in error.get("errors") or []]
        detail = "; ".join([str(error.get("message", "refused")), *problems])
        named = _refused_items(problems, disbursements)
        return Acknowledgement(
            accepted=False,
            message=f"{message.get('ack_status')}: {detail}"[:2000],
            updates=(*left_out, *named),
        )

    def status(self, references: Sequence[str]) -> list[StatusUpdate]:
        known: dict[str, StatusUpdate] = {}
        for start in range(0, len(references), STATUS_CHUNK):
            chunk = list(references[start : start + STATUS_CHUNK])
            body = {
                "signature": None,
                "header": self._header("status", len(chunk)),
                "message": {
                    "transaction_id": f"status-{uuid.uuid4().hex}",
                    "txnstatus_request": {
                        "txn_type": "disburse",
                        "attribute_type": "reference_id_list",
                        "attribute_value": chunk,
                    },
                },
            }
            code, answer = self._post("/disburse/txn/status", body)
            if code != 200:
                raise PermanentError(f"the sandbox refused a status request: {answer!r}"[:300])
            try:
                items = answer["message"]["txnstatus_response"]["txn_status"]
            except (KeyError, TypeError) as exc:
                raise PermanentError("the sandbox's status answer is not G2P Connect's shape") from exc
            for item in items:
                update = update_from(item)
                known[update.reference] = update
        return [known.get(ref) or StatusUpdate(reference=ref, status=ProviderStatus.UNKNOWN) for ref in references]

    def verify(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """The callback's JSON once its signature and timestamp check out; raises :class:`InvalidSignature`, or
        :class:`UnreadableCallback` for a body that is signed but not JSON."""
        plain = {key.lower(): value for key, value in headers.items()}
        last = "no signature"
        for verifier in self._verifiers:
            try:
                return verifier.verify(body, plain)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # read only once the signature matched
                raise UnreadableCallback(f"signed, but the body is not JSON: {exc}"[:300]) from exc
            except WebhookVerificationError as exc:
                last = str(exc)
                if "timestamp" in last.lower() or "headers" in last.lower():
                    break  # the same answer under every secret
            except (ValueError, TypeError) as exc:  # a malformed signature list, base64 or body
                last = f"malformed callback: {type(exc).__name__}"
                break
        raise InvalidSignature(last)

    def parse_event(self, body: bytes, headers: Mapping[str, str]) -> list[StatusUpdate]:
        payload = self.verify(body, headers)
        return self.read_event(payload, {key.lower(): value for key, value in headers.items()}.get("webhook-id"))

    def read_event(self, payload: Any, event_id: str | None) -> list[StatusUpdate]:
        """The updates in a callback already verified (:meth:`verify`; the callbacks endpoint stores it and a worker
        reads it). A duplicate rejection is replaced by what the bank says of the reference itself, asked with
        :meth:`status` (so this may raise :class:`RetryableError`)."""
        try:
            items = payload["message"]["disbursements_status"]
            if not isinstance(items, list):
                raise TypeError("disbursements_status is not a list")
        except (KeyError, TypeError) as exc:
            raise PermanentError("a signed sandbox callback that is not an on-disburse message") from exc
        updates = [update_from(item, event_id) for item in items]
        duplicates = [u.reference for u in updates if u.reason_code == DUPLICATE]
        if not duplicates:
            return updates
        # "Duplicate" is not news about the transfer: report what the bank says of the reference itself.
        real = {u.reference: u for u in self.status(duplicates)}
        return [_with_event(real[u.reference], event_id) if u.reason_code == DUPLICATE else u for u in updates]

    def statement(self, day: date) -> list[StatementEntry]:
        """Every settlement and return the sandbox booked on our account that day (Vietnam's day), from
        ``GET /statement?date=YYYY-MM-DD``. Errors as for the other calls: :class:`RetryableError` for a timeout, a
        connection error, a 429 or a 5xx; :class:`PermanentError` for any other 4xx or an answer we cannot read."""
        path = f"/statement?date={day.isoformat()}"
        response = self._request("GET", "/statement", params={"date": day.isoformat()})
        if response.status_code != 200:
            raise PermanentError(f"the sandbox answered {path} with HTTP {response.status_code}")
        try:
            items = response.json()["entries"]
            return [self._statement_entry(item) for item in items]
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(f"the sandbox's statement is not in its documented shape: {exc}"[:300]) from exc

    @staticmethod
    def _statement_entry(item: Mapping[str, Any]) -> StatementEntry:
        """One ``/statement`` entry (the payer side: a settlement debits us, a return credits us back)."""
        amount, booked_at = _amount(item["amount"]), _moment(item["booked_at"])
        if item.get("currency_code", "VND") != "VND" or amount is None or booked_at is None:
            raise ValueError(f"an entry we cannot read: {dict(item)!r}")
        return StatementEntry(item["reference_id"], item["type"], amount, booked_at)


def _payable(order: PaymentOrder) -> bool:
    """Whether the order's payee can be written as the bank takes it: ``account:<6 to 19 digits>@<BANK>``."""
    return bool(order.bank_code and _BANK_CODE.fullmatch(order.bank_code)) and is_bank_account(order.bank_account)


def _refused_items(problems: Sequence[str], disbursements: Sequence[Mapping[str, Any]]) -> list[StatusUpdate]:
    """The items a refused message's ``problems`` name, when every problem names one (otherwise the message itself
    is wrong: nothing is named, and the whole message waits for the cause to be fixed). An item refused for the
    payee's own details (among others or not) is REJECTED with that field's code; one refused only for anything
    else is UNKNOWN: not taken, and failing nobody."""
    fields: dict[int, list[str]] = {}
    for problem in problems:
        match = _ITEM_ERROR.match(problem)
        if match is None or int(match.group(1)) >= len(disbursements):
            return []
        fields.setdefault(int(match.group(1)), []).append(match.group(2) or "")
    named = []
    for index, names in sorted(fields.items()):
        item, problem = disbursements[index], "; ".join(p for p in problems if _item_index(p) == index)
        payee = [name for name in names if name in PAYEE_FIELDS]
        status = ProviderStatus.REJECTED if payee else ProviderStatus.UNKNOWN
        code = PAYEE_FIELDS[payee[0]] if payee else None
        named.append(StatusUpdate(str(item["reference_id"]), status, reason_code=code, reason_message=problem[:200]))
    return named


def _item_index(problem: str) -> int | None:
    match = _ITEM_ERROR.match(problem)
    return int(match.group(1)) if match else None


def _with_event(update: StatusUpdate, event_id: str | None) -> StatusUpdate:
    return StatusUpdate(
        reference=update.reference,
        status=update.status,
        reason_code=update.reason_code,
        reason_message=update.reason_message,
        at=update.at,
        event_id=event_id,
        amount_vnd=update.amount_vnd,
    )


def _is_refusal(answer: Any) -> bool:
    """A G2P NACK / ERR acknowledgement (the message refused whole), as opposed to any other 4xx."""
    message = answer.get("message") if isinstance(answer, dict) else None
    return isinstance(message, dict) and message.get("ack_status") in {"NACK", "ERR"}


def check_sandbox_allowed(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` where the sandbox must not run: in production unless
    ``DISBURSE_SANDBOX_IN_PRODUCTION=1``, or without its token and webhook secret."""
    if config.get("ENV_NAME") == "production" and not config.get("DISBURSE_SANDBOX_IN_PRODUCTION"):
        raise ConfigError(
            "ngân hàng thử nghiệm không được dùng trong production: đặt DISBURSE_PAYMENT_PROVIDER là một bên chi trả "
            "thật, hoặc DISBURSE_SANDBOX_IN_PRODUCTION=1 để diễn tập",
            "the sandbox bank is refused in production: set DISBURSE_PAYMENT_PROVIDER to a real provider, or "
            "DISBURSE_SANDBOX_IN_PRODUCTION=1 for a rehearsal",
        )
    missing = [n for n in ("DISBURSE_SANDBOX_TOKEN", "DISBURSE_SANDBOX_WEBHOOK_SECRET") if not config.get(n)]
    if missing:
        raise ConfigError(
            "ngân hàng thử nghiệm cần đặt các biến môi trường sau: " + ", ".join(missing),
            "the sandbox bank needs these environment variables set: " + ", ".join(missing),
        )


__all__ = ["MALFORMED", "PAYEE_FIELDS", "SandboxProvider", "check_sandbox_allowed", "update_from"]
