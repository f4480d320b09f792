"""No secret reaches a log record, even at DEBUG: not a password or activation-code hash as stored, not a
typed password or code, not the audit key. Every logger is opened to DEBUG, SQLAlchemy's and those that
`configure_logging` quiets included, while accounts are issued, activated, given and changed passwords,
signed in, refused, reset and audited, through the services and through the bot, on each backend. The
handler that `hoso` itself configures is checked at DEBUG too."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import secrets
import sys
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from bot.local_session import LOCAL_BOT_TOKEN
from bot.logs import RedactingFormatter, configure_logging
from bot.runtime import open_runtime
from bot.settings import Settings
from handlers.admin import AdminMenu
from services.accounts.links import LinkRefused, LinkService, new_link_code, normalized
from services.accounts.service import AccountService, ActivationRefused, code_hash, hash_password
from services.core.actor import Actor
from services.core.clock import FrozenClock
from services.core.identity import load_actor
from services.platform.audit import AuditService
from storage import Database, UnitOfWork
from storage.models import Account
from tests.conftest import BotHarness, sent_texts
from tests.test_accounts import PASSWORD, tree

SYSTEM = Actor.system()
# Every library HoSo runs on, and the loggers `configure_logging` raises: all of them at DEBUG here.
LIBRARIES = ("sqlalchemy", "aiosqlite", "asyncpg", "aiogram", "aiogram.event", "aiohttp", "alembic", "redis",
             "asyncio")
# Random, so that a match can only be a leak.
NEW_PASSWORD = f"moi-{secrets.token_urlsafe(9)}"
WRONG_PASSWORD = f"sai-{secrets.token_urlsafe(9)}"
SHORT_PASSWORD = "n@-7q"  # refused for its length, but typed all the same
WRONG_CODE = secrets.token_urlsafe(12)
AUDIT_KEY = secrets.token_urlsafe(32)
ADMIN_ID, CLERK_ID = 900, 501
_CODE_IN_REPLY = re.compile(r"<code>([^<]+)</code>")


class Secrets:
    """What must never be logged, by kind: a failure names the kind and the logger, never the value."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {
            "a typed password": PASSWORD,
            "a new password": NEW_PASSWORD,
            "a wrong password": WRONG_PASSWORD,
            "a short password": SHORT_PASSWORD,
            "a wrong code": WRONG_CODE,
            "the hash of a wrong code": code_hash(WRONG_CODE),
            "the audit key": AUDIT_KEY,
        }

    def add(self, kind: str, value: str | None) -> None:
        assert value, f"{kind} is missing"
        self.values[f"{kind} #{len(self.values)}"] = value

    async def read_account(self, uow: UnitOfWork, username: str) -> None:
        """The secret columns as the database holds them now."""
        async with uow.read() as repos:
            account = await repos.accounts.by_username(username)
        for kind, value in (("a password hash", account.secret_hash),
                            ("an activation-code hash", account.activation_code_hash)):
            if value:
                self.add(kind, value)

    def code(self, code: str) -> None:
        self.add("an activation code", code)
        self.add("the hash of an activation code", code_hash(code))


