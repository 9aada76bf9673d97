import pytest

from datong.errors import ConfigurationError
from datong.settings import Settings


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


@pytest.mark.parametrize("secret", [None, "changeme", "short"])
def test_production_refuses_missing_or_placeholder_secret(tmp_path, secret):
    settings = Settings(env="production", data_dir=tmp_path, secret_key=secret)
    with pytest.raises(ConfigurationError) as error:
        settings.resolved_secret()
    assert "DATONG_SECRET_KEY" in error.value.localised("en")
    assert not (tmp_path / "secret_key").exists()


def test_production_accepts_a_real_secret(tmp_path):
    settings = Settings(env="production", data_dir=tmp_path, secret_key="s" * 48)
    assert settings.resolved_secret() == "s" * 48 and settings.secure_cookies
