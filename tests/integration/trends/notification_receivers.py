"""Real receivers for the notification tests: an SMTP server (aiosmtpd) and an HTTP receiver for
Slack, Teams and webhook payloads, each able to refuse for a while (an outage)."""

from __future__ import annotations

import contextlib
import email
import email.policy
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask, request

from devstack.postgres import free_port
from devstack.testing import internal_headers
from tests.common.servers import serve

ENGINEERS = ("eng_" + "a" * 24, "eng_" + "b" * 24, "eng_" + "c" * 24)


def admin():
    return internal_headers("admin")


def manager(*teams: str, subject: str = "manager-1"):
    return internal_headers("manager", teams=teams, subject=subject, kind="user")


@dataclass
class Mailbox:
    """What the SMTP server received; `down` answers 451 to every message."""

    messages: list = field(default_factory=list)
    down: bool = False

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        if self.down:
            return "451 4.3.0 Try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"rcpt_tos": list(envelope.rcpt_tos), "message": parsed})
        return "250 OK"


def password_check(login: bytes, password: bytes):
    """An aiosmtpd authenticator that accepts one login and password."""

    def check(_server, _session, _envelope, _mechanism, auth_data):
        accepted = (auth_data.login, auth_data.password) == (login, password)
        return AuthResult(success=accepted)

    return check


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.pem", folder / "smtp.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextlib.contextmanager
def smtp_server(authenticator=None, tls: tuple[Path, Path] | None = None):
    """A real SMTP server on a free port; yields its SMTP_URL and the mailbox. With an
    `authenticator`, AUTH is required (over plain SMTP: these tests have no certificate); with
    `tls` (certificate and key files), STARTTLS is required."""
    mailbox = Mailbox()
    port = free_port()
    options = {}
    if authenticator:
        options |= {"authenticator": authenticator, "auth_required": True}
        options |= {"auth_require_tls": False}
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        options |= {"tls_context": context, "require_starttls": True}
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}?from=alerts@cr.example", mailbox
    finally:
        controller.stop()


@dataclass
class Receiver:
    """What the HTTP receiver got, per path; `status` is what it answers."""

    calls: dict = field(default_factory=dict)
    status: int = 200

    def bodies(self, path: str) -> list:
        return [call["json"] for call in self.calls.get(path, [])]


@contextlib.contextmanager
def http_receiver() -> Iterator[tuple[str, Receiver]]:
    receiver = Receiver()
    app = Flask("receiver")

    @app.post("/<path:path>")
    def receive(path):
        receiver.calls.setdefault(path, []).append(
            {"json": request.get_json(), "headers": dict(request.headers), "raw": request.data}
        )
        return ("ok" if receiver.status < 300 else "receiver down"), receiver.status

    with serve(app) as base:
        yield base, receiver


def create_channel(client, name, kind, config):
    response = client.post(
        "/api/v1/notifications/channels",
        json={"name": name, "kind": kind, "config": config},
        headers=admin(),
    )
    assert response.status_code == 201, response.json
    return response.json


def create_route(client, channel_id, **settings):
    body = {"channel_id": channel_id, "group_interval_seconds": 0, **settings}
    response = client.post("/api/v1/notifications/routes", json=body, headers=admin())
    assert response.status_code == 201, response.json
    return response.json


def payload_text(message) -> tuple[str, str]:
    """The text and HTML parts of a received e-mail."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html
