"""A real SMTP server (aiosmtpd, in a thread, on a free port) that the notification tests send to and read back."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask


@dataclass
class Mailbox:
    """What the server received, and the replies it is told to give: ``rcpt_replies`` maps an address to a list of
    replies used in turn (``"451 …"`` a temporary refusal, ``"550 …"`` a permanent one); then it accepts."""

    received: list[EmailMessage] = field(default_factory=list)
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)
    #: Seconds the server waits, once it has a message, before it says it took it (a sender killed meanwhile).
    hold_s: float = 0.0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        replies = self.rcpt_replies.get(address.lower())
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        if self.hold_s:
            await asyncio.sleep(self.hold_s)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def smtp(app: Flask, smtp_server: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    """The app sends to the test's SMTP server."""
    mailbox, port = smtp_server
    monkeypatch.setitem(app.config, "DISBURSE_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_TRANSPORT", "smtp")
    monkeypatch.setitem(app.config, "DISBURSE_MAIL_FROM", "BHXH <no-reply@bhxh.example.vn>")
    monkeypatch.setitem(app.config, "DISBURSE_BASE_URL", "https://chitra.example.vn")
    monkeypatch.setitem(app.config, "DISBURSE_SMTP_TIMEOUT_S", 5.0)
    return mailbox