def record_text(record: logging.LogRecord) -> str:
    """Everything a handler could write of a record: the message, its arguments, traceback and stack."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed record still has its parts checked
        message = ""
    parts = [message, str(record.msg), repr(record.args)]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(record.exc_info[1])))
    parts += [record.exc_text or "", record.stack_info or ""]
    return "\n".join(parts)


def assert_no_secret(records: list[logging.LogRecord], known: Secrets) -> None:
    for record in records:
        text = record_text(record)
        assert "$argon2" not in text, f"an argon2 hash in a {record.levelname} record of {record.name}"
        leaked = [kind for kind, value in known.values.items() if value in text]
        assert not leaked, f"{leaked} in a {record.levelname} record of {record.name}"


def assert_sql_was_logged(records: list[logging.LogRecord]) -> None:
    """The check is not vacuous: statements were logged, only their values were not."""
    assert any(r.name.startswith("sqlalchemy.engine") and "UPDATE account" in r.getMessage() for r in records)


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in LIBRARIES:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


# -- through the services ----------------------------------------------------------------------------
async def audit_and_incident(uow: UnitOfWork, clock: FrozenClock, known: Secrets) -> None:
    """A signed checkpoint, and a database error while writing secret columns, logged with its traceback
    as an incident is (bot/errors.py)."""
    auditor = AuditService(uow, SYSTEM, clock)
    checkpoint = await auditor.checkpoint(AUDIT_KEY.encode())
    assert (await auditor.verify(checkpoint, AUDIT_KEY.encode())).ok

    racing_hash, racing_code = hash_password(NEW_PASSWORD), secrets.token_urlsafe(12)
    known.add("a password hash", racing_hash)
    known.code(racing_code)
    with pytest.raises(IntegrityError) as caught:  # the username is taken
        async with uow.write() as repos:
            unit_id = (await repos.units.by_code("SYT")).id
            await repos.accounts.add(Account(
                username="lan.syt", full_name="Trần Thị Lan", unit_id=unit_id, role="clerk", status="active",
                secret_hash=racing_hash, activation_code_hash=code_hash(racing_code), created_at=clock.now()))
    logging.getLogger("hoso.incidents").error("incident: %s", type(caught.value).__name__, exc_info=caught.value)


async def exercise_services(uow: UnitOfWork, clock: FrozenClock) -> Secrets:
    known = Secrets()
    await tree(uow, clock)
    office = AccountService(uow, SYSTEM, clock)
    codes = {}
    for username, unit in (("lan.syt", "SYT"), ("an.bv", "BV")):
        codes[username] = (await office.issue(username, unit, "clerk", username.title(), "45/CV-SYT")).activation_code
        known.code(codes[username])
        await known.read_account(uow, username)

    async def user() -> AccountService:
        return AccountService(uow, await load_actor(uow, "telegram", CLERK_ID), clock)

    with pytest.raises(ActivationRefused):
        await (await user()).activate(WRONG_CODE)
    await (await user()).activate(codes["lan.syt"])
    await (await user()).choose_first_password(PASSWORD)
    await known.read_account(uow, "lan.syt")
    assert not (await (await user()).confirm_password(WRONG_PASSWORD)).ok
    assert (await (await user()).confirm_password(PASSWORD)).ok
    await (await user()).set_password(NEW_PASSWORD)
    await known.read_account(uow, "lan.syt")
    await (await user()).logout()

    reset = await office.reset("lan.syt", "47/CV-SYT")
    known.code(reset.activation_code)
    await known.read_account(uow, "lan.syt")
    await (await user()).activate(reset.activation_code)
    await (await user()).choose_first_password(PASSWORD)
    await known.read_account(uow, "lan.syt")

    # A Zalo link code: issued, a wrong one and the right one sent from Zalo, then unlinked.
    link, wrong_link = await LinkService(uow, SYSTEM, clock).issue("lan.syt", "zalo"), new_link_code()
    for kind, value in (("a link code", link.code), ("a link code", normalized(link.code)),
                        ("the hash of a link code", code_hash(normalized(link.code))),
                        ("a wrong link code", wrong_link), ("the hash of a wrong link code", code_hash(wrong_link))):
        known.add(kind, value)
    zalo = LinkService(uow, Actor.anonymous("zalo", "9f1c2e"), clock)
    with pytest.raises(LinkRefused):
        await zalo.consume(wrong_link)
    await zalo.consume(link.code.lower())
    await LinkService(uow, SYSTEM, clock).unlink("lan.syt", "zalo")
    await audit_and_incident(uow, clock, known)
    return known


async def test_services_log_no_secret_at_debug(
    any_database: Database, clock: FrozenClock, debug_log: pytest.LogCaptureFixture
) -> None:
    known = await exercise_services(UnitOfWork(any_database), clock)
    assert_sql_was_logged(debug_log.records)
    assert_no_secret(debug_log.records, known)


# -- through the bot ---------------------------------------------------------------------------------
@asynccontextmanager
async def bot_on(url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[BotHarness]:
    settings = Settings(_env_file=None, database_url=url, files_dir=tmp_path / "files", audit_key=AUDIT_KEY)
    async with open_runtime(settings, clock) as runtime:
        await runtime.database.upgrade()
        yield BotHarness(runtime)


async def exercise_bot(harness: BotHarness) -> Secrets:
    """Codes and passwords as Telegram message texts, through Dispatcher.feed_update."""
    known = Secrets()
    uow, clock = harness.runtime.uow, harness.runtime.clock
    await tree(uow, clock)
    office = AccountService(uow, SYSTEM, clock)

    admin_code = (await office.issue("hoa.snv", "SNV", "admin", "Hoa", "44/CV-SNV")).activation_code
    known.code(admin_code)
    await known.read_account(uow, "hoa.snv")
    await harness.send(f"/start {WRONG_CODE}", user_id=ADMIN_ID)
    await harness.send(f"/start {admin_code}", user_id=ADMIN_ID)
    await harness.send(SHORT_PASSWORD, user_id=ADMIN_ID)
    assert "Bạn đã đăng nhập" in sent_texts(await harness.send(PASSWORD, user_id=ADMIN_ID))[0]
    await known.read_account(uow, "hoa.snv")

    # The admin issues an account in the bot: the code travels in a message.
    await harness.send("/admin", user_id=ADMIN_ID)
    await harness.press(harness.last_keyboard_message(), AdminMenu(item="account_add").pack(), user_id=ADMIN_ID)
    await harness.send("lan.syt", user_id=ADMIN_ID)
    await harness.send("SYT", user_id=ADMIN_ID)
    await harness.press(harness.last_keyboard_message(), "fc:clerk", user_id=ADMIN_ID)
    await harness.send("Trần Thị Lan", user_id=ADMIN_ID)
    issued = _CODE_IN_REPLY.search("\n".join(sent_texts(await harness.send("45/CV-SYT", user_id=ADMIN_ID))))
    assert issued, "the account form did not answer with a code"
    clerk_code = issued.group(1)
    known.code(clerk_code)
    await known.read_account(uow, "lan.syt")

    await harness.send(f"/start {clerk_code}", user_id=CLERK_ID)
    await harness.send(PASSWORD, user_id=CLERK_ID)
    await known.read_account(uow, "lan.syt")
    await harness.send("/passwd", user_id=CLERK_ID)
    await harness.send(WRONG_PASSWORD, user_id=CLERK_ID)
    await harness.send(PASSWORD, user_id=CLERK_ID)
    assert sent_texts(await harness.send(NEW_PASSWORD, user_id=CLERK_ID)) == ["Đã đổi mật khẩu."]
    await known.read_account(uow, "lan.syt")

    # An idle session asks the password again.
    clock.advance(dt.timedelta(minutes=45))
    await harness.send("/admin", user_id=ADMIN_ID)
    await harness.send(WRONG_PASSWORD, user_id=ADMIN_ID)
    await harness.send(PASSWORD, user_id=ADMIN_ID)

    reset = await office.reset("lan.syt", "47/CV-SYT")
    known.code(reset.activation_code)
    await known.read_account(uow, "lan.syt")
    await harness.send(f"/start {reset.activation_code}", user_id=CLERK_ID)
    await harness.send(NEW_PASSWORD, user_id=CLERK_ID)
    await known.read_account(uow, "lan.syt")
    await harness.send("/logout", user_id=CLERK_ID)
    await audit_and_incident(uow, clock, known)
    return known


async def test_the_bot_logs_no_secret_at_debug(
    database_url: str, tmp_path: Path, clock: FrozenClock, debug_log: pytest.LogCaptureFixture
) -> None:
    async with bot_on(database_url, tmp_path, clock) as harness:
        known = await exercise_bot(harness)
    assert_sql_was_logged(debug_log.records)
    assert_no_secret(debug_log.records, known)


# -- the handler `hoso` configures -------------------------------------------------------------------
@contextmanager
def logging_restored() -> Iterator[None]:
    """configure_logging changes the whole process: put the root handlers and every level back."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    levels = {name: logger.level for name, logger in logging.Logger.manager.loggerDict.items()
              if isinstance(logger, logging.Logger)}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            if isinstance(logger, logging.Logger):
                logger.setLevel(levels.get(name, logging.NOTSET))


