"""Settings from the environment: one table, one typed field per variable, one place to look."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """Raised when the environment cannot give a process what it needs to start safely."""


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


ENVIRONMENTS = ("development", "test", "production")


def environment(text: str) -> str:
    """CR_ENV: one of ENVIRONMENTS (any case). Anything else stops the process: a typo such as
    `prod` must not quietly drop the production safeguards."""
    value = text.strip().lower()
    if value not in ENVIRONMENTS:
        raise ValueError(text)
    return value


REGISTRATION_MODES = ("off", "open", "admin")


def registration_mode(text: str) -> str:
    """MCP_CLIENT_REGISTRATION: one of REGISTRATION_MODES (any case)."""
    value = text.strip().lower()
    if value not in REGISTRATION_MODES:
        raise ValueError(text)
    return value


RATE_LIMIT_STORAGES = ("memory",)


def rate_limit_storage(text: str) -> str:
    """RATE_LIMIT_STORAGE: `memory` (a single-replica gateway's acknowledgement) or empty."""
    value = text.strip().lower()
    if value not in ("", *RATE_LIMIT_STORAGES):
        raise ValueError(text)
    return value


# The values a parser of a few words accepts, for the message that refuses any other.
CHOICES = {
    environment: ENVIRONMENTS,
    registration_mode: REGISTRATION_MODES,
    rate_limit_storage: RATE_LIMIT_STORAGES,
}


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, how to parse it, its default and what it is for."""

    env: str
    parse: Callable[[str], Any]
    default: Any
    doc: str
    secret: bool = False
    required: str = ""  # when a secret must be set, as the configuration table says it


# The table. The README's configuration table is tested against it (tests/unit/shared/test_config.py).
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "CR_ENV",
        environment,
        "development",
        "`development`, `test` or `production` (any other value stops the process); "
        "production refuses generated secrets and demo identities.",
    ),
    Setting(
        "DATA_DIR",
        str,
        ".data",
        "Folder for the embedded PostgreSQL, its URL file and generated development secrets.",
    ),
    Setting(
        "DATABASE_URL",
        str,
        "",
        "PostgreSQL server URL (an admin login). Unset: the embedded server "
        "whose URL `make run` writes to `.data/database_url`.",
    ),
    Setting(
        "SERVICE_DATABASE_URL",
        str,
        "",
        "This process's own login (one role per service). Unset: "
        "`DATABASE_URL` with the user `cr_<service>`.",
    ),
    Setting(
        "SERVICE_DB_PASSWORDS",
        str,
        "",
        "For `migrate` on a server with password logins: `cr_gateway=…,cr_persistence=…` sets "
        "each service role's password (each process then logs in with its SERVICE_DATABASE_URL).",
        secret=True,
    ),
    Setting("DB_POOL_MIN", int, 1, "Smallest connection pool per process."),
    Setting("DB_POOL_MAX", int, 10, "Largest connection pool per process."),
    Setting("DB_POOL_TIMEOUT", float, 5.0, "Seconds a request waits for a connection before 503."),
    Setting(
        "DB_STATEMENT_TIMEOUT_MS", int, 15000, "statement_timeout of every service connection."
    ),
    Setting(
        "PSEUDONYM_KEY",
        str,
        "",
        "HMAC-SHA256 key for `engineer_code` and `case_ref`. Required in "
        "production; generated under DATA_DIR otherwise.",
        secret=True,
        required="in production",
    ),
    Setting(
        "INTERNAL_TOKEN_JWKS",
        str,
        "",
        "Where a service reads the gateway's public keys that sign internal tokens: a URL, or the "
        "path of a public JWKS file. Unset: `GATEWAY_URL`/oauth/jwks.",
    ),
    Setting(
        "INTERNAL_TOKEN_TTL",
        int,
        30,
        "Lifetime in seconds of an internal token, checked when the request starts. The gateway "
        "reuses a caller's token for one service while half of it is left; a service call "
        "signs one per call.",
    ),
    Setting(
        "TRENDS_FEED_KEY",
        str,
        "",
        "Key trends_svc and its worker sign their reads of persistence's change feed with; set on "
        "trends, the trends worker and persistence only. Required in production; generated "
        "under DATA_DIR otherwise.",
        secret=True,
        required="in production",
    ),
    Setting(
        "QA_TEXT_CHECK_KEY",
        str,
        "",
        "Key qa_svc signs its calls to persistence's PII guard with (review notes and event "
        "messages are checked for known engineers' names there); set on qa and persistence only. "
        "Required in production; generated under DATA_DIR otherwise.",
        secret=True,
        required="in production",
    ),
    Setting(
        "REPORTING_FEED_KEY",
        str,
        "",
        "Key of a reporting connector that follows the change feed (`examples/follow_changes.py`); "
        "set on persistence and the connector only. Unset in production: no connector.",
        secret=True,
    ),
    Setting(
        "GATEWAY_ISSUER",
        str,
        "http://127.0.0.1:8000",
        "Public base URL of the gateway: `iss` of its tokens and the discovery document.",
    ),
    Setting("GATEWAY_AUDIENCE", str, "cr-assistant-api", "`aud` of API access tokens."),
    Setting(
        "GATEWAY_URL",
        str,
        "http://127.0.0.1:8000",
        "Where the dashboard (and tools inside the deployment) reach the gateway's public API.",
    ),
    Setting(
        "OIDC_ISSUER",
        str,
        "",
        "External OpenID provider (issuer URL). Set: browser login goes there and its access "
        "tokens are accepted; unset: the built-in provider.",
    ),
    Setting("OIDC_CLIENT_ID", str, "", "The gateway's client id at the external provider."),
    Setting(
        "OIDC_CLIENT_SECRET",
        str,
        "",
        "The gateway's client secret at the external provider.",
        secret=True,
        required="in production with OIDC_ISSUER",
    ),
    Setting(
        "OIDC_AUDIENCE",
        str,
        "",
        "`aud` the external provider puts in API access tokens. Unset: GATEWAY_AUDIENCE.",
    ),
    Setting(
        "OIDC_ALGORITHMS",
        _csv,
        ("RS256", "PS256", "ES256"),
        "Signature algorithms accepted on external tokens (asymmetric only, comma-separated).",
    ),
    Setting(
        "OIDC_JWKS_TTL",
        int,
        300,
        "Seconds the external provider's keys are cached; an unknown `kid` refetches sooner.",
    ),
    Setting(
        "OIDC_ROLES_CLAIM",
        str,
        "roles",
        "Claim of external tokens that lists the roles (array or space-separated); "
        "values other than agent, manager, qa_lead, admin give no access.",
    ),
    Setting("OIDC_TEAMS_CLAIM", str, "teams", "Claim of external tokens that lists the teams."),
    Setting(
        "GATEWAY_SIGNING_KEYS",
        str,
        "",
        "Path of the gateway's private JWKS file. Unset: "
        "DATA_DIR/gateway_jwks.json, created on first use outside production.",
    ),
    Setting(
        "GATEWAY_KEY_ACTIVATION_SECONDS",
        float,
        120.0,
        "After `rotate-keys`, how old the new key must be before a gateway signs with it; every "
        "gateway publishes it within 10 s of seeing the file change, so allow for the time the "
        "file takes to reach every gateway (a Kubernetes secret: about a minute).",
    ),
    Setting(
        "SESSION_SECRET",
        str,
        "",
        "Key that signs the browser session cookie and CSRF tokens. Required in production; "
        "generated under DATA_DIR otherwise.",
        secret=True,
        required="in production",
    ),
    Setting(
        "COOKIE_SECURE",
        _bool,
        False,
        "Browser cookies only over HTTPS (on in production: "
        "the cookie is then `__Host-` prefixed).",
    ),
    Setting("BROWSER_SESSION_TTL", int, 8 * 3600, "Seconds a browser login lasts."),
    Setting("ACCESS_TOKEN_TTL", int, 3600, "Lifetime of API access tokens in seconds."),
    Setting(
        "PERSISTENCE_URL",
        str,
        "http://127.0.0.1:8001",
        "Where the gateway reaches persistence_svc.",
    ),
    Setting("TRENDS_URL", str, "http://127.0.0.1:8002", "Where the gateway reaches trends_svc."),
    Setting("QA_URL", str, "http://127.0.0.1:8003", "Where the gateway reaches qa_svc."),
    Setting(
        "DASHBOARD_URL", str, "http://127.0.0.1:8050", "Where the gateway reaches dashboard_svc."
    ),
    Setting(
        "MCP_URL",
        str,
        "http://127.0.0.1:8004",
        "Where the gateway reaches mcp_svc (the MCP server behind `/mcp`).",
    ),
    Setting(
        "MCP_CLIENT_REGISTRATION",
        registration_mode,
        "off",
        "Dynamic client registration (RFC 7591) at `/oauth/register` for MCP clients: `off` (no "
        "endpoint), `open` (a registered agent client is usable at once) or `admin` (usable after "
        "`approve-client`). Such clients act for the person who signs in, after consent.",
    ),
    Setting("UPSTREAM_TIMEOUT", float, 30.0, "Seconds the gateway waits for a service."),
    Setting(
        "HEADER_TIMEOUT",
        float,
        20.0,
        "Seconds the gateway gives a connection to send a whole request header, however slowly "
        "it trickles (also how long an idle kept-alive connection stays open); then it is closed "
        "without an answer.",
    ),
    Setting(
        "QA_LOW_CONFIDENCE",
        float,
        0.5,
        "QA review queue: a session whose overall confidence is below this is low confidence "
        "(default: the spec's Low rating, < 0.50).",
    ),
    Setting("MAX_BODY_BYTES", int, 1_048_576, "Largest JSON request body; larger bodies get 413."),
    Setting("MAX_IMPORT_BYTES", int, 512 * 1_048_576, "Largest import file; larger files get 413."),
    Setting(
        "MAX_IMPORT_ROWS", int, 5_000_000, "Most records one import file may hold (413 above)."
    ),
    Setting(
        "IMPORT_ASYNC_BYTES",
        int,
        2 * 1_048_576,
        "Import files larger than this answer 202 "
        "and run in the background (progress at GET /imports/{id}).",
    ),
    Setting(
        "IMPORT_WORKERS",
        int,
        0,
        "Processes that validate the chunks of a background import of a file of 5.5 MB (about "
        "28,000 records) or more beside the service (0: one per CPU core; 1: none, the service "
        "validates them itself).",
    ),
    Setting(
        "METRICS_ALLOW_CIDRS",
        _csv,
        ("127.0.0.0/8", "::1/128"),
        "Who may read the gateway's `/metrics` (comma-separated CIDRs).",
    ),
    Setting(
        "TRUSTED_PROXIES",
        _csv,
        (),
        "Reverse proxies (comma-separated CIDRs) whose `X-Forwarded-For` names the client "
        "address; unset: the header is never trusted and the socket's peer is the client.",
    ),
    Setting(
        "RATE_LIMIT_LOGIN",
        str,
        "10 per minute",
        "Failed sign-ins (wrong e-mail or password) per client address; sign-in forms without "
        "a valid CSRF token have an allowance of this size of their own.",
    ),
    Setting(
        "RATE_LIMIT_LOGIN_ACCOUNT",
        str,
        "5 per minute",
        "Wrong passwords for one account from one client address (within `RATE_LIMIT_LOGIN`).",
    ),
    Setting(
        "RATE_LIMIT_TOKEN",
        str,
        "120 per minute",
        "Failed client authentications (token and revocation endpoints) per client address.",
    ),
    Setting(
        "RATE_LIMIT_TOKEN_CLIENT",
        str,
        "30 per minute",
        "Failed authentications of one client per client address, within `RATE_LIMIT_TOKEN`.",
    ),
    Setting(
        "RATE_LIMIT_REGISTER",
        str,
        "20 per hour",
        "Dynamic client registrations (`POST /oauth/register`, while `MCP_CLIENT_REGISTRATION` "
        "is on) per client address, whether they succeed or not.",
    ),
    Setting("RATE_LIMIT_API", str, "3000 per minute", "API calls per authenticated caller."),
    Setting(
        "RATE_LIMIT_LOOKUP",
        str,
        "120 per minute",
        "Engineer look-ups (`POST /api/v1/engineers/lookup`, a name to its pseudonym; each name "
        "of a `…/lookup/batch` counts) per authenticated caller, within the API limit: testing "
        "many names is slow.",
    ),
    Setting(
        "ALERT_WEBHOOK_URL",
        str,
        "",
        "Where alert notifications are POSTed (config only, never "
        "taken from a request). Unset: no notifications.",
    ),
    Setting(
        "ALERT_WEBHOOK_SECRET",
        str,
        "",
        "HMAC-SHA256 key of the `X-CR-Signature` header of "
        "notifications. Required in production when ALERT_WEBHOOK_URL is set.",
        secret=True,
        required="in production with ALERT_WEBHOOK_URL",
    ),
    Setting(
        "WEBHOOK_BACKOFF_SECONDS",
        float,
        2.0,
        "First retry delay of a failed notification; doubles each attempt, at most 10 minutes.",
    ),
    Setting("WEBHOOK_MAX_ATTEMPTS", int, 12, "Attempts before a notification is given up."),
    Setting(
        "SMTP_URL",
        str,
        "",
        "Mail server of e-mail notification channels: `smtp://user:pass@host:587?starttls=1` or "
        "`smtps://host:465`, plus `from=` the sender address and `cafile=` for a company CA. "
        "Unset: no e-mail is sent (queued e-mails wait).",
        secret=True,
    ),
    Setting(
        "NOTIFICATIONS_KEY",
        str,
        "",
        "Long random secret from which the Fernet key that encrypts notification channels' "
        "URLs, secrets and addresses at rest is derived (HKDF). Required in production; "
        "generated under DATA_DIR otherwise.",
        secret=True,
        required="in production",
    ),
    Setting(
        "NOTIFICATIONS_ALLOWED_TARGETS",
        _csv,
        (),
        "Hosts or CIDRs on loopback/private networks that notification channels may still reach "
        "in production (everything private is refused otherwise).",
    ),
    Setting("DIGEST_WEEKDAY", int, 0, "Weekday of the weekly digest (0 Monday … 6 Sunday)."),
    Setting("DIGEST_HOUR", int, 8, "Hour (0-23) of the weekly digest in DIGEST_TIMEZONE."),
    Setting("DIGEST_TIMEZONE", str, "UTC", "IANA time zone of the digest's weekday and hour."),
    Setting(
        "TRENDS_WORKER_METRICS_PORT",
        int,
        0,
        "Port of the trends worker's Prometheus metrics (0: none; the Kubernetes manifests use 9102).",
    ),
    Setting(
        "TRENDS_WORKER_METRICS_ADDR",
        str,
        "127.0.0.1",
        "Address the worker's metrics port binds to.",
    ),
    Setting(
        "REDIS_URL",
        str,
        "",
        "Rate-limit storage the gateway's replicas share (`redis://host:6379/0`). In production "
        "the gateway refuses to start without it unless RATE_LIMIT_STORAGE=memory.",
        secret=True,
    ),
    Setting(
        "RATE_LIMIT_STORAGE",
        rate_limit_storage,
        "",
        "`memory`: the gateway counts rate limits in its own process, which is right for one "
        "replica only (each replica would count alone and allow the limit once per replica). "
        "Empty: Redis when REDIS_URL is set, else memory outside production.",
    ),
    Setting("LOG_LEVEL", str, "INFO", "Log level of every process (JSON lines on stderr)."),
    Setting("GATEWAY_PORT", int, 8000, "`make run`: port of the gateway."),
    Setting("PERSISTENCE_PORT", int, 8001, "`make run`: port of persistence_svc."),
    Setting("TRENDS_PORT", int, 8002, "`make run`: port of trends_svc."),
    Setting("QA_PORT", int, 8003, "`make run`: port of qa_svc."),
    Setting("DASHBOARD_PORT", int, 8050, "`make run`: port of dashboard_svc."),
    Setting("MCP_PORT", int, 8004, "`make run`: port of mcp_svc."),
    Setting("SEED", _bool, True, "`make run` seeds demo data (`SEED=0` skips it)."),
)


@dataclass(frozen=True)
class Settings:
    """The parsed settings of one process; attribute names are the variable names in lower case."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def production(self) -> bool:
        return self.cr_env == "production"

    @property
    def data_dir(self) -> Path:
        path = Path(self.values["data_dir"])
        return path if path.is_absolute() else PROJECT_ROOT / path

    def with_overrides(self, **overrides: Any) -> Settings:
        return Settings({**self.values, **{k.lower(): v for k, v in overrides.items()}})


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Parse every variable of the table from `environ` (default: the process environment).

    Keyword overrides (by lower-case name) win over the environment; tests use them.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        try:
            values[setting.env.lower()] = (
                setting.default if raw in (None, "") else setting.parse(raw)
            )
        except ValueError as exc:
            choices = CHOICES.get(setting.parse)
            expected = (
                "one of " + ", ".join(choices) if choices else f"a valid {setting.parse.__name__}"
            )
            raise ConfigError(f"{setting.env} must be {expected}") from exc
    values.update({k.lower(): v for k, v in overrides.items()})
    return Settings(values)


def secret_value(settings: Settings, name: str) -> str:
    """The secret `name` (e.g. "pseudonym_key"): from the environment, else a generated development
    secret kept under DATA_DIR. In production a missing secret stops the process."""
    value = settings.values.get(name, "")
    if value:
        return value
    if settings.production:
        raise ConfigError(f"{name.upper()} must be set when CR_ENV=production")
    path = settings.data_dir / "secrets" / name
    if not path.exists():
        _create_secret(path)
    # Services start together: the file may exist a moment before its creator has written it.
    deadline = time.monotonic() + SECRET_WRITE_PATIENCE
    while not (value := path.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.01)
    if not value:
        raise ConfigError(f"{path} is empty: delete it, and a new {name} is generated")
    return value


SECRET_WRITE_PATIENCE = 5.0  # seconds a process waits for another one to write a new secret


def _create_secret(path: Path) -> None:
    """Write a new secret to `path` unless it exists; of processes starting at once, the first
    to create the file writes it (O_EXCL) and the others read what it wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32))


def admin_database_url(settings: Settings) -> str:
    """The server URL: DATABASE_URL, else the embedded server's URL written by `make run`."""
    if settings.database_url:
        return settings.database_url
    url_file = settings.data_dir / "database_url"
    if url_file.exists():
        return url_file.read_text().strip()
    raise ConfigError(
        "DATABASE_URL is unset and no embedded server is running (.data/database_url)"
    )


def service_database_url(settings: Settings, service: str) -> str:
    """The URL a service connects with: SERVICE_DATABASE_URL, else the server URL with its own role."""
    if settings.service_database_url:
        return settings.service_database_url
    from shared.db import url_with_user  # local import: config stays importable without psycopg

    return url_with_user(admin_database_url(settings), role_name(service))


def role_name(service: str) -> str:
    """The login role of a service's schema, e.g. `cr_persistence`."""
    return f"cr_{service}"


def settings_table() -> list[dict[str, str]]:
    """The table as rows (variable, default, meaning), for the README and `--help` output."""
    rows = []
    for setting in SETTINGS:
        default = setting.default
        if isinstance(default, tuple):
            default = ",".join(default)
        shown = (
            (f"(required {setting.required})" if setting.required else "(secret, optional)")
            if setting.secret
            else str(default)
            if default != ""
            else ""
        )
        rows.append({"variable": setting.env, "default": shown, "meaning": setting.doc})
    return rows


def markdown_table() -> str:
    """The README's configuration table (`python -m shared.config` prints it)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for row in settings_table():
        default = row["default"]
        shown = f"`{default}`" if default and not default.startswith("(") else default
        lines.append(f"| `{row['variable']}` | {shown} | {row['meaning']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
