"""The Zalo channel through the real Dispatcher: updates fed by the Zalo intake (`feed_update`), answers sent by
the Zalo session over HTTP to the local Zalo double (tests/zalo_stub.py), under each content policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiogram.types import BufferedInputFile
from aiohttp import web
from sqlalchemy import select

from bot.factory import create_bot, create_dispatcher
from bot.jobs import sender_for
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.web.files import FileStore
from bot.zalo.chats import ZaloChats
from bot.zalo.client import ZaloClient
from bot.zalo.intake import ZaloIntake, updates_of
from bot.zalo.run import document_keeper
from bot.zalo.session import ZALO_BOT_TOKEN, ZaloBotSession
from bot.zalo.text import plain_text, split_text
from services.core.actor import Channel, Role
from services.core.clock import FrozenClock
from services.demo import CONSOLE_USER_IDS, seed_demo
from services.platform.outbox import enqueue
from services.regime.deadlines import WorkingCalendar
from storage.models import AuditEvent, ChannelIdentity, Dossier, Outbox
from tests.conftest import sqlite_url
from tests.test_outbox import due
from tests.zalo_stub import ZaloStub

TOKEN = "1234567890:zalo-double-token-not-a-secret"
WEB = "https://hoso.example.gov.vn/"
CLERK, ADMIN = "c1e2a3b4c5d6e7f8", "ad00ad00ad00ad00"


def test_html_becomes_plain_text_with_the_links_spelled_out() -> None:
    assert plain_text("<b>Đặng Thị Hoà</b> &amp; <code>0011</code><br>"
                      '<a href="https://hoso.example/files/x">tải về</a>') == \
        "Đặng Thị Hoà & 0011\ntải về (https://hoso.example/files/x)"
    assert plain_text("<b>not html</b>", html=False) == "<b>not html</b>"


def test_a_long_text_is_split_at_line_ends_within_zalo_s_limit() -> None:
    lines = [f"{n:03d}. " + "x" * 45 for n in range(50)]  # 50 lines of 50 characters: 2 549 with the line ends
    parts = split_text("\n".join(lines))
    assert len(parts) == 2 and all(len(part) <= 2000 for part in parts)
    assert "\n".join(parts).split("\n") == lines  # nothing cut inside a line, nothing lost
    one_long_line = " ".join(["từ"] * 1500)  # 4 499 characters, no line end at all
    assert all(1 <= len(part) <= 2000 for part in split_text(one_long_line))
    assert " ".join(split_text(one_long_line)).split() == one_long_line.split()


def test_an_update_is_read_with_or_without_its_envelope() -> None:
    bare = ZaloStub.update("u1", "chào", envelope=False)
    assert updates_of({"ok": True, "result": bare}) == [bare] == updates_of(bare)
    assert updates_of({"ok": True, "result": [bare, bare]}) == [bare, bare]
    assert updates_of({"ok": False, "error_code": 408}) == []


class ZaloHarness:
    def __init__(self, runtime: Runtime, zalo: ZaloStub) -> None:
        self.runtime, self.zalo = runtime, zalo
        self.session = ZaloBotSession(ZaloClient(TOKEN, zalo.base_url), WEB, document_keeper(runtime),
                                      ZaloChats(runtime.fsm_storage))
        self.bot = create_bot(ZALO_BOT_TOKEN, session=self.session)
        self.dispatcher = create_dispatcher(runtime)

        async def locale_of(address: str) -> str | None:
            return None

        self.intake = ZaloIntake(self.dispatcher, self.bot, self.session, runtime.i18n, locale_of, WEB)

    async def say(self, user: str, text: str | None, event: str = "message.text.received") -> list[str]:
        """What the user reads after sending this: the texts Zalo received for them."""
        before = len(self.zalo.texts_to(user))
        await self.intake.handle(updates_of(self.zalo.update(user, text, event=event))[0])
        return self.zalo.texts_to(user)[before:]

    async def bind_demo(self) -> None:
        await seed_demo(self.runtime.uow, self.runtime.clock, size=40)
        async with self.runtime.uow.write() as repos:
            for role, address in ((Role.CLERK, CLERK), (Role.ADMIN, ADMIN)):
                identity = (await repos.session.scalars(select(ChannelIdentity).where(
                    ChannelIdentity.address == str(CONSOLE_USER_IDS[role])))).one()
                await repos.identities.bind(identity.account_id, Channel.ZALO, address, self.runtime.clock.now())

    async def state(self, user: str) -> tuple[str | None, dict[str, object]]:
        number = self.session.chat_of(user)
        context = self.dispatcher.fsm.get_context(self.bot, number, number)
        return await context.get_state(), await context.get_data()


async def zalo_harness(tmp_path: Path, content: str) -> AsyncIterator[ZaloHarness]:
    settings = Settings(_env_file=None, database_url=sqlite_url(tmp_path), files_dir=tmp_path / "files",
                        channel_content=content, web_url=WEB)
    async with ZaloStub(TOKEN) as zalo, open_runtime(settings, FrozenClock(dt.datetime(2026, 7, 1, 2, tzinfo=dt.UTC))) as runtime:
        await runtime.database.upgrade()
        harness = ZaloHarness(runtime, zalo)
        try:
            yield harness
        finally:
            await harness.session.close()


@pytest.fixture
async def full(tmp_path: Path) -> AsyncIterator[ZaloHarness]:
    async for harness in zalo_harness(tmp_path, "zalo=full"):
        yield harness


@pytest.fixture
async def summary(tmp_path: Path) -> AsyncIterator[ZaloHarness]:
    async for harness in zalo_harness(tmp_path, "zalo=summary"):
        yield harness


@pytest.fixture
async def notices(tmp_path: Path) -> AsyncIterator[ZaloHarness]:
    async for harness in zalo_harness(tmp_path, ""):  # the default: zalo=notices
        yield harness


async def test_a_menu_becomes_numbered_lines_and_a_number_presses_the_button(full: ZaloHarness) -> None:
    await full.bind_demo()
    [menu] = await full.say(CLERK, "/lang")
    assert menu == "Chọn ngôn ngữ:\n\n1. Tiếng Việt\n2. English\nTrả lời bằng số của lựa chọn (1–2)."
    assert all(isinstance(call.params["chat_id"], str) for call in full.zalo.calls_of("sendMessage"))
    assert "The language is now English." in await full.say(CLERK, "2")
    assert "<" not in "".join(full.zalo.texts_to(CLERK))  # no HTML reaches Zalo


async def test_a_menu_is_answered_on_another_instance_and_after_a_restart(full: ZaloHarness) -> None:
    """The menu lives in the FSM storage the instances share: a second instance (its own session and intake,
    as after a restart or behind a load balancer) turns the number into the same press."""
    await full.bind_demo()
    await full.say(CLERK, "/lang")
    other = ZaloHarness(full.runtime, full.zalo)
    try:
        before = len(full.zalo.texts_to(CLERK))
        await other.intake.handle(updates_of(full.zalo.update(CLERK, "2"))[0])
        assert "The language is now English." in full.zalo.texts_to(CLERK)[before:]
    finally:
        await other.session.close()


async def test_a_reply_and_a_notice_sent_together_keep_the_menu(full: ZaloHarness) -> None:
    """A menu and a plain message to one chat at the same moment (a reply and an outbox notice), over a storage
    that answers a read only after others ran: the menu stays live, whichever write lands last."""
    import asyncio

    from aiogram.fsm.storage.memory import MemoryStorage
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    class SlowStorage(MemoryStorage):
        async def get_data(self, key):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202
            data = await super().get_data(key)
            await asyncio.sleep(0)  # let the other writer read the same state meanwhile
            return data

    chats, chat = ZaloChats(SlowStorage()), full.session.chat_of("u5")
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Có", callback_data="yes"),
                                                      InlineKeyboardButton(text="Không", callback_data="no")]])
    menu = full.session._message(full.bot, chat, text="Xác nhận?", reply_markup=keyboard)
    notice = full.session._message(full.bot, chat, text="Nhắc việc.")
    await asyncio.gather(chats.sent(full.bot, menu, ("yes", "no")), chats.sent(full.bot, notice))
    live = await chats.menu(full.bot, chat)
    assert live is not None and live.message.message_id == menu.message_id
    assert (await chats.state(full.bot, chat)).last_sent == notice.message_id
    older = full.session._message(full.bot, chat, text="Cũ", reply_markup=keyboard)
    await chats.sent(full.bot, full.session._message(full.bot, chat, text="Mới", reply_markup=keyboard), ("a", "b"))
    await chats.sent(full.bot, older, ("yes", "no"))  # late: an older menu never replaces a newer one
    assert (await chats.menu(full.bot, chat)).choices == ("a", "b")  # type: ignore[union-attr]


async def test_an_unlinked_zalo_user_gets_one_explanation_with_the_web_chats_link(full: ZaloHarness) -> None:
    for text in ("/lang", "/start", "xin chào", "1"):
        [answer] = await full.say("u-visitor", text)
        assert answer.startswith("Đây là HoSo") and WEB in answer and "/zalo" in answer, answer


async def test_bad_input_in_a_form_is_answered_and_loses_nothing(full: ZaloHarness) -> None:
    await full.bind_demo()
    await full.say(CLERK, "/new")
    asked_sex = await full.say(CLERK, "Trần Thị Mai")
    assert "1. " in asked_sex[-1] and "(1–" in asked_sex[-1]
    state, data = await full.state(CLERK)
    menu = await full.session.chats.menu(full.bot, full.session.chat_of(CLERK))
    assert menu is not None
    choices = len(menu.choices)
    assert await full.say(CLERK, "9") == [f"9 không phải là một lựa chọn: hãy trả lời bằng một số từ 1 đến {choices}."]
    assert await full.state(CLERK) == (state, data)  # refused before the Dispatcher: nothing changed
    re_asked = await full.say(CLERK, "không phải số")
    assert re_asked[-1].startswith("Vui lòng chọn một trong các nút.") and f"(1–{choices})" in re_asked[-1]
    photo = await full.say(CLERK, None, event="message.image.received")
    assert photo == [f"Ở đây chỉ đọc được tin nhắn chữ. Với tệp và ảnh, hãy dùng trang trò chuyện web: {WEB}"]
    unknown = await full.say(CLERK, None, event="message.reaction.received")
    assert unknown == photo
    assert await full.state(CLERK) == (state, data)
    number = next(n for n, line in enumerate(asked_sex[-1].split("\n")) if line.endswith(". Nữ"))
    choice = asked_sex[-1].split("\n")[number].split(".")[0]
    asked_birth = await full.say(CLERK, choice)
    assert "ngày sinh" in asked_birth[-1].lower()
    _state, data = await full.state(CLERK)
    assert "Trần Thị Mai" in str(data)  # the first answer is still there


async def test_a_password_prompt_sends_to_the_web_chat_instead(full: ZaloHarness) -> None:
    await full.bind_demo()
    answers = await full.say(CLERK, "/passwd")
    assert answers[-1].startswith("Mật khẩu và mã không bao giờ đi qua Zalo.") and WEB in answers[-1]
    assert (await full.state(CLERK))[0] is None  # nothing waits for a password typed here
    typed = await full.say("u-new", "/start ABCD-1234-EFGH")  # an activation code: never taken on Zalo
    assert typed == [answers[-1]]
    async with full.runtime.uow.read() as repos:
        assert (await repos.session.scalars(select(AuditEvent).where(AuditEvent.action.like("auth.%")))).all() == []


async def open_a_card(harness: ZaloHarness) -> tuple[Dossier, list[str]]:
    await harness.bind_demo()
    async with harness.runtime.uow.read() as repos:
        dossier = (await repos.session.scalars(select(Dossier).order_by(Dossier.id).limit(1))).one()
    found = await harness.say(ADMIN, dossier.full_name)
    return dossier, found + await harness.say(ADMIN, "1")


async def test_full_shows_the_card_with_its_identity_number(full: ZaloHarness) -> None:
    dossier, texts = await open_a_card(full)
    assert any(dossier.personal_id in text for text in texts)
    assert any(dossier.full_name in text and f"Số định danh: {dossier.personal_id}" in text for text in texts)
    number = next(line.split(".")[0] for line in texts[-1].split("\n") if line.endswith(". Chức vụ và lương"))
    assert "Hệ số lương" in "\n".join(await full.say(ADMIN, number))  # what a summary withholds is there


async def test_summary_masks_the_identity_number_at_the_source(summary: ZaloHarness) -> None:
    dossier, texts = await open_a_card(summary)
    assert not any(dossier.personal_id in text for text in texts)
    assert any(dossier.full_name in text and "Số định danh: không hiển thị trên kênh này" in text
               for text in texts)
    async with summary.runtime.uow.read() as repos:
        audited = (await repos.session.scalars(select(AuditEvent).where(AuditEvent.action == "dossier.view"))).all()
    assert [event.details.get("channel") for event in audited] == ["zalo"]  # the channel of the read
    menu = texts[-1]
    assert "Quan hệ gia đình" not in menu  # the family section is withheld whole
    number = next(line.split(".")[0] for line in menu.split("\n") if line.endswith(". Chức vụ và lương"))
    post = "\n".join(await summary.say(ADMIN, number))
    assert "Chức vụ" in post and "Hệ số lương" not in post and "Bậc lương" not in post
    identity = next(line.split(".")[0] for line in menu.split("\n") if line.endswith(". Sơ yếu"))
    shown = "\n".join(await summary.say(ADMIN, identity))
    assert dossier.full_name in shown and dossier.personal_id not in shown and "Nơi ở hiện nay" not in shown


async def test_notices_refuses_the_card_with_a_link_to_the_web_chat(notices: ZaloHarness) -> None:
    dossier, texts = await open_a_card(notices)
    assert texts and all(text.startswith("Nội dung này không hiển thị trên Zalo") and WEB in text for text in texts)
    assert not any(dossier.full_name in text or dossier.personal_id in text for text in texts)


async def test_a_document_is_a_link_that_only_its_account_opens(full: ZaloHarness) -> None:
    await full.bind_demo()
    chat = full.session.chat_of(CLERK)
    with full.runtime.i18n.context():
        await full.bot.send_document(chat, BufferedInputFile(b"%PDF-1.4 2C", "2C-Hoa.pdf"), caption="Mẫu 2C")
    [text] = full.zalo.texts_to(CLERK)
    assert text.startswith("Mẫu 2C\n\n📎 2C-Hoa.pdf:") and f"{WEB}files/" in text
    file_id = text.rsplit("/files/", 1)[1]
    store = FileStore(full.runtime.settings.files_dir / "web-downloads")
    async with full.runtime.uow.read() as repos:
        owner = (await repos.session.scalars(select(ChannelIdentity).where(ChannelIdentity.address == CLERK))).one()
        other = (await repos.session.scalars(select(ChannelIdentity).where(ChannelIdentity.address == ADMIN))).one()
    now = full.runtime.clock.now()
    kept = store.get(owner.account_id, file_id, now)
    assert kept is not None and kept.path.read_bytes() == b"%PDF-1.4 2C"
    assert store.get(other.account_id, file_id, now) is None


async def test_summary_refuses_a_document_where_it_leaves(summary: ZaloHarness) -> None:
    await summary.bind_demo()
    from bot.content import CURRENT, Exit
    from services.core.actor import Content

    token = CURRENT.set(Exit(Channel.ZALO, Content.SUMMARY, WEB))  # as ServicesMiddleware opens it for an update
    try:
        with summary.runtime.i18n.context():
            await summary.bot.send_document(summary.session.chat_of(CLERK), BufferedInputFile(b"x", "2C.pdf"))
    finally:
        CURRENT.reset(token)
    [text] = summary.zalo.texts_to(CLERK)
    assert text.startswith("Nội dung này không hiển thị trên Zalo") and "/files/" not in text


async def test_a_long_answer_goes_as_two_messages(full: ZaloHarness) -> None:
    text = "\n".join(f"Dòng {n:03d} " + "x" * 40 for n in range(50))
    await full.bot.send_message(full.session.chat_of("u2"), text)
    parts = full.zalo.texts_to("u2")
    assert len(parts) == 2 and "\n".join(parts) == text


async def test_the_outbox_reaches_zalo_with_a_link_and_honours_a_429(notices: ZaloHarness) -> None:
    await notices.bind_demo()
    async with notices.runtime.uow.read() as repos:
        account = (await repos.session.scalars(select(ChannelIdentity.account_id).where(
            ChannelIdentity.address == CLERK))).one()
    async with notices.runtime.uow.write() as repos:
        await enqueue(repos, notices.runtime.clock, [due(account)], WorkingCalendar())
    notices.session.retry_after = 1
    notices.zalo.fail("sendMessage", 429, "Too Many Requests", times=4)  # the retries of the request, then the row
    sender = sender_for(notices.runtime, notices.bot)
    sender.pacer.per_chat = 0.0
    report = await sender.drain()
    assert report.sent == 0 and report.rate_limited == 1
    async with notices.runtime.uow.read() as repos:
        rows = (await repos.session.scalars(select(Outbox).where(Outbox.channel == Channel.ZALO))).all()
    assert [(row.status, row.attempts) for row in rows] == [("pending", 0)]  # a 429 uses up no attempt
    assert notices.zalo.texts_to(CLERK) == [] and len(notices.zalo.calls_of("sendMessage", ok=False)) == 4

    notices.runtime.clock.advance(dt.timedelta(seconds=2))
    assert (await sender.drain()).sent == 1
    [text] = notices.zalo.texts_to(CLERK)
    assert "<" not in text and text.endswith(f"Xem chi tiết trên trang trò chuyện web: {WEB}")
    assert (await sender.drain()).sent == 1  # the report counts on; nothing more went
    assert len(notices.zalo.texts_to(CLERK)) == 1


@asynccontextmanager
async def webhook(harness: ZaloHarness, secret: str) -> AsyncIterator[str]:
    """The intake's webhook route served on a free loopback port: its URL."""
    app = web.Application()
    app.router.add_post("/zalo/webhook", harness.intake.webhook(secret))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/zalo/webhook"  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


