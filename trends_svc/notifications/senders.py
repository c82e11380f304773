"""Sending one rendered message: e-mail through SMTP_URL (STARTTLS or TLS, with credentials),
JSON over HTTPS to Slack, Teams or a webhook (the webhook signed as the legacy one is). Every
send answers a Sent (the receiver's answer in short) or raises SendFailed; nothing is retried
here: the outbox does that."""

from __future__ import annotations

import json
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from trends_svc.notifications.targets import TargetRefused, check_target
from trends_svc.webhooks import signature

TIMEOUT_SECONDS = 10
ANSWER_CHARS = 200  # of the receiver's answer kept for the channel test and the delivery log


class SendFailed(RuntimeError):
    """The receiver refused or could not be reached. The message (kept as the delivery's
    last_error) is short and holds no data; `answer` is the receiver's own, for the channel test."""

    def __init__(self, reason: str, answer: str | None = None) -> None:
        super().__init__(reason)
        self.answer = answer or reason


class NotConfigured(SendFailed):
    """Nothing can be sent yet (SMTP_URL unset): the message waits, no attempt is counted."""


@dataclass(frozen=True)
class Sent:
    answer: str


@dataclass(frozen=True)
class Mailer:
    """SMTP_URL parsed: `smtp://user:pass@host:587?starttls=1&from=alerts@example.org` or
    `smtps://host:465`; `cafile=/path.pem` trusts a private CA (a company relay) for TLS."""

    host: str
    port: int
    tls: bool
    starttls: bool
    username: str | None
    password: str | None
    sender: str
    cafile: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Mailer:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if tls else 25),
            tls=tls,
            starttls=query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=query.get("from", [f"cr-assistant@{parts.hostname or 'localhost'}"])[0],
            cafile=query.get("cafile", [None])[0],
        )

    def send(self, recipients: list[str], message: dict[str, Any]) -> Sent:
        mail = EmailMessage()
        mail["Subject"] = message["subject"]
        mail["From"] = self.sender
        mail["To"] = ", ".join(recipients)
        mail["Message-ID"] = make_msgid(domain=self.sender.partition("@")[2] or None)
        mail.set_content(message["text"])
        mail.add_alternative(message["html"], subtype="html")
        context = ssl.create_default_context(cafile=self.cafile)
        try:
            smtp_class = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
            kwargs = {"context": context} if self.tls else {}
            with smtp_class(self.host, self.port, timeout=TIMEOUT_SECONDS, **kwargs) as smtp:
                if self.starttls:
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise SendFailed(f"SMTP {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(type(exc).__name__) from None
        if refused:
            raise SendFailed(f"SMTP refused {len(refused)} of {len(recipients)} recipients")
        return Sent(f"SMTP accepted {len(recipients)} recipient(s)")


def send_email(smtp_url: str, config: dict[str, Any], message: dict[str, Any]) -> Sent:
    if not smtp_url:
        raise NotConfigured("SMTP_URL is not set")
    return Mailer.from_url(smtp_url).send(config["recipients"], message)


def send_json(
    config: dict[str, Any],
    body: dict[str, Any],
    *,
    kind: str,
    delivery: str,
    production: bool,
    allowed: tuple[str, ...],
    http: Any = requests,
) -> Sent:
    """POST the JSON body; 2xx is delivered, anything else (a redirect too) is a failure."""
    url = config["url"]
    try:
        check_target(url, production=production, allowed=allowed)
    except TargetRefused as exc:
        raise SendFailed(f"refused: {exc}") from None
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if kind == "webhook":
        headers |= {"X-CR-Event": body.get("event", "alerts"), "X-CR-Delivery": delivery}
        if config.get("secret"):
            headers["X-CR-Signature"] = signature(data, config["secret"])
    try:
        response = http.post(
            url, data=data, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise SendFailed(type(exc).__name__) from None
    answer = f"HTTP {response.status_code}: {response.text[:ANSWER_CHARS]}".strip().rstrip(":")
    if not 200 <= response.status_code < 300:
        raise SendFailed(f"HTTP {response.status_code}", answer)
    return Sent(answer)