async def test_the_configured_handler_writes_no_secret_at_debug(
    database_url: str, tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with logging_restored():
        configure_logging("DEBUG", [LOCAL_BOT_TOKEN, AUDIT_KEY])
        logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)  # an operator tracing SQL as well
        async with bot_on(database_url, tmp_path, clock) as harness:
            known = await exercise_bot(harness)
        logging.getLogger("hoso.check").debug("debug lines are written")
    written = stderr.getvalue()
    assert " DEBUG hoso.check: debug lines are written" in written
    assert " INFO sqlalchemy.engine.Engine: UPDATE account SET " in written
    assert "$argon2" not in written
    leaked = [kind for kind, value in known.values.items() if value in written]
    assert not leaked, f"{leaked} written by the configured handler"


def test_the_formatter_masks_a_password_hash_in_a_traceback() -> None:
    """Defence in depth: a hash that got into a record anyway (made by hand here, not logged)."""
    digest = hash_password(NEW_PASSWORD)
    try:
        raise ValueError(f"bad row ({digest!r}, {AUDIT_KEY!r})")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "row %s", (digest,), sys.exc_info())
    text = RedactingFormatter("%(message)s", [AUDIT_KEY]).format(record)
    assert "row ***" in text and "bad row ('***', '***')" in text
    assert "$argon2" not in text and digest not in text and AUDIT_KEY not in text


def test_the_formatter_hides_the_row_values_a_postgresql_error_quotes() -> None:
    """hide_parameters hides bound values, not the server's DETAIL, which quotes the row (a code hash)."""
    code_hash = "9f" * 32
    message = (f"(asyncpg.exceptions.UniqueViolationError) duplicate key value violates unique constraint\n"
               f"DETAIL:  Key (activation_code_hash)=({code_hash}) already exists.\n"
               f"[SQL: INSERT INTO account ...]")
    record = logging.LogRecord("hoso.incidents", logging.ERROR, __file__, 1, "%s", (message,), None)
    text = RedactingFormatter("%(message)s", []).format(record)
    assert code_hash not in text and "DETAIL:  ***" in text and "duplicate key value" in text
