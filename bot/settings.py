"""Configuration from HOSO_* environment variables or a .env file (pydantic-settings)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.content_levels import DEFAULT_CONTENT, ContentError, parse_content
from services.core.actor import Content
from services.core.clock import DEFAULT_TIMEZONE
from services.core.i18n import DEFAULT_LOCALE, N_

if TYPE_CHECKING:  # storage brings SQLAlchemy: `hoso --help` needs neither
    from storage import Database, PoolLimits

ENV_PREFIX = "HOSO_"
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")  # Telegram allows 1–256; we ask for 16 at least
_ZALO_TOKEN = re.compile(r"^[0-9]+:\S{8,}$")  # "<bot_id>:<secret>", as Zalo Bot Manager gives it


class ConfigError(Exception):
    """A setting is missing or malformed. `message` is an untranslated id; `setting` the variable."""

    def __init__(self, setting: str, message: str, **params: Any) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting, self.message, self.params = setting, message, params


class _Invalid(ValueError):
    """A validator's reason, carried as a message id so that the CLI can translate it."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message, self.params = message, params


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: SecretStr | None = None
    database_url: str = "sqlite+aiosqlite:///./hoso.db"
    # PostgreSQL connections one process keeps open, those it may open beyond them at a peak, and how long an
    # update waits for one when all are busy before it fails (seconds). Several instances together must stay
    # under the server's max_connections (100 by default) with room for the CLI.
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    database_pool_timeout: float = Field(default=60.0, gt=0, le=600)
    telegram_api_base: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    redis_url: str | None = None
    # Redis connections one process may hold at once (one client per process); a command beyond them waits
    # for one to come free, up to the pool timeout, rather than fail.
    redis_max_connections: int = Field(default=50, ge=4, le=10_000)
    # Messages a second to Telegram, all chats together: with Redis, for every instance together (Telegram
    # allows about 30 a bot). A ceiling that no second of Telegram's exceeds: with several instances a message
    # holds its place for its round trip and a second, so fewer go out a second (21 at 25 with 200 ms trips).
    telegram_rate: float = Field(default=25.0, gt=0, le=30)
    webhook_url: AnyHttpUrl | None = None
    webhook_secret: SecretStr | None = None
    # Signs audit checkpoints; keep it outside the database (a vault, the service manager's secrets).
    audit_key: SecretStr | None = None
    # Where `hoso run` writes the chain's signed checkpoint after its daily check (outside the database: another
    # disk or a mount the database's host cannot rewrite). Unset: the chain is still checked daily.
    audit_checkpoint_dir: Path | None = None
    # The key of the printouts' verification codes (services/platform/printouts.py), outside the database like
    # the audit's. Unset: printouts carry no code and none can be verified.
    verify_key: SecretStr | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    # The web chat (`hoso web`, `hoso run --web`): where it listens, and its public address behind the
    # province's reverse proxy (https there makes the session cookie Secure).
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=1, le=65535)
    web_url: AnyHttpUrl | None = None
    web_session_hours: int = Field(default=8, ge=1, le=24)  # a browser left alone this long signs in again
    web_file_minutes: int = Field(default=60, ge=1, le=1440)  # how long a file the bot sent can be downloaded
    # The reverse proxies whose X-Forwarded-For names the real client (comma-separated addresses): the rate
    # limits then count each user, not the proxy.
    web_trusted_proxies: str = ""
    default_locale: Literal["vi", "en"] = DEFAULT_LOCALE
    timezone: str = DEFAULT_TIMEZONE
    files_dir: Path = Path("./hoso-files")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The Zalo channel (bot/zalo/): served by `hoso run` beside the others when the token is set. Updates come by
    # long polling, or, when the webhook secret is set, by a webhook listening on its host and port (registered
    # with Zalo when its public HTTPS address is set too).
    zalo_token: SecretStr | None = None
    zalo_api_base: AnyHttpUrl = AnyHttpUrl("https://bot-api.zaloplatforms.com")
    zalo_webhook_secret: SecretStr | None = None
    zalo_webhook_url: AnyHttpUrl | None = None
    zalo_webhook_host: str = "127.0.0.1"
    zalo_webhook_port: int = Field(default=8081, ge=1, le=65535)
    # Zalo documents no rate limit: a cautious pace, messages per second for all chats together.
    zalo_rate: float = Field(default=5.0, gt=0, le=100)
    # What each channel may carry (bot/content.py): full, summary or notices.
    channel_content: str = DEFAULT_CONTENT
    # Keys kept outside the database (a vault, the service manager's secrets): the backups are sealed with the
    # first, the scanned papers at rest with the second. Lose one and what it sealed is lost.
    backup_key: SecretStr | None = None
    storage_key: SecretStr | None = None
    # The daily backup of `hoso run` (and `hoso backup --schedule`): where, at what local hour, how many kept.
    backup_dir: Path | None = None
    backup_hour: int = Field(default=2, ge=0, le=23)
    backup_keep: int = Field(default=7, ge=1, le=365)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN.match(value.get_secret_value()):
            raise _Invalid(N_("expected the token BotFather gave, like 123456:ABC…"))
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        from storage.database import DatabaseUrlError, normalize_database_url

        try:
            return normalize_database_url(value)
        except DatabaseUrlError:
            raise _Invalid(N_("expected sqlite+aiosqlite:///FILE or postgresql+asyncpg://…")) from None

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise _Invalid(N_("expected redis://HOST:PORT/DB"))
        return value or None

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.match(value.get_secret_value()):
            raise _Invalid(N_("use 16 to 256 characters from A–Z, a–z, 0–9, _ and -"))
        return value

    @field_validator("zalo_token")
    @classmethod
    def _zalo_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _ZALO_TOKEN.match(value.get_secret_value()):
            raise _Invalid(N_("expected the token Zalo Bot Manager gave, like 1234567890:abc…"))
        return value

    @field_validator("zalo_webhook_secret")
    @classmethod
    def _zalo_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.match(value.get_secret_value()):
            raise _Invalid(N_("use 16 to 256 characters from A–Z, a–z, 0–9, _ and -"))
        return value

    @field_validator("zalo_webhook_url")
    @classmethod
    def _zalo_https(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and value.scheme != "https":
            raise _Invalid(N_("Zalo takes only an HTTPS address"))
        return value

    @field_validator("channel_content")
    @classmethod
    def _content(cls, value: str) -> str:
        try:
            parse_content(value)
        except ContentError as error:
            raise _Invalid(N_("expected channel=level pairs (full, summary or notices), not {part}"),
                           part=str(error)) from None
        return value

    @field_validator("backup_key", "storage_key")
    @classmethod
    def _sealing_key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise _Invalid(N_("use at least 32 random characters"))
        return value

    @field_validator("audit_key", "verify_key")
    @classmethod
    def _key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise _Invalid(N_("use at least 32 characters"))
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise _Invalid(N_("unknown time zone {zone}"), zone=value) from None
        return value

    @property
    def api_base(self) -> str:
        return str(self.telegram_api_base).rstrip("/")

    @property
    def web_address(self) -> str:
        """Where users open the web chat: the public URL if set, else the address it listens on."""
        if self.web_url is not None:
            return str(self.web_url)
        host = f"[{self.web_host}]" if ":" in self.web_host else self.web_host
        return f"http://{host}:{self.web_port}/"

    @property
    def zalo_base(self) -> str:
        return str(self.zalo_api_base).rstrip("/")

    @property
    def content_levels(self) -> dict[str, Content]:
        return parse_content(self.channel_content)

    @property
    def trusted_proxies(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.web_trusted_proxies.split(",") if part.strip())

    @property
    def web_secure(self) -> bool:
        return self.web_url is not None and self.web_url.scheme == "https"

    @property
    def pool_limits(self) -> PoolLimits:
        from storage.database import PoolLimits

        return PoolLimits(self.database_pool_size, self.database_max_overflow, self.database_pool_timeout)

    def open_database(self) -> Database:
        """The process's database, its PostgreSQL pool sized by the settings."""
        from storage.database import Database

        return Database(self.database_url, pool=self.pool_limits)

    def require_token(self) -> str:
        if self.bot_token is None:
            raise ConfigError(env_name("bot_token"), N_("missing; set it to the token BotFather gave"))
        return self.bot_token.get_secret_value()

    def require_webhook(self) -> tuple[str, str]:
        """The public webhook URL and its secret; the webhook never runs without a secret."""
        if self.webhook_secret is None:
            raise ConfigError(env_name("webhook_secret"), N_("missing; the webhook refuses to start without it"))
        if self.webhook_url is None:
            raise ConfigError(env_name("webhook_url"), N_("missing; set the public HTTPS address of the webhook"))
        return str(self.webhook_url), self.webhook_secret.get_secret_value()

    @property
    def verify_key_bytes(self) -> bytes | None:
        return self.verify_key.get_secret_value().encode() if self.verify_key is not None else None

    @property
    def verify_url(self) -> str | None:
        """The web chat's page that checks a printout's code (its QR points there). Only at HOSO_WEB_URL: the
        loopback listener means nothing on paper, so without it the QR holds the code alone."""
        return None if self.web_url is None else self.web_address.rstrip("/") + "/verify"

    def require_audit_key(self) -> bytes:
        if self.audit_key is None:
            raise ConfigError(env_name("audit_key"), N_("missing; checkpoints are signed with it"))
        return self.audit_key.get_secret_value().encode()

    def require_backup_key(self) -> bytes:
        if self.backup_key is None:
            raise ConfigError(env_name("backup_key"), N_("missing; backups are encrypted with it"))
        return self.backup_key.get_secret_value().encode()

    def require_storage_key(self) -> bytes:
        if self.storage_key is None:
            raise ConfigError(env_name("storage_key"), N_("missing; the attachments are encrypted with it"))
        return self.storage_key.get_secret_value().encode()

    def require_backup_dir(self) -> Path:
        if self.backup_dir is None:
            raise ConfigError(env_name("backup_dir"), N_("missing; set the folder the daily backups go to"))
        return self.backup_dir

    @property
    def storage_key_bytes(self) -> bytes | None:
        return self.storage_key.get_secret_value().encode() if self.storage_key is not None else None

    def secrets(self) -> list[str]:
        """Values that must never reach a log."""
        values = [self.bot_token, self.webhook_secret, self.audit_key, self.zalo_token, self.zalo_webhook_secret,
                  self.backup_key, self.storage_key, self.verify_key]
        return [value.get_secret_value() for value in values if value is not None]


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; the first bad one becomes a ConfigError naming its variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        setting = env_name(str(error["loc"][0])) if error["loc"] else ENV_PREFIX
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _Invalid):
            raise ConfigError(setting, cause.message, **cause.params) from None
        raise ConfigError(setting, N_("invalid value: {reason}"), reason=error["msg"]) from None
