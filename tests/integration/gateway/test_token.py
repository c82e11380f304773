"""POST /oauth/token with client_credentials, discovery and JWKS."""

import psycopg
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.app import create_app
from shared.config import ConfigError


def test_client_credentials_gives_a_jwt_with_roles_and_teams(client, make_client):
    client_id, secret = make_client("manager", teams=("emea-1",))
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer"
    assert response.json["expires_in"] == 3600

    keys = KeySet.import_key_set(client.get("/oauth/jwks").json)
    decoded = jwt.decode(response.json["access_token"], keys, algorithms=["RS256"])
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.header["kid"] == keys.keys[0].kid
    claims = decoded.claims
    assert claims["iss"] == "http://gateway.test"
    assert claims["aud"] == "cr-assistant-api"
    assert claims["sub"] == client_id
    assert claims["roles"] == ["manager"]
    assert claims["teams"] == ["emea-1"]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["client_id"] == client_id
    assert claims["nbf"] <= claims["iat"] + 1
    assert claims["scope"] == ""
    assert len(claims["jti"]) >= 16


def test_secret_in_the_form_body_works_too(client, make_client):
    client_id, secret = make_client("agent")
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200


def test_wrong_secret_and_unknown_client_are_invalid_client(client, make_client):
    client_id, _ = make_client("agent")
    wrong = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, "not-the-secret"),
    )
    assert wrong.status_code == 401
    assert wrong.json["error"] == "invalid_client"
    unknown = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "x")
    )
    assert unknown.status_code == 401
    assert unknown.json["error"] == "invalid_client"


def test_unsupported_grant_is_refused(client, make_client):
    client_id, secret = make_client("agent")
    response = client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "u", "password": "p"},
        auth=(client_id, secret),
    )
    assert response.status_code == 400
    assert response.json["error"] == "unsupported_grant_type"


def test_secret_is_stored_only_as_a_hash(make_client, database_url):
    client_id, secret = make_client("agent")
    with psycopg.connect(database_url) as conn:
        stored = conn.execute(
            "SELECT secret_hash FROM gateway.oauth_clients WHERE client_id = %s", [client_id]
        ).fetchone()[0]
    assert secret not in stored
    assert stored.startswith("$argon2")


def test_discovery_names_the_endpoints(client):
    document = client.get("/.well-known/openid-configuration").json
    assert document["issuer"] == "http://gateway.test"
    assert document["token_endpoint"] == "http://gateway.test/oauth/token"
    assert document["jwks_uri"] == "http://gateway.test/oauth/jwks"
    assert "client_credentials" in document["grant_types_supported"]
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]


def test_jwks_publishes_no_private_parts(client):
    for key in client.get("/oauth/jwks").json["keys"]:
        assert key["kty"] == "RSA"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_production_without_a_signing_key_file_refuses_to_start(gateway_config, tmp_path):
    config = {
        **gateway_config,
        "cr_env": "production",
        "gateway_signing_keys": str(tmp_path / "missing.json"),
        "session_secret": "s" * 32,
    }
    with pytest.raises(ConfigError, match="GATEWAY_SIGNING_KEYS"):
        create_app(config)
    assert not (tmp_path / "missing.json").exists()


def test_key_file_is_created_on_first_use_outside_production(gateway_config, tmp_path):
    path = tmp_path / "data" / "gateway_jwks.json"
    app = create_app(
        {**gateway_config, "gateway_signing_keys": "", "data_dir": str(tmp_path / "data")}
    )
    try:
        assert path.exists()
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert app.test_client().get("/oauth/jwks").json["keys"][0]["kid"] == (
            app.extensions["key_ring"].keys[-1].kid
        )
    finally:
        app.extensions["db_pool"].close()
