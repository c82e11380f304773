"""Abuse limits: 429 with Retry-After on sign-in, token and API floods; where the counters live."""

from pathlib import Path

import pytest
from limits.storage import RedisStorage

from gateway.app import create_app
from gateway.windows import MovingWindows
from shared.config import ConfigError, load_settings
from tests.common.ports import refusing_url


def limited_app(gateway_config, **limits):
    return create_app({**gateway_config, **limits})


def test_login_attempts_are_throttled_per_ip(gateway_config):
    app = limited_app(gateway_config, rate_limit_login="3 per minute")
    try:
        client = app.test_client()
        statuses = [
            client.post("/login", data={"email": "x@y.z", "password": "p"}).status_code
            for _ in range(4)
        ]
        assert statuses == [400, 400, 400, 429]
        assert client.get("/login").status_code == 200  # only posts count
    finally:
        app.extensions["db_pool"].close()


def test_token_requests_are_throttled_with_retry_after(gateway_config):
    app = limited_app(gateway_config, rate_limit_token="2 per minute")
    try:
        client = app.test_client()
        answers = [
            client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "x")
            )
            for _ in range(3)
        ]
        assert [answer.status_code for answer in answers] == [401, 401, 429]
        assert int(answers[2].headers["Retry-After"]) > 0
        assert answers[2].json["status"] == 429
    finally:
        app.extensions["db_pool"].close()


def test_api_calls_are_throttled_per_caller(gateway_config, make_client):
    app = limited_app(gateway_config, rate_limit_api="2 per minute")
    try:
        client = app.test_client()

        def token():
            client_id, secret = make_client("admin")
            return client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            ).json["access_token"]

        first, second = token(), token()
        codes = [
            client.get("/api/v1/sessions", headers={"Authorization": f"Bearer {first}"}).status_code
            for _ in range(3)
        ]
        assert codes == [503, 503, 429]  # no persistence here: 503 means the call went through
        other = client.get("/api/v1/sessions", headers={"Authorization": f"Bearer {second}"})
        assert other.status_code == 503
    finally:
        app.extensions["db_pool"].close()


