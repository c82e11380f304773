"""shared/config.py: one table of settings, secrets refused in production, the README kept true."""

import re

import pytest

from shared.config import (
    PROJECT_ROOT,
    SETTINGS,
    ConfigError,
    load_settings,
    secret_value,
    service_database_url,
)


def test_defaults_and_parsing():
    settings = load_settings(
        {"DB_POOL_MAX": "7", "SEED": "0", "METRICS_ALLOW_CIDRS": "10.0.0.0/8, ::1/128"}
    )
    assert settings.db_pool_max == 7
    assert settings.seed is False
    assert settings.metrics_allow_cidrs == ("10.0.0.0/8", "::1/128")
    assert settings.cr_env == "development"
    assert settings.upstream_timeout == 30.0


def test_bad_number_names_the_variable():
    with pytest.raises(ConfigError, match="DB_POOL_MAX"):
        load_settings({"DB_POOL_MAX": "many"})


@pytest.mark.parametrize("typo", ["prod", "Prodution", "live"])
def test_an_unknown_environment_stops_the_process(typo):
    with pytest.raises(ConfigError, match="CR_ENV must be one of development, test, production"):
        load_settings({"CR_ENV": typo})


def test_the_environment_is_read_in_any_case():
    assert load_settings({"CR_ENV": " Production "}).production


def test_production_refuses_a_missing_secret(tmp_path):
    settings = load_settings({"CR_ENV": "production", "DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="PSEUDONYM_KEY must be set"):
        secret_value(settings, "pseudonym_key")


def test_development_secret_is_generated_once_and_kept(tmp_path):
    settings = load_settings({"DATA_DIR": str(tmp_path)})
    first = secret_value(settings, "pseudonym_key")
    assert len(first) >= 40
    assert secret_value(load_settings({"DATA_DIR": str(tmp_path)}), "pseudonym_key") == first
    assert (tmp_path / "secrets" / "pseudonym_key").stat().st_mode & 0o077 == 0


def test_service_connects_with_its_own_role():
    settings = load_settings({"DATABASE_URL": "postgresql://admin:pw@db.internal:5433/cr"})
    assert service_database_url(settings, "trends") == "postgresql://cr_trends@db.internal:5433/cr"
    explicit = load_settings({"SERVICE_DATABASE_URL": "postgresql://x@y/z"})
    assert service_database_url(explicit, "trends") == "postgresql://x@y/z"


def test_readme_configuration_table_matches_the_settings():
    readme = (PROJECT_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert documented == {setting.env for setting in SETTINGS}
