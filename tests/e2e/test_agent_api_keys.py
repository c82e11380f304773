"""API keys for agents that use a GPT Action's "API key" option: made with the CLI, sent as
`Authorization: Bearer <key>`, listed without the key, revoked or expired -> 401, audited."""

import psycopg

from tests.common.builders import make_session
from tests.common.platform import gateway_command


def audit_events(admin, action: str) -> list[dict]:
    answer = admin.request("GET", "/api/v1/audit", params={"action": action, "limit": 100})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def listed(platform, name: str) -> dict[str, str]:
    """The row of `list-api-keys` for the key `name`, by column."""
    done = gateway_command(platform.env, "list-api-keys")
    assert done.returncode == 0, done.stderr
    header, *rows = [line.split("\t") for line in done.stdout.splitlines()]
    return next(dict(zip(header, row, strict=True)) for row in rows if row[0] == name)


def test_agent_key_story_create_use_list_revoke(platform, make_api_key, admin):
    key = make_api_key("gpt-action-story", "agent")
    assert key.key.startswith(f"cra_{key.prefix}.")

    body = make_session(team="keys-team")
    stored = key.request("POST", "/api/v1/sessions", json=body)
    assert stored.status_code == 201, stored.text
    compared = key.request("POST", "/api/v1/history/compare", json={"engineer": "Anna Berg"})
    assert compared.status_code == 200, compared.text
    assert compared.json()["engineer_code"] == stored.json()["engineer_code"]

    row = listed(platform, "gpt-action-story")
    assert row["prefix"] == key.prefix
    assert row["roles"] == "agent"
    assert row["status"] == "active"
    assert row["expires_at"] == "-"
    assert row["last_used_at"] != "-"
    everything = gateway_command(platform.env, "list-api-keys").stdout
    assert key.key not in everything
    assert key.key.split(".", 1)[1] not in everything

    revoked = gateway_command(platform.env, "revoke-api-key", "gpt-action-story")
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"revoked: {key.prefix}"
    refused = key.request("POST", "/api/v1/sessions", json=make_session(team="keys-team"))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert listed(platform, "gpt-action-story")["status"] == "revoked"

    revocations = [
        event
        for event in audit_events(admin, "api_key.revoke")
        if event["object"] == f"api-key {key.prefix}"
    ]
    assert len(revocations) == 1
    assert revocations[0]["outcome"] == "success"


def test_use_is_recorded_once_a_minute_and_audited_once_a_day(platform, make_api_key, admin):
    key = make_api_key("gpt-action-use", "agent")
    assert listed(platform, "gpt-action-use")["last_used_at"] == "-"
    compare = {"engineer": "Anna Berg"}
    assert key.request("POST", "/api/v1/history/compare", json=compare).status_code == 200
    first_use = listed(platform, "gpt-action-use")["last_used_at"]
    assert first_use != "-"
    for _ in range(2):
        assert key.request("POST", "/api/v1/history/compare", json=compare).status_code == 200
    assert listed(platform, "gpt-action-use")["last_used_at"] == first_use  # no write per call
    uses = [
        event
        for event in audit_events(admin, "api_key.use")
        if event["actor"] == f"api-key:{key.prefix}"
    ]
    assert len(uses) == 1
    # the calls themselves are audited as REST calls are: a name turned into its pseudonym
    lookups = [
        event
        for event in audit_events(admin, "engineers.lookup")
        if event["actor"] == f"api-key:{key.prefix}"
    ]
    assert len(lookups) == 3


def test_expired_key_gets_401(platform, platform_db, make_api_key):
    key = make_api_key("gpt-action-expiring", "agent", expires_days=1)
    assert key.request("POST", "/api/v1/sessions", json=make_session()).status_code == 201
    assert listed(platform, "gpt-action-expiring")["expires_at"] != "-"
    with psycopg.connect(platform_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE gateway.api_keys SET expires_at = now() - interval '1 second' "
            "WHERE prefix = %s",
            [key.prefix],
        )
    assert key.request("POST", "/api/v1/sessions", json=make_session()).status_code == 401
    assert listed(platform, "gpt-action-expiring")["status"] == "expired"


def test_unknown_or_altered_keys_get_401(platform, make_api_key):
    key = make_api_key("gpt-action-altered", "agent")
    prefix, secret = key.key.split(".", 1)
    altered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for forged in (f"{prefix}.{altered}", f"cra_000000000000.{secret}", "cra_short"):
        key.session.headers["Authorization"] = f"Bearer {forged}"
        assert key.request("POST", "/api/v1/sessions", json=make_session()).status_code == 401


def test_a_key_has_its_roles_only(make_api_key):
    agent = make_api_key("gpt-action-roles", "agent")
    assert agent.request("GET", "/api/v1/sessions").status_code == 403  # readers only
    assert agent.request("GET", "/api/v1/audit").status_code == 403  # admins only


def test_cli_refuses_a_second_live_key_of_the_same_name_and_personal_names(platform, make_api_key):
    make_api_key("gpt-action-twice", "agent")
    again = gateway_command(platform.env, "create-api-key", "gpt-action-twice", "--role", "agent")
    assert again.returncode != 0
    assert "exists already" in again.stderr
    e_mail = gateway_command(
        platform.env, "create-api-key", "anna.berg@example.com", "--role", "agent"
    )
    assert e_mail.returncode != 0
    assert "anna.berg@example.com" not in e_mail.stderr + e_mail.stdout
    unknown = gateway_command(platform.env, "revoke-api-key", "no-such-key")
    assert unknown.returncode != 0