def test_engineer_lookups_have_a_limit_of_their_own_per_caller(gateway_config, make_client):
    """Turning names into pseudonyms is limited apart from (and below) the API limit: a caller
    cannot test many names quickly, and its other calls go on."""
    app = limited_app(
        gateway_config, rate_limit_api="10 per minute", rate_limit_lookup="2 per minute"
    )
    try:
        client = app.test_client()

        def bearer():
            client_id, secret = make_client("agent")
            token = client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            ).json["access_token"]
            return {"Authorization": f"Bearer {token}"}

        first, second = bearer(), bearer()

        def lookup(headers):
            return client.post(
                "/api/v1/engineers/lookup", json={"engineer": "Anna Example"}, headers=headers
            )

        answers = [lookup(first) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [503, 503, 429]
        assert int(answers[2].headers["Retry-After"]) > 0
        other_call = client.get("/api/v1/history/eng_x", headers=first)
        assert other_call.status_code == 503  # went through: only look-ups are used up
        assert lookup(second).status_code == 503  # another caller has its own count
    finally:
        app.extensions["db_pool"].close()


def test_compare_by_name_counts_as_a_lookup_and_by_code_does_not(gateway_config, make_client):
    """Compare History by name also turns a name into its pseudonym: it uses up the same
    per-caller look-up allowance; a compare by engineer_code is an ordinary call."""
    app = limited_app(
        gateway_config, rate_limit_api="20 per minute", rate_limit_lookup="2 per minute"
    )
    try:
        client = app.test_client()
        client_id, secret = make_client("agent")
        token = client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        ).json["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        def compare(body):
            return client.post("/api/v1/history/compare", json=body, headers=headers)

        by_code = {"engineer_code": "eng_" + "a" * 24}
        assert [compare(by_code).status_code for _ in range(3)] == [503, 503, 503]
        assert compare({"engineer": "Anna Example"}).status_code == 503
        lookup = client.post(
            "/api/v1/engineers/lookup", json={"engineer": "Anna Example"}, headers=headers
        )
        assert lookup.status_code == 503  # the second name: the allowance is used up
        refused = compare({"engineer": "Bert Example"})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert compare(by_code).status_code == 503  # by code still goes through
    finally:
        app.extensions["db_pool"].close()


def production_config(gateway_config, tmp_path, **settings):
    keys = tmp_path / "keys.json"
    keys.write_text(Path(gateway_config["gateway_signing_keys"]).read_text())
    return {
        **gateway_config,
        "cr_env": "production",
        "gateway_signing_keys": str(keys),
        "session_secret": "s" * 32,
        **settings,
    }


def test_production_refuses_per_process_limits_unless_told_it_runs_alone(gateway_config, tmp_path):
    """Counted in memory, each gateway replica would allow every limit once more: production
    needs REDIS_URL, or RATE_LIMIT_STORAGE=memory to say this gateway is the only one."""
    with pytest.raises(ConfigError, match="REDIS_URL must be set when CR_ENV=production"):
        create_app(production_config(gateway_config, tmp_path))
    alone = create_app(production_config(gateway_config, tmp_path, rate_limit_storage="memory"))
    try:
        assert isinstance(alone.extensions["rate_limits"].windows, MovingWindows)
    finally:
        alone.extensions["db_pool"].close()
    shared = create_app(
        production_config(gateway_config, tmp_path, redis_url="redis://127.0.0.1:1/0")
    )
    try:
        assert isinstance(shared.extensions["rate_limits"].windows.storage, RedisStorage)
    finally:
        shared.extensions["db_pool"].close()


def test_an_unreachable_redis_lets_calls_through_and_says_so(gateway_config, make_client, caplog):
    """A rate limit is not worth an outage: with its Redis gone, the gateway serves and logs."""
    with refusing_url() as nowhere:
        redis_url = nowhere.replace("http://", "redis://") + "/0"
        app = limited_app(gateway_config, redis_url=redis_url, rate_limit_api="1 per minute")
    try:
        client = app.test_client()
        client_id, secret = make_client("admin")
        token = client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        ).json["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        codes = [client.get("/api/v1/sessions", headers=headers).status_code for _ in range(3)]
        assert codes == [503, 503, 503]  # through to the (absent) service, never 429
        assert "rate-limit storage unreachable" in caplog.text
    finally:
        app.extensions["db_pool"].close()


def test_rate_limit_storage_takes_memory_or_nothing():
    assert load_settings({"RATE_LIMIT_STORAGE": " Memory "}).rate_limit_storage == "memory"
    assert load_settings({}).rate_limit_storage == ""
    with pytest.raises(ConfigError, match=r"^RATE_LIMIT_STORAGE must be one of memory$"):
        load_settings({"RATE_LIMIT_STORAGE": "redis"})


def test_open_client_registration_is_throttled_per_address(gateway_config):
    """RFC 7591 registration needs no credential while it is open: each call counts, refused or
    not, so that nobody fills the clients table from one address."""
    app = limited_app(
        gateway_config, mcp_client_registration="open", rate_limit_register="3 per hour"
    )
    try:
        client = app.test_client()
        metadata = {
            "client_name": "Flood",
            "redirect_uris": ["https://chatgpt.com/aip/g-x/oauth/callback"],
            "token_endpoint_auth_method": "none",
        }
        answers = [client.post("/oauth/register", json=metadata) for _ in range(2)]
        answers.append(client.post("/oauth/register", json={"redirect_uris": "not a list"}))
        answers.append(client.post("/oauth/register", json=metadata))
        assert [answer.status_code for answer in answers] == [201, 201, 400, 429]
        assert int(answers[3].headers["Retry-After"]) > 0
        other = client.post(
            "/oauth/register", json=metadata, environ_base={"REMOTE_ADDR": "127.0.0.9"}
        )
        assert other.status_code == 201  # counted per address
    finally:
        app.extensions["db_pool"].close()
