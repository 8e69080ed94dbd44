from __future__ import annotations

import re
from pathlib import Path

import pytest

from amo_bridge.config import known_variables, load_settings
from amo_bridge.errors import ConfigError
from amo_bridge.secrets import Secret

ROOT = Path(__file__).resolve().parent.parent


def problems_of(env: dict[str, str]) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    return {p.variable: str(p) for p in info.value.problems}


def test_defaults_need_no_configuration() -> None:
    settings = load_settings({})
    assert settings.amo.rate_limit == 7
    assert settings.amo.timezone.key == "Europe/Moscow"
    assert settings.store.database_url == "sqlite:///amo_bridge.db"
    assert settings.log.format == "text"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("AMO_RATE_LIMIT", "fast", "requests per second"),
        ("AMO_RATE_LIMIT", "0", "greater than 0"),
        ("AMO_RATE_LIMIT", "51", "at most 50"),
        ("AMO_TIMEZONE", "Mars/Olympus", "IANA time zone"),
        ("AMO_BASE_URL", "ftp://x.example", "http:// or https://"),
        ("AMO_BASE_URL", "https://", "http:// or https://"),
        ("AMO_REDIRECT_URI", "not a url", "http:// or https://"),
        ("AMO_SUBDOMAIN", "my company", "subdomain"),
        ("AMO_ACCOUNT_ID", "-4", "whole number"),
        ("AMO_AUTH_MODE", "magic", "auto, oauth, long_lived"),
        ("DATABASE_URL", "mysql://x/y", "postgresql+psycopg"),
        ("DATABASE_URL", "sqlite://", "in-memory"),
        ("LOG_LEVEL", "LOUD", "DEBUG, INFO"),
        ("LOG_FORMAT", "xml", "text, json"),
        ("WEBHOOK_SECRET", "short", "at least 16"),
        ("REDIS_URL", "http://x", "redis://"),
    ],
)
def test_bad_value_names_variable_value_and_expectation(variable: str, value: str, expected: str) -> None:
    problems = problems_of({variable: value})
    assert variable in problems
    assert expected in problems[variable]


def test_all_problems_reported_at_once() -> None:
    problems = problems_of({"AMO_RATE_LIMIT": "fast", "AMO_TIMEZONE": "Nowhere", "LOG_FORMAT": "xml"})
    assert set(problems) == {"AMO_RATE_LIMIT", "AMO_TIMEZONE", "LOG_FORMAT"}


def test_bad_secret_value_is_masked_in_the_error() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"WEBHOOK_SECRET": "tiny-secret"})
    assert "tiny-secret" not in str(info.value)
    assert "WEBHOOK_SECRET" in str(info.value)


def test_postgres_urls_normalised_to_psycopg3_and_password_hidden() -> None:
    settings = load_settings({"DATABASE_URL": "postgres://u:hunter2hunter2@db:5432/amo"})
    assert settings.store.database_url.startswith("postgresql+psycopg://")
    assert "hunter2" not in settings.store.safe_database_url
    assert "hunter2" not in repr(settings)


def test_secrets_never_in_repr() -> None:
    settings = load_settings({"AMO_CLIENT_SECRET": "abc123", "AMO_LONG_LIVED_TOKEN": "x" * 40})
    assert isinstance(settings.amo.client_secret, Secret)
    assert settings.amo.client_secret.reveal() == "abc123"
    assert "abc123" not in repr(settings)
    assert "x" * 40 not in repr(settings)


def test_env_file_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text("AMO_RATE_LIMIT=3\nAMO_SUBDOMAIN=acme\n# comment\n", encoding="utf-8")
    settings = load_settings({"AMO_RATE_LIMIT": "5"}, env_file)
    assert settings.amo.rate_limit == 5
    assert settings.amo.api_base_url == "https://acme.amocrm.ru"


def test_missing_explicit_env_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--env-file"):
        load_settings({}, tmp_path / "nope.env", env_file_required=True)


def test_unknown_own_variable_in_env_file_warns(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("AMO_RATELIMIT=3\nPATH_EXTRA=1\n", encoding="utf-8")
    settings = load_settings({}, env_file)
    assert any("AMO_RATELIMIT" in w for w in settings.warnings)
    assert not any("PATH_EXTRA" in w for w in settings.warnings)


def test_base_url_overrides_subdomain() -> None:
    settings = load_settings({"AMO_SUBDOMAIN": "acme", "AMO_BASE_URL": "http://127.0.0.1:8900/"})
    assert settings.amo.api_base_url == "http://127.0.0.1:8900"


def test_auth_mode_auto_and_api_readiness() -> None:
    long_lived = load_settings({"AMO_SUBDOMAIN": "acme", "AMO_LONG_LIVED_TOKEN": "t" * 30})
    assert long_lived.amo.effective_auth_mode == "long_lived"
    assert long_lived.amo.api_problems() == []
    oauth = load_settings({"AMO_SUBDOMAIN": "acme", "AMO_CLIENT_ID": "id"})
    assert oauth.amo.effective_auth_mode == "oauth"
    assert {p.variable for p in oauth.amo.api_problems()} == {
        "AMO_CLIENT_SECRET",
        "AMO_REDIRECT_URI",
    }


def test_example_env_documents_every_variable_and_loads() -> None:
    example = ROOT / "config.example.env"
    text = example.read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert documented == set(known_variables()), "config.example.env and the settings disagree"
    for name in known_variables():
        # Each variable is preceded by a comment line explaining it.
        before = text.split(f"\n{name}=")[0].rstrip().splitlines()[-1]
        assert before.startswith("#"), f"{name} has no comment above it"
    load_settings({}, example)  # the example values are valid


def test_retention_pool_is_explicit_or_the_one_pool_in_the_retention_pipeline() -> None:
    pools = "L2 = status 7002/41 : 201 ; L3 = pipeline 7003 : 301,302"
    assert (
        load_settings({"DISTRIBUTION_POOLS": pools, "RETENTION_PIPELINE_ID": "7003"}).retention_pool() == "L3"
    )
    assert load_settings({"DISTRIBUTION_POOLS": pools, "RETENTION_POOL": "L2"}).retention_pool() == "L2"
    assert (
        load_settings({"DISTRIBUTION_POOLS": pools, "RETENTION_PIPELINE_ID": "7009"}).retention_pool() is None
    )
    two = pools + " ; L3b = status 7003/45 : 303"
    assert (
        load_settings({"DISTRIBUTION_POOLS": two, "RETENTION_PIPELINE_ID": "7003"}).retention_pool() is None
    )
    assert load_settings({"DISTRIBUTION_POOLS": pools}).retention_pool() is None


def test_retention_pool_must_name_a_configured_pool() -> None:
    problems = problems_of({"DISTRIBUTION_POOLS": "L3 = pipeline 7003 : 301", "RETENTION_POOL": "L4"})
    assert problems == {
        "RETENTION_POOL": "RETENTION_POOL='L4': expected a pool named in DISTRIBUTION_POOLS (L3)"
    }
    assert "none configured" in problems_of({"RETENTION_POOL": "L3"})["RETENTION_POOL"]
    assert "a pool name" in problems_of({"RETENTION_POOL": "3 pool"})["RETENTION_POOL"]
