"""flask --app gateway create-client / seed-demo / rotate-keys."""

import json
import time
from pathlib import Path

from gateway.app import create_app


def test_create_client_prints_id_and_secret_once(gateway_app, client):
    result = gateway_app.test_cli_runner().invoke(
        args=["create-client", "support-bot", "--role", "agent", "--team", "emea-1"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split(": ")[0] for line in lines] == ["client_id", "client_secret"]
    client_id, secret = (line.split(": ", 1)[1] for line in lines)
    token = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert token.status_code == 200


def test_unknown_role_is_refused(gateway_app):
    result = gateway_app.test_cli_runner().invoke(args=["create-client", "x", "--role", "root"])
    assert result.exit_code != 0
    assert "root" in result.output


def test_chosen_id_and_secret_from_stdin(gateway_app, client):
    runner = gateway_app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-client",
            "fixed",
            "--role",
            "admin",
            "--client-id",
            "fixed-id",
            "--secret-stdin",
        ],
        input="s3cret-value\n",
    )
    assert result.output.splitlines() == ["client_id: fixed-id", "client_secret: s3cret-value"]
    again = runner.invoke(
        args=["create-client", "fixed2", "--role", "admin", "--client-id", "fixed-id"]
    )
    assert again.exit_code != 0
    assert "exists already" in again.output


def test_seed_demo_creates_the_demo_agent_once(gateway_app, client):
    runner = gateway_app.test_cli_runner()
    assert "demo-agent" in runner.invoke(args=["seed-demo"]).output
    assert "already present" in runner.invoke(args=["seed-demo"]).output
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("demo-agent", "demo-agent-secret"),
    )
    assert token.status_code == 200


def test_seed_demo_is_refused_in_production(gateway_config, tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(Path(gateway_config["gateway_signing_keys"]).read_text())
    app = create_app(
        {
            **gateway_config,
            "cr_env": "production",
            "gateway_signing_keys": str(keys),
            "session_secret": "s" * 32,
            "rate_limit_storage": "memory",
        }
    )
    try:
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code != 0
        assert "never created when CR_ENV=production" in result.output
    finally:
        app.extensions["db_pool"].close()


def test_rotate_keys_publishes_the_new_key_at_once_and_signs_with_it_later(
    gateway_config, tmp_path
):
    config = {**gateway_config, "gateway_signing_keys": str(tmp_path / "jwks.json")}
    running = create_app(config)  # a gateway that keeps running through the rotation
    try:
        key_ring = running.extensions["key_ring"]
        key_ring.check_every = 0  # look at the file on every use (10 s in service)
        old_kid = key_ring.keys[-1].kid
        result = running.test_cli_runner().invoke(args=["rotate-keys"])
        new_kid = result.output.strip().split(": ")[1]

        published = [key["kid"] for key in running.test_client().get("/oauth/jwks").json["keys"]]
        assert published == [old_kid, new_kid]  # without a restart
        assert [key.kid for key in key_ring.signing] == [old_kid]  # not every gateway has it yet
        key_ring.clock = lambda: time.time() + key_ring.activation_delay + 1
        assert [key.kid for key in key_ring.signing] == [new_kid]
        stored = json.loads((tmp_path / "jwks.json").read_text())
        assert all("d" in key for key in stored["keys"])
    finally:
        running.extensions["db_pool"].close()
