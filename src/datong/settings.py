"""One typed settings object, read from ``DATONG_*`` environment variables.

Nothing here runs at import time: :func:`load_settings` is called by the composition roots
(``create_app`` and the CLI), which pass the result on.
"""

from __future__ import annotations

import math
import secrets
from collections import Counter
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from datong.errors import ConfigurationError

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "please-change", "dev", "development", "xxx"}
)
SECRET_FILE = "secret_key"
#: What a production secret must carry at least, estimated from its characters: 43 characters of
#: ``secrets.token_urlsafe(32)`` estimate about 210 bits, 64 hex digits about 250, a repeated word far
#: less. (The estimate undercounts short random strings: 32 hex digits estimate about 115.)
MIN_SECRET_BITS = 128


def estimated_bits(secret: str) -> float:
    """The entropy of the secret estimated from its own characters (Shannon entropy of their
    frequencies times the length). It cannot prove randomness, but it refuses repeated characters,
    short alphabets and words padded to length; a secret from ``secrets.token_urlsafe(48)`` passes."""
    counts = Counter(secret)
    per_character = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    return per_character * len(secret)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


class HashAlgorithm(StrEnum):
    SM3 = "sm3"
    SHA256 = "sha256"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DATONG_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("./var")
    database_url: str = ""
    secret_key: SecretStr | None = None
    default_locale: str = "zh-CN"
    # The time zone of every time a person reads (console, reports); the API keeps ISO 8601 with offsets.
    timezone: str = "Asia/Shanghai"
    audit_hash: HashAlgorithm = HashAlgorithm.SM3
    resource_code_format: str = "national"
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    session_ttl_seconds: int = Field(default=8 * 3600, ge=300)
    upload_limit_mb: int = Field(default=512, ge=1)
    warehouse_memory: str = Field(default="3GB", pattern=r"^\d+(\.\d+)?\s*(MB|GB|MiB|GiB)$")
    issue_deadline_days: int = Field(default=15, ge=1, le=365)
    share_rate_per_minute: int = Field(default=600, ge=1)
    share_batch_limit: int = Field(default=1000, ge=1, le=100_000)
    # Open data: calls a minute from one address without a key (a key carries its own limit),
    # key applications an hour from one address, and how often usage counts are written.
    open_rate_per_minute: int = Field(default=60, ge=1)
    open_applications_per_hour: int = Field(default=5, ge=1)
    open_usage_flush_seconds: float = Field(default=5.0, ge=0)
    # Data element identifier or sensitivity level → masking function or "plain", e.g.
    # DATONG_MASKING='{"DE0009": "redact", "sensitive": "plain"}'.
    masking: dict[str, str] = Field(default_factory=dict)
    # Concurrency: see docs/adr/0007-concurrency.md. The thread limit of the request handlers is set
    # from db_pool_size, so that a request holding a connection always finds a thread.
    db_pool_size: int = Field(default=40, ge=2, le=1000)
    busy_timeout_seconds: float = Field(default=10.0, ge=0.1, le=300)
    audit_batch_size: int = Field(default=512, ge=1, le=100_000)
    audit_flush_ms: float = Field(default=0.0, ge=0, le=1000)
    audit_wait_seconds: float = Field(default=15.0, ge=0.5, le=300)
    # limits storage URI: "memory://" (one process) or e.g. "redis://127.0.0.1:6379" (shared).
    rate_limit_storage: str = "memory://"
    snapshot_keep: int = Field(default=3, ge=1, le=1000)
    #: A full load that would delete more than this share of a resource's records stops unless
    #: told that the deletes are meant (``--allow-deletes``; ``allow_deletes`` over the API).
    full_load_delete_share: float = Field(default=0.2, ge=0, le=1)
    load_lease_seconds: int = Field(default=60, ge=5, le=3600)
    # Hosts and networks webhooks may reach although they are not public, e.g.
    # "receiver.dept.internal,10.20.0.0/16" (datong.sharing.callbacks). In development it defaults
    # to the hub's own host, where the demo's receiver listens; elsewhere to nothing.
    callback_allow: str | None = None
    # Sign-in throttling (datong.security.signin): per account and per source address.
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_address_failures: int = Field(default=20, ge=1, le=10_000)
    # /docs and /openapi.json: open by default, closed in production unless set true.
    public_docs: bool | None = None
    # /metrics: open by default; when a token is set it must come as a bearer token; in production
    # it is closed unless a token is set.
    metrics_token: SecretStr | None = None
    # Registries (docs/operator.md, "Registries"): where the linkage model runs, and its thresholds:
    # at or above auto_link a record is linked; from review_from up a steward decides.
    registry_engine: str = Field(default="duckdb", pattern=r"^(duckdb|spark)$")
    registry_auto_link: float = Field(default=0.95, gt=0, le=1)
    registry_review_from: float = Field(default=0.5, gt=0, le=1)
    # Credit code of the bureau that runs the hub (provider of 人口综合库 and 法人综合库); by
    # default the department of the first bureau administrator.
    bureau: str | None = None
    # Licences (docs/operator.md, "Licences"): the algorithm of new seal keys, and the address a
    # licence's QR code opens (the public verify page); by default this server's own.
    seal_algorithm: str = Field(default="sm2", pattern=r"^(sm2|ed25519|p256)$")
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    pdf_font: str | None = None  # a TrueType CJK font to embed in licence PDFs
    # The citizen portal (docs/operator.md, "The citizen portal"): how one-time sign-in codes and
    # proactive notices reach a phone ("log" writes them to the server log, for development and the
    # demo; "http" posts {"phone", "text"} as JSON to portal_sender_url, an SMS gateway), how long a
    # code lives, and how many codes one number or one address may ask for in an hour.
    portal_sender: str = Field(default="log", pattern=r"^(log|http)$")
    portal_sender_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    portal_code_minutes: int = Field(default=5, ge=1, le=30)
    portal_codes_per_hour: int = Field(default=5, ge=1, le=100)
    portal_address_codes_per_hour: int = Field(default=30, ge=1, le=10_000)
    # Signing in through the province's identity provider (OpenID Connect; off unless an issuer is
    # set): its issuer URL, this hub's client id and secret there, the ID token claim that carries
    # the citizen ID number, and the provider's name as people know it.
    portal_oidc_issuer: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    portal_oidc_client_id: str | None = None
    portal_oidc_client_secret: str | None = None
    portal_oidc_id_claim: str = "id_number"
    portal_oidc_name: str = "统一身份认证平台"
    host: str = "127.0.0.1"
    port: int = 8000
    secure_cookies: bool = False

    @model_validator(mode="after")
    def _masking_names(self) -> Settings:
        known = {"id_number", "name", "phone", "address", "year_only", "hash", "redact", "plain"}
        unknown = sorted(set(self.masking.values()) - known)
        if unknown:
            raise ValueError(f"DATONG_MASKING: unknown masking {', '.join(unknown)}; use one of {', '.join(sorted(known))}")
        return self

    @model_validator(mode="after")
    def _portal_sender(self) -> Settings:
        if self.portal_sender == "http" and not self.portal_sender_url:
            raise ValueError("DATONG_PORTAL_SENDER=http needs DATONG_PORTAL_SENDER_URL, the SMS gateway's address")
        return self

    @model_validator(mode="after")
    def _registry_thresholds(self) -> Settings:
        if self.registry_review_from > self.registry_auto_link:
            raise ValueError("DATONG_REGISTRY_REVIEW_FROM must not be above DATONG_REGISTRY_AUTO_LINK: pairs between "
                             "the two go to the review queue")
        return self

    @model_validator(mode="after")
    def _known_timezone(self) -> Settings:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"DATONG_TIMEZONE: unknown time zone {self.timezone!r}; use an IANA name such as "
                             "Asia/Shanghai") from None
        return self

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'datong.db'}"
        if self.env is Environment.PRODUCTION:
            self.secure_cookies = True
        if self.callback_allow is None:
            self.callback_allow = self.host if self.env is Environment.DEVELOPMENT else ""
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def docs_open(self) -> bool:
        return self.public_docs if self.public_docs is not None else not self.is_production

    @property
    def metrics_open(self) -> bool:
        """Whether /metrics answers at all (with a token set, only to callers who send it)."""
        return self.metrics_token is not None or not self.is_production

    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def resolved_secret(self) -> str:
        """The signing key for tokens and session cookies.

        In production it must be given and must not be a placeholder; elsewhere a random key is
        generated into the data directory on first use and reused afterwards.
        """
        given = self.secret_key.get_secret_value() if self.secret_key else None
        if self.is_production:
            if given is None or given.strip().lower() in PLACEHOLDER_SECRETS or len(given) < 32 \
                    or estimated_bits(given) < MIN_SECRET_BITS:
                raise ConfigurationError("secret_key_required")
            return given
        if given:
            return given
        path = self.data_dir / SECRET_FILE
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_urlsafe(48)
        path.write_text(key + "\n", encoding="utf-8")
        path.chmod(0o600)
        return key


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
