"""shared/config.py: one table of settings, secrets refused in production, the README kept true."""

import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor

import pytest

from shared import config
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


def _secret_after(barrier, data_dir: str) -> str:
    barrier.wait()
    return secret_value(load_settings({"DATA_DIR": data_dir}), "internal_token_secret")


def test_processes_starting_at_once_share_one_whole_secret(tmp_path):
    """Services of `make run` start together: none may read the file while another writes it
    (an empty secret, and every token between them refused)."""
    context = multiprocessing.get_context("spawn")
    for attempt in range(3):
        data_dir = tmp_path / str(attempt)
        with context.Manager() as manager, ProcessPoolExecutor(6, mp_context=context) as pool:
            barrier = manager.Barrier(6)
            values = list(pool.map(_secret_after, [barrier] * 6, [str(data_dir)] * 6))
        assert len(set(values)) == 1 and len(values[0]) >= 40
        assert [path.name for path in (data_dir / "secrets").iterdir()] == ["internal_token_secret"]


def test_an_empty_secret_file_is_refused_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "SECRET_WRITE_PATIENCE", 0.2)  # (no writer is coming)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pseudonym_key").write_text("\n")
    with pytest.raises(ConfigError, match="empty"):
        secret_value(load_settings({"DATA_DIR": str(tmp_path)}), "pseudonym_key")


def test_service_connects_with_its_own_role():
    settings = load_settings({"DATABASE_URL": "postgresql://admin:pw@db.internal:5433/cr"})
    assert service_database_url(settings, "trends") == "postgresql://cr_trends@db.internal:5433/cr"
    explicit = load_settings({"SERVICE_DATABASE_URL": "postgresql://x@y/z"})
    assert service_database_url(explicit, "trends") == "postgresql://x@y/z"


def test_readme_configuration_table_matches_the_settings():
    readme = (PROJECT_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert documented == {setting.env for setting in SETTINGS}