async def test_the_webhook_checks_the_secret(full: ZaloHarness) -> None:
    secret = "s3cret-of-the-zalo-webhook"
    async with webhook(full, secret) as url:
        wrong = await full.zalo.post_update(url, full.zalo.update("u3", "/start"), "not-the-secret")
        missing = await full.zalo.post_update(url, full.zalo.update("u3", "/start"), None)
        right = await full.zalo.post_update(url, full.zalo.update("u3", "/start", envelope=False), secret)
        await full.intake.drain()
    assert wrong[0] == missing[0] == 401 and right[0] == 200
    assert len(full.zalo.texts_to("u3")) == 1



@pytest.mark.parametrize(("name", "value", "setting"), [
    ("HOSO_ZALO_TOKEN", "not-a-token", "HOSO_ZALO_TOKEN"),
    ("HOSO_ZALO_WEBHOOK_SECRET", "short", "HOSO_ZALO_WEBHOOK_SECRET"),
    ("HOSO_ZALO_WEBHOOK_URL", "http://hoso.example.gov.vn/zalo", "HOSO_ZALO_WEBHOOK_URL"),
    ("HOSO_ZALO_RATE", "0", "HOSO_ZALO_RATE"),
    ("HOSO_CHANNEL_CONTENT", "zalo=everything", "HOSO_CHANNEL_CONTENT"),
    ("HOSO_CHANNEL_CONTENT", "sms=full", "HOSO_CHANNEL_CONTENT"),
])
def test_a_bad_zalo_setting_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str, setting: str) -> None:
    from bot.settings import ConfigError, load_settings

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert caught.value.setting == setting


