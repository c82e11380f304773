"""Reviewer identity: the display name travels from the gateway's access token into the signed
internal token and out of it at the service; odd names count as none."""

import json

import pytest
from joserfc.jwk import RSAKey

from gateway.bearer import _display_name
from qa_svc.reviewers import UNNAMED, display_name
from shared.tokens import GatewayKeys, InternalTokenVerifier, Principal, sign_internal_token

GATEWAY = RSAKey.generate_key(2048, parameters={"kid": "unit-gateway"})


@pytest.fixture
def verifier(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [GATEWAY.as_dict(private=False)]}))
    return InternalTokenVerifier("qa", GatewayKeys(str(path)))


def test_the_name_survives_the_internal_token(verifier):
    lead = Principal("3f1c-lead", frozenset({"qa_lead"}), kind="user", name="Quinn QA")
    principal, _ = verifier.verify(sign_internal_token(lead, GATEWAY, audience="qa"))
    assert (principal.subject, principal.name, display_name(principal)) == (
        "3f1c-lead",
        "Quinn QA",
        "Quinn QA",
    )
    client = Principal("cr-0123", frozenset({"qa_lead"}))
    principal, _ = verifier.verify(sign_internal_token(client, GATEWAY, audience="qa"))
    assert (principal.name, display_name(principal)) == ("", UNNAMED)


@pytest.mark.parametrize(
    ("claim", "name"),
    [
        ("qa", "qa"),
        ("  Quinn QA ", "Quinn QA"),
        ("x" * 100, "x" * 80),
        (None, ""),
        (42, ""),
        (["qa"], ""),
        ("line\nbreak", ""),
    ],
)
def test_the_name_claim_becomes_a_display_name(claim, name):
    assert _display_name(claim) == name
