"""Settings: HOSO_* variables and .env; a missing or malformed one is named in one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ConfigError, Settings, load_settings

TOKEN = "123456:" + "A" * 35


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("HOSO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./hoso.db"
    assert settings.default_locale == "vi"
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.api_base == "https://api.telegram.org"
    assert settings.bot_token is None and settings.redis_url is None


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"HOSO_BOT_TOKEN={TOKEN}\nHOSO_DEFAULT_LOCALE=en\n")
    monkeypatch.setenv("HOSO_TELEGRAM_API_BASE", "http://127.0.0.1:8081/")
    settings = load_settings()
    assert settings.require_token() == TOKEN
    assert settings.default_locale == "en"
    assert settings.api_base == "http://127.0.0.1:8081"


def test_usual_database_spellings_are_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSO_DATABASE_URL", "postgresql://hoso@127.0.0.1:5432/hoso")
    assert load_settings().database_url == "postgresql+asyncpg://hoso@127.0.0.1:5432/hoso"
    monkeypatch.setenv("HOSO_DATABASE_URL", "sqlite:///data/hoso.db")
    assert load_settings().database_url == "sqlite+aiosqlite:///data/hoso.db"


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("HOSO_DATABASE_URL", "mysql://x@y/z", "expected sqlite+aiosqlite"),
        ("HOSO_DATABASE_URL", "not a url", "expected sqlite+aiosqlite"),
        ("HOSO_BOT_TOKEN", "hello", "BotFather"),
        ("HOSO_TIMEZONE", "Mars/Olympus", "Mars/Olympus"),
        ("HOSO_REDIS_URL", "127.0.0.1:6379", "redis://"),
        ("HOSO_WEBHOOK_SECRET", "short", "16"),
        ("HOSO_WEBHOOK_PORT", "eighty", "invalid value"),
        ("HOSO_DEFAULT_LOCALE", "fr", "invalid value"),
    ],
)
def test_a_malformed_setting_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str, reason: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.setting == name
    assert reason in caught.value.message.format(**caught.value.params)


def test_missing_token_and_webhook_secret_are_named() -> None:
    settings = load_settings()
    with pytest.raises(ConfigError) as caught:
        settings.require_token()
    assert caught.value.setting == "HOSO_BOT_TOKEN"
    with pytest.raises(ConfigError) as caught:
        settings.require_webhook()
    assert caught.value.setting == "HOSO_WEBHOOK_SECRET"


def test_secrets_are_listed_for_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSO_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("HOSO_WEBHOOK_SECRET", "s" * 20)
    assert load_settings().secrets() == [TOKEN, "s" * 20]


def test_the_log_never_shows_a_secret() -> None:
    import logging
    import sys

    from bot.logs import FORMAT, RedactingFormatter

    try:
        raise RuntimeError(f"cannot reach https://api/bot{TOKEN}/getMe")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "calling %s", (f"bot{TOKEN}",), exc_info)
    text = RedactingFormatter(FORMAT, [TOKEN]).format(record)
    assert TOKEN not in text
    assert "calling bot***" in text and "https://api/bot***/getMe" in text


def test_the_printouts_qr_points_to_the_public_address_only() -> None:
    """A QR on paper pointing to the loopback listener would lead nowhere: without HOSO_WEB_URL, the code alone."""
    assert Settings(_env_file=None).verify_url is None
    assert Settings(_env_file=None, web_url="https://hoso.example.vn/").verify_url == "https://hoso.example.vn/verify"