def test_zalo_settings_their_defaults_and_their_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import load_settings
    from services.core.actor import Content

    defaults = load_settings(_env_file=None)
    assert defaults.zalo_token is None and defaults.zalo_base == "https://bot-api.zaloplatforms.com"
    assert defaults.content_levels == {"web": Content.FULL, "telegram": Content.FULL, "zalo": Content.NOTICES}
    assert 0 < defaults.zalo_rate <= 5
    monkeypatch.setenv("HOSO_ZALO_TOKEN", TOKEN)
    monkeypatch.setenv("HOSO_ZALO_WEBHOOK_SECRET", "s" * 20)
    monkeypatch.setenv("HOSO_CHANNEL_CONTENT", "telegram=summary")
    settings = load_settings(_env_file=None)
    assert TOKEN in settings.secrets() and "s" * 20 in settings.secrets()  # masked in every log line
    assert settings.content_levels["telegram"] == Content.SUMMARY
    assert settings.content_levels["zalo"] == Content.NOTICES  # a channel not named keeps its default


async def test_the_policy_holds_for_any_channel_where_it_leaves(tmp_path: Path) -> None:
    """The gate is the Bot session's, not Zalo's: Telegram set to `notices` refuses the card the same way."""
    from tests.conftest import BotHarness

    settings = Settings(_env_file=None, database_url=sqlite_url(tmp_path), files_dir=tmp_path / "files",
                        channel_content="telegram=notices", web_url=WEB)
    async with open_runtime(settings, FrozenClock(dt.datetime(2026, 7, 1, 2, tzinfo=dt.UTC))) as runtime:
        await runtime.database.upgrade()
        await seed_demo(runtime.uow, runtime.clock, size=40)
        harness = BotHarness(runtime)
        async with runtime.uow.read() as repos:
            dossier = (await repos.session.scalars(select(Dossier).order_by(Dossier.id).limit(1))).one()
        admin = CONSOLE_USER_IDS[Role.ADMIN]
        calls = await harness.send(dossier.full_name, user_id=admin)
        texts = [call.text for call in calls if call.__api_method__ == "sendMessage"]
        assert texts == [f"Nội dung này không hiển thị trên Telegram: đơn vị triển khai không cho nội dung hồ sơ đi "
                         f"qua kênh này. Hãy mở trên trang trò chuyện web: {WEB}"]
        assert "Xin chào" in [call.text for call in await harness.send("/start", user_id=admin)][0]  # no dossier read


