"""Linking Zalo through Dispatcher.feed_update: /zalo in the web chat, the code sent on Zalo, what an unlinked
Zalo user gets (one explanation, nothing else), no secret ever asked on Zalo, and the reminder channels."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select

from bot.runtime import Runtime
from handlers.linking import ZaloLink
from handlers.reminders import ChannelToggle
from handlers.signin import Reauth
from services.accounts.links import LinkService
from services.accounts.service import AccountService, code_hash
from services.core.actor import Actor
from services.core.clock import format_local_datetime
from services.core.identity import load_actor
from services.reminders.service import MyReminders
from storage.models import LinkCode
from tests.conftest import BotHarness, RecordingZaloSession, sent_texts
from tests.test_accounts import SYSTEM, sign_in, tree

LAN_TELEGRAM = 501
ZALO_USER, OTHER_ZALO_USER = 0x9F1C2E, 0x4D5E6F
CODE = re.compile(r"<code>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</code>")
WEB = "http://127.0.0.1:8000/"  # the web chat's address in the tests' settings
EXPLANATION = ("Đây là <b>HoSo</b>, hồ sơ cán bộ, công chức điện tử. Để nhận HoSo tại đây, hãy liên kết tài khoản: "
               f"đăng nhập trang trò chuyện web HoSo ({WEB}), gửi /zalo ở đó, rồi gửi cho tôi mã được hiển thị. "
               "Không bao giờ gửi mật khẩu hay mã kích hoạt tại đây.")
NO_SECRETS = f"Mật khẩu và mã không bao giờ đi qua Zalo. Hãy đăng nhập trên trang trò chuyện web: {WEB}"


class Office:
    """lan.syt, a clerk on Telegram (501) and in the web chat (her account id), and the three transports."""

    def __init__(self, runtime: Runtime, lan: Actor) -> None:
        assert lan.account_id is not None
        self.runtime, self.lan, self.web_id = runtime, lan, lan.account_id
        self.telegram, self.web, self.zalo = (BotHarness(runtime, channel) for channel in ("telegram", "web", "zalo"))

    async def web_code(self) -> str:
        text = sent_texts(await self.web.send("/zalo", user_id=self.web_id))[0]
        found = CODE.search(text)
        assert found is not None, text
        return found.group(1)

    async def zalo_says(self, text: str, user_id: int = ZALO_USER) -> list[str]:
        return sent_texts(await self.zalo.send(text, user_id=user_id))

    async def link_codes(self) -> int:
        async with self.runtime.uow.read() as repos:
            return int(await repos.session.scalar(select(func.count()).select_from(LinkCode)) or 0)


@pytest.fixture
async def office(runtime: Runtime) -> Office:
    uow, clock = runtime.uow, runtime.clock
    await tree(uow, clock)
    lan = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", LAN_TELEGRAM)
    assert lan.account_id is not None
    async with uow.write() as repos:  # signed in on the web chat too: its address there is the account id
        await repos.identities.bind(lan.account_id, "web", str(lan.account_id), clock.now())
    return Office(runtime, lan)


async def test_the_web_chat_shows_a_code_that_links_zalo_and_unlinks_it(office: Office) -> None:
    text = sent_texts(await office.web.send("/zalo", user_id=office.web_id))[0]
    assert text.startswith("<b>Liên kết Zalo</b>")
    until = format_local_datetime(office.runtime.clock.now() + dt.timedelta(minutes=15), office.runtime.clock)
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", until) and f"Có hiệu lực đến {until}, dùng một lần." in text
    code = CODE.search(text)
    assert code is not None
    assert await office.zalo_says(code.group(1).lower()) == [
        "Zalo đã được liên kết với tài khoản <b>lan.syt</b> (Lan.Syt). Nhắc việc của HoSo sẽ được gửi tới bạn tại "
        "đây; /reminders để chọn các kênh nhận nhắc việc."]
    zalo_address = RecordingZaloSession.address_of(ZALO_USER)
    actor = await load_actor(office.runtime.uow, "zalo", zalo_address)
    assert actor.username == "lan.syt" and actor.role == "clerk"
    # Linked, the Zalo user reaches the capabilities like any signed-in user.
    assert "Xin chào <b>Lan.Syt</b>!" in (await office.zalo_says("/start"))[0]
    # The web chat now shows the link, with Unlink, and no new code.
    codes = await office.link_codes()
    linked = sent_texts(await office.web.send("/zalo", user_id=office.web_id))[0]
    assert linked.startswith("<b>Zalo</b> đã được liên kết với tài khoản của bạn từ") and "<code>" not in linked
    assert await office.link_codes() == codes
    message = office.web.last_keyboard_message()
    calls = await office.web.press(message, ZaloLink(action="unlink").pack(), user_id=office.web_id)
    assert [c.text for c in calls if c.__api_method__ == "answerCallbackQuery"] == [
        "Đã hủy liên kết Zalo: HoSo không còn gửi gì tới đó nữa."]
    assert (await load_actor(office.runtime.uow, "zalo", zalo_address)).account_id is None
    assert await office.zalo_says("/start") == [EXPLANATION]


@pytest.mark.parametrize("text", ["/start", "/start Abc123_def456-XY", "/help", "/lang", "/find Lan", "/cancel",
                                  "/reminders", "/passwd", "/logout", "xin chào", "mat-khau-2026"])
async def test_an_unlinked_zalo_user_gets_one_explanation_and_nothing_else(office: Office, text: str) -> None:
    calls = await office.zalo.send(text, user_id=ZALO_USER)
    assert [(c.__api_method__, getattr(c, "text", None)) for c in calls] == [("sendMessage", EXPLANATION)]
    assert await office.runtime.fsm_storage.get_state(key=_key(office.zalo, ZALO_USER)) is None


async def test_an_unlinked_zalo_users_press_is_refused(office: Office) -> None:
    await office.zalo.send("xin chào", user_id=ZALO_USER)
    message = next(iter(office.zalo.session.messages.values()))
    calls = await office.zalo.press(message, ChannelToggle(channel="zalo").pack(), user_id=ZALO_USER)
    assert [(c.__api_method__, c.text) for c in calls] == [("answerCallbackQuery",
        "Hãy liên kết tài khoản HoSo trước: gửi /zalo trong trang trò chuyện web, rồi gửi cho tôi mã được hiển thị.")]


async def test_wrong_expired_and_reused_codes_get_their_reason(office: Office) -> None:
    assert await office.zalo_says("ABCD-EFGH-JKLM") == [
        "Mã này không hợp lệ. Hãy kiểm tra lại, hoặc lấy mã mới trong trang trò chuyện web (/zalo)."]
    stale = await office.web_code()
    office.runtime.clock.advance(dt.timedelta(minutes=16))  # type: ignore[attr-defined]
    assert await office.zalo_says(stale) == [
        "Mã này đã hết hạn: mỗi mã chỉ có hiệu lực 15 phút. Hãy lấy mã mới trong trang trò chuyện web (/zalo)."]
    code = await office.web_code()
    await office.zalo_says(code)
    assert await office.zalo_says(code, user_id=OTHER_ZALO_USER) == [
        "Mã này đã được sử dụng. Hãy lấy mã mới trong trang trò chuyện web (/zalo)."]


async def test_a_link_code_is_shown_only_in_the_web_chat(office: Office) -> None:
    pointer = "Zalo được liên kết từ trang trò chuyện web HoSo: hãy đăng nhập ở đó và gửi /zalo."
    assert sent_texts(await office.telegram.send("/zalo", user_id=LAN_TELEGRAM)) == [pointer]
    await office.zalo_says(await office.web_code())
    assert await office.zalo_says("/zalo") == [pointer]
    assert await office.link_codes() == 1  # only the web chat's
    web_help = sent_texts(await office.web.send("/help", user_id=office.web_id))[0]
    telegram_help = sent_texts(await office.telegram.send("/help", user_id=LAN_TELEGRAM))[0]
    assert "/zalo — Liên kết Zalo" in web_help and "/zalo" not in telegram_help


async def test_a_linked_zalo_user_is_never_asked_for_a_secret(office: Office) -> None:
    runtime = office.runtime
    await office.zalo_says(await office.web_code())
    assert await office.zalo_says("/passwd") == [NO_SECRETS]
    issued = await AccountService(runtime.uow, SYSTEM, runtime.clock).issue("mai.syt", "SYT", "clerk", "Mai",
                                                                            "12/CV-SYT")
    assert await office.zalo_says(f"/start {issued.activation_code}") == [NO_SECRETS]
    async with runtime.uow.read() as repos:
        mai = await repos.accounts.by_username("mai.syt")
    assert mai is not None and mai.activation_code_hash == code_hash(issued.activation_code)  # not spent
    # Idle past the profile's limit: the session is made fresh on the web chat, not with a password here.
    runtime.clock.advance(dt.timedelta(minutes=31))  # type: ignore[attr-defined]
    assert await office.zalo_says("/find Lan") == [
        "Để bảo mật, hãy đăng nhập lại trong trang trò chuyện web HoSo, rồi gửi lại yêu cầu tại đây."]
    assert await runtime.fsm_storage.get_state(key=_key(office.zalo, ZALO_USER)) is None
    # A password prompt left under way (whatever set it) takes no password here either.
    await runtime.fsm_storage.set_state(key=_key(office.zalo, ZALO_USER), state=Reauth.password)
    assert await office.zalo_says("mat-khau-2026") == [NO_SECRETS]
    assert await runtime.fsm_storage.get_state(key=_key(office.zalo, ZALO_USER)) is None
    assert await office.zalo_says("/logout") == [
        "Đã hủy liên kết Zalo. Để liên kết lại, hãy gửi /zalo trong trang trò chuyện web HoSo."]
    assert await office.zalo_says("/start") == [EXPLANATION]


async def test_reminders_choose_their_linked_channels(office: Office) -> None:
    runtime = office.runtime
    two_channels = sent_texts(await office.telegram.send("/reminders", user_id=LAN_TELEGRAM))[0]
    assert "<b>Nhắc việc gửi tới</b>: Telegram, Trò chuyện web." in two_channels
    # Only linked channels are offered: web and Telegram here, then Zalo once linked.
    issued = await LinkService(runtime.uow, SYSTEM, runtime.clock).issue("lan.syt", "zalo")
    await office.zalo_says(issued.code)
    text = sent_texts(await office.telegram.send("/reminders", user_id=LAN_TELEGRAM))[0]
    assert "<b>Nhắc việc gửi tới</b>: Telegram, Trò chuyện web, Zalo." in text
    message = office.telegram.last_keyboard_message()
    calls = await office.telegram.press(message, ChannelToggle(channel="telegram").pack(), user_id=LAN_TELEGRAM)
    assert [c.text for c in calls if c.__api_method__ == "answerCallbackQuery"] == [
        "Nhắc việc không còn gửi tới Telegram."]
    lan = await load_actor(runtime.uow, "telegram", LAN_TELEGRAM)
    mine = MyReminders(runtime.uow, lan, runtime.clock)
    assert await mine.channels() == [("telegram", False), ("web", True), ("zalo", True)]
    await mine.toggle_channel("web")
    calls = await office.telegram.press(message, ChannelToggle(channel="zalo").pack(), user_id=LAN_TELEGRAM)
    assert [c.text for c in calls if c.__api_method__ == "answerCallbackQuery"] == [
        "Nhắc việc cần ít nhất một kênh; thay vào đó, hãy tắt từng loại nhắc việc."]
    assert await mine.channels() == [("telegram", False), ("web", False), ("zalo", True)]


def _key(harness: BotHarness, user_id: int) -> StorageKey:
    return StorageKey(bot_id=harness.bot.id, chat_id=user_id, user_id=user_id)
