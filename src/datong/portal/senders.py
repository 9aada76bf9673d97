"""How a text reaches a phone: a one-time sign-in code, a proactive notice.

The sender is chosen by ``DATONG_PORTAL_SENDER``. ``log`` writes the text to the server log (and
keeps the last few in memory, where the demo's page and the tests read them): for development
and the demo, never for production. ``http`` posts ``{"phone", "text"}`` to the operator's SMS
gateway at ``DATONG_PORTAL_SENDER_URL``; the gateway decides the carrier.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from datong.errors import DatongError
from datong.i18n import N_

log = logging.getLogger(__name__)


class SendFailed(DatongError):
    status = 503
    code = "sender_unavailable"
    message = N_("The text message could not be sent ({reason}). Try again in a minute, or sign in at a service window.")


@dataclass(frozen=True)
class Sent:
    phone: str
    text: str


class Sender(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class LogSender:
    """Development and demo: the text goes to the log; the last 100 stay readable in memory."""

    def __init__(self) -> None:
        self.sent: deque[Sent] = deque(maxlen=100)

    def send(self, phone: str, text: str) -> None:
        self.sent.append(Sent(phone, text))
        log.warning("text to %s: %s", phone, text)

    def last_to(self, phone: str) -> str | None:
        return next((s.text for s in reversed(self.sent) if s.phone == phone), None)


class HttpSender:
    """An SMS gateway reached over HTTP(S); its host is the operator's, so it is allowed though internal."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        from datong.sharing.callbacks import CallbackPolicy

        self.url, self.timeout = url, timeout
        self.policy = CallbackPolicy(urlsplit(url).hostname or "")

    def send(self, phone: str, text: str) -> None:
        body = json.dumps({"phone": phone, "text": text}, ensure_ascii=False).encode()
        delivered, error = self.policy.post(self.url, body, {}, self.timeout)
        if not delivered:
            raise SendFailed(reason=error or "?")


def sender_from_settings(settings) -> Sender:
    if settings.portal_sender == "http":
        return HttpSender(settings.portal_sender_url)
    return LogSender()