async def test_an_edit_is_a_new_message_its_buttons_go_with_it_and_a_delete_does_nothing(full: ZaloHarness) -> None:
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    chat = full.session.chat_of("u4")
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Có", callback_data="yes"),
                                                      InlineKeyboardButton(text="Không", callback_data="no")]])
    with full.runtime.i18n.context():
        sent = await full.bot.send_message(chat, "<b>Xác nhận?</b>", reply_markup=keyboard)
        menu = await full.session.chats.menu(full.bot, chat)
        assert menu is not None and menu.choices == ("yes", "no")
        await full.bot.edit_message_text("Đã xác nhận.", chat_id=chat, message_id=sent.message_id)
        assert await full.bot.delete_message(chat, sent.message_id) is True
        await full.bot.send_chat_action(chat, "typing")
    assert full.zalo.texts_to("u4") == ["Xác nhận?\n\n1. Có\n2. Không\nTrả lời bằng số của lựa chọn (1–2).",
                                        "Đã xác nhận."]
    assert await full.session.chats.menu(full.bot, chat) is None  # the edit took the buttons: "1" is typed now
    assert [call.params for call in full.zalo.calls_of("sendChatAction")] == [{"chat_id": "u4", "action": "typing"}]
    assert not {call.method for call in full.zalo.calls} - {"sendMessage", "sendChatAction"}


