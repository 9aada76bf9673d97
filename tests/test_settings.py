import secrets

import pytest

from datong.errors import ConfigurationError
from datong.settings import MIN_SECRET_BITS, Settings, estimated_bits


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.database_url == "sqlite:///var/datong.db"
    assert settings.default_locale == "zh-CN" and settings.audit_hash == "sm3"


def test_environment_prefix(monkeypatch, tmp_path):
    monkeypatch.setenv("DATONG_DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("DATONG_AUDIT_HASH", "sha256")
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == "postgresql://db/x" and settings.audit_hash == "sha256"


def test_development_secret_is_generated_once_and_kept(tmp_path):
    settings = Settings(data_dir=tmp_path)
    key = settings.resolved_secret()
    assert len(key) >= 48 and Settings(data_dir=tmp_path).resolved_secret() == key
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("secret", [None, "changeme", "short", "a" * 32, "abcd" * 8, "password" * 5,
                                    "test-secret-" + "x" * 40])
def test_production_refuses_missing_or_placeholder_secret(tmp_path, secret):
    settings = Settings(env="production", data_dir=tmp_path, secret_key=secret)
    with pytest.raises(ConfigurationError) as error:
        settings.resolved_secret()
    assert "DATONG_SECRET_KEY" in error.value.localised("en")
    assert not (tmp_path / "secret_key").exists()


def test_production_accepts_a_real_secret(tmp_path):
    secret = secrets.token_urlsafe(48)
    settings = Settings(env="production", data_dir=tmp_path, secret_key=secret)
    assert settings.resolved_secret() == secret and settings.secure_cookies
    assert estimated_bits(secrets.token_urlsafe(32)) >= MIN_SECRET_BITS
    assert estimated_bits(secrets.token_hex(32)) >= MIN_SECRET_BITS


def production_app(tmp_path, **extra):
    from datong.app import create_app
    from datong.db import Database
    from datong.db.engine import make_engine

    settings = Settings(env="production", data_dir=tmp_path, secret_key=secrets.token_urlsafe(48),
                        database_url=f"sqlite:///{tmp_path / 'datong.db'}", **extra)
    return create_app(settings, Database(make_engine(settings.database_url), data_dir=tmp_path))


def test_production_closes_docs_and_metrics_unless_told(tmp_path):
    from fastapi.testclient import TestClient

    closed = TestClient(production_app(tmp_path))
    for path in ("/docs", "/openapi.json", "/metrics"):
        assert closed.get(path, headers={"Accept": "application/json"}).status_code == 404, path
    opened = TestClient(production_app(tmp_path, public_docs=True, metrics_token="m" + secrets.token_hex(20)))
    assert opened.get("/openapi.json").status_code == 200 and opened.get("/docs").status_code == 200
    assert opened.get("/metrics").status_code == 401
    assert opened.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    token = opened.app.state.settings.metrics_token.get_secret_value()
    metrics = opened.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert metrics.status_code == 200 and "datong_http_requests" in metrics.text


def test_development_keeps_docs_and_metrics_open(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.docs_open and settings.metrics_open


def test_registry_thresholds_must_leave_a_review_band():
    import pytest
    from pydantic import ValidationError

    from datong.settings import Settings

    with pytest.raises(ValidationError, match="REVIEW_FROM"):
        Settings(registry_auto_link=0.6, registry_review_from=0.8)
    assert Settings(registry_auto_link=0.9, registry_review_from=0.9).registry_review_from == 0.9


@pytest.mark.parametrize("text", ["3GB", "2.5 GiB", "512MB", "768MiB"])
def test_every_accepted_warehouse_memory_is_read_as_duckdb_reads_it(text):
    import duckdb

    from datong.warehouse.engine import memory_bytes

    assert Settings(warehouse_memory=text).warehouse_memory == text
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{text}'")
    # DuckDB shows the limit rounded to a tenth of its unit: the two agree within that
    shown = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    number, unit = shown.split()
    assert abs(memory_bytes(f"{number}{unit}") - memory_bytes(text)) <= 0.05 * memory_bytes(text)
