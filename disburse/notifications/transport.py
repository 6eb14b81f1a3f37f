"""How a message leaves: SMTP (Python's ``smtplib``), or an .eml file in a folder (Development and Test without an
SMTP server, so that a demo user can open what would have been sent).

Every failure is told as :class:`TemporaryFailure` (try again later: a 4xx reply, no connection, a timeout) or
:class:`PermanentFailure` (never: a 5xx reply, an address the server refuses).
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

from disburse.formatting import os_reason


class DeliveryFailure(Exception):
    """Why a message was not delivered, in words for the outbox's ``last_error``."""


class TemporaryFailure(DeliveryFailure):
    """Try again later. ``connection``: the server could not be reached at all (no use trying the next message)."""

    def __init__(self, reason: str, *, connection: bool = False) -> None:
        super().__init__(reason)
        self.connection = connection


class PermanentFailure(DeliveryFailure):
    """Never try again."""


class Transport:
    """Sends messages, one connection for a batch: use as a context manager."""

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def send(self, message: EmailMessage) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the transport holds."""


class FileTransport(Transport):
    """Each message as ``<folder>/<Message-ID's local part>.eml``, written whole (a temporary file renamed): a resend
    of the same message replaces its file."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> None:
        name = str(message["Message-ID"]).strip("<>").split("@")[0]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(message.as_bytes())
            os.replace(temporary, self.folder / f"{name}.eml")
        except OSError as exc:
            vi, en = os_reason(exc)
            raise TemporaryFailure(
                f"không ghi được vào {self.folder}: {vi} / cannot write {self.folder}: {en}"
            ) from exc


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {words}".strip()


class SmtpTransport(Transport):
    """``smtp://user:password@host:port`` (STARTTLS when the server offers it; required on 587) or ``smtps://…``
    (TLS from the start). The connection is opened at the first message and kept for the batch."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        try:
            if self.tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            smtp.ehlo()
            if not self.tls and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            elif not self.tls and (self.port == 587 or self.user is not None):
                # A password never goes over a connection in clear text (nor anything on the submission port).
                smtp.close()
                raise TemporaryFailure(f"{self.host}:{self.port} does not offer STARTTLS", connection=True)
            if self.user is not None:
                smtp.login(self.user, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure(
                f"SMTP login refused: {_reply(exc.smtp_code, exc.smtp_error)}", connection=True
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"cannot reach {self.host}:{self.port}: {exc}", connection=True) from exc
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = self._connect()
        try:
            refused = self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._after_refusal()
            if 400 <= code < 500:
                raise TemporaryFailure(f"recipient refused for now: {_reply(code, text)}") from exc
            raise PermanentFailure(f"recipient refused: {_reply(code, text)}") from exc
        except smtplib.SMTPNotSupportedError as exc:  # an address with non-ASCII letters, a server without SMTPUTF8
            self._after_refusal()
            raise PermanentFailure(f"the SMTP server cannot take this message: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            self._after_refusal()
            if 400 <= exc.smtp_code < 500:
                raise TemporaryFailure(f"SMTP server answered {_reply(exc.smtp_code, exc.smtp_error)}") from exc
            raise PermanentFailure(f"SMTP server answered {_reply(exc.smtp_code, exc.smtp_error)}") from exc
        except (OSError, smtplib.SMTPException) as exc:  # a dropped connection, a timeout
            self.close()
            raise TemporaryFailure(f"SMTP conversation broke off: {exc}", connection=True) from exc
        if refused:  # one address per message: a partial refusal is a refusal
            code, text = next(iter(refused.values()))
            raise PermanentFailure(f"recipient refused: {_reply(code, text)}")

    def _after_refusal(self) -> None:
        """A refused transaction leaves the connection usable after RSET; one that cannot take it is closed."""
        if self.smtp is None:
            return
        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None