async def test_the_outbox_honours_zalo_s_other_refusals(full: ZaloHarness) -> None:
    await full.bind_demo()
    async with full.runtime.uow.read() as repos:
        accounts = {identity.address: identity.account_id for identity in (await repos.session.scalars(
            select(ChannelIdentity).where(ChannelIdentity.channel == Channel.ZALO))).all()}
    async with full.runtime.uow.write() as repos:
        await enqueue(repos, full.runtime.clock, [due(accounts[CLERK]), due(accounts[ADMIN])], WorkingCalendar())
    full.zalo.fail("sendMessage", 502, "Bad Gateway", http_status=502, when=lambda p: p["chat_id"] == CLERK)
    full.zalo.fail("sendMessage", 403, "Forbidden: the user blocked the bot", when=lambda p: p["chat_id"] == ADMIN)
    report = await sender_for(full.runtime, full.bot).drain()
    assert (report.sent, report.blocked, report.retried) == (0, 1, 1)
    async with full.runtime.uow.read() as repos:
        rows = {row.address: row for row in (await repos.session.scalars(
            select(Outbox).where(Outbox.channel == Channel.ZALO))).all()}
        blocked = (await repos.session.scalars(select(ChannelIdentity).where(ChannelIdentity.address == ADMIN))).one()
    assert (rows[CLERK].status, rows[CLERK].attempts) == ("pending", 1)  # a 5xx: again later, with backoff
    assert "502" in (rows[CLERK].last_error or "")
    assert rows[ADMIN].status == "blocked" and blocked.blocked_at is not None  # the identity, not the account


async def test_a_webhook_body_that_is_not_json_or_not_an_update_changes_nothing(full: ZaloHarness) -> None:
    import aiohttp

    secret = "s3cret-of-the-zalo-webhook"
    headers = {"X-Bot-Api-Secret-Token": secret}
    async with webhook(full, secret) as url, aiohttp.ClientSession() as http:
        async with http.post(url, data=b"{not json", headers=headers) as response:
            assert response.status == 400
        for body in ([1, 2], {"ok": True, "result": {"event_name": "message.text.received"}}, {"foo": "bar"}):
            async with http.post(url, json=body, headers=headers) as response:
                assert response.status == 200
        await full.intake.drain()
    assert full.zalo.calls_of("sendMessage", ok=None) == []


async def test_a_group_gets_the_one_refusal_and_nothing_else(full: ZaloHarness) -> None:
    update = updates_of(full.zalo.update("u5", "/start", chat_id="g-group-1", chat_type="GROUP"))[0]
    await full.intake.handle(update)
    [refusal] = full.zalo.texts_to("g-group-1")
    assert "chỉ làm việc trong trò chuyện riêng" in refusal
    assert full.zalo.texts_to("u5") == [] and {call.method for call in full.zalo.calls} == {"sendMessage"}


async def test_a_find_list_is_answered_by_its_numbers_without_a_menu_of_bare_numbers(full: ZaloHarness) -> None:
    """A trial of the transport showed "1. 1", "2. 2" under the numbered results of /find."""
    import re

    await full.bind_demo()
    [*_, listed] = await full.say(CLERK, "/find Nguyễn")
    assert re.search(r"^1\. ", listed, re.M) and "(1–" in listed, listed
    assert not re.search(r"^(\d+)\. \1$", listed, re.M), listed
    card = await full.say(CLERK, "1")  # the first result's card (the clerk's own unit, on `full`)
    assert any("Nguyễn" in text for text in card), card


async def test_a_form_on_zalo_does_not_ask_for_a_file_it_cannot_receive(full: ZaloHarness) -> None:
    await full.bind_demo()
    started = "\n".join(await full.say(CLERK, "/new"))
    assert "Tại đây không nhận tệp: để nhập kèm bản quét văn bản, hãy dùng trang trò chuyện web." in started, started
    assert "PDF, JPG, PNG" not in started
