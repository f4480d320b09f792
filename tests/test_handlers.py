"""Handler tests: updates through Dispatcher.feed_update, replies recorded by the in-process Bot API."""

from __future__ import annotations

import pytest
from aiogram.enums import ChatType
from sqlalchemy import select

from handlers.language import LanguageChoice
from services.core.actor import Role
from services.demo import CONSOLE_USER_IDS, seed_demo
from storage.models import ChannelIdentity
from tests.conftest import BotHarness, sent_texts

pytestmark = pytest.mark.both_transports  # the same flows over the web chat's transport (tests/conftest.py)


async def demo(harness: BotHarness, size: int) -> None:
    """The demo province, its accounts reached on the harness's channel at their terminal-chat user ids."""
    await seed_demo(harness.runtime.uow, harness.runtime.clock, size=size)
    if harness.channel == "telegram":
        return
    async with harness.runtime.uow.write() as repos:
        for account_id, _channel, address in [(i.account_id, i.channel, i.address) for i in
                                               (await repos.session.scalars(select(ChannelIdentity))).all()]:
            await repos.identities.bind(account_id, harness.channel, address, harness.runtime.clock.now())


async def test_start_in_private_chat_greets_in_vietnamese(harness: BotHarness) -> None:
    calls = await harness.send("/start")
    texts = sent_texts(calls)
    assert len(texts) == 1
    assert "Chào mừng bạn đến với <b>HoSo</b>" in texts[0]
    assert "Sở Nội vụ" in texts[0]
    sent = calls[0]
    assert sent.chat_id == 111
    # Every message is protected from forwarding and saving (invariant 6).
    assert harness.bot.default["protect_content"] is True


async def test_start_for_a_signed_in_clerk_shows_role_unit_and_scope(harness: BotHarness) -> None:
    await demo(harness, 40)
    texts = sent_texts(await harness.send("/start", user_id=CONSOLE_USER_IDS[Role.CLERK]))
    assert "Xin chào <b>Nguyễn Văn Bình</b>!" in texts[0]
    assert "Vai trò: Cán bộ quản lý hồ sơ" in texts[0]
    assert "Đơn vị: Sở Giáo dục và Đào tạo" in texts[0]
    assert "Số hồ sơ trong phạm vi của bạn:" in texts[0]


async def test_admin_scope_covers_every_dossier(harness: BotHarness) -> None:
    await demo(harness, 40)
    texts = sent_texts(await harness.send("/start", user_id=CONSOLE_USER_IDS[Role.ADMIN]))
    assert "Số hồ sơ trong phạm vi của bạn: 40" in texts[0]


async def test_start_in_a_group_refuses_once_and_leaves(harness: BotHarness) -> None:
    calls = await harness.send("/start", chat_type=ChatType.GROUP, chat_id=-100500)
    names = [call.__api_method__ for call in calls]
    assert names == ["sendMessage", "leaveChat"]
    assert calls[0].chat_id == -100500
    assert "chỉ làm việc trong trò chuyện riêng" in calls[0].text
    assert calls[1].chat_id == -100500


async def test_any_message_in_a_supergroup_is_refused_too(harness: BotHarness) -> None:
    calls = await harness.send("xin chào", chat_type=ChatType.SUPERGROUP, chat_id=-100600)
    assert [call.__api_method__ for call in calls] == ["sendMessage", "leaveChat"]


async def test_lang_switches_language_and_next_reply_is_english(harness: BotHarness) -> None:
    calls = await harness.send("/lang")
    assert sent_texts(calls) == ["Chọn ngôn ngữ:"]
    keyboard = harness.last_keyboard_message()
    buttons = [button.text for row in keyboard.reply_markup.inline_keyboard for button in row]
    assert buttons == ["Tiếng Việt", "English"]

    calls = await harness.press(keyboard, LanguageChoice(locale="en").pack())
    assert "The language is now English." in sent_texts(calls)

    texts = sent_texts(await harness.send("/start"))
    assert texts[0].startswith("Welcome to <b>HoSo</b>")


async def test_lang_with_argument_and_back_to_vietnamese(harness: BotHarness) -> None:
    assert sent_texts(await harness.send("/lang en")) == ["The language is now English."]
    assert sent_texts(await harness.send("/help"))[0].startswith("<b>HoSo commands</b>")
    assert sent_texts(await harness.send("/lang vi")) == ["Đã chuyển ngôn ngữ sang tiếng Việt."]
    assert sent_texts(await harness.send("/help"))[0].startswith("<b>Các lệnh của HoSo</b>")


async def test_lang_is_stored_on_the_account(harness: BotHarness) -> None:
    await demo(harness, 0)
    clerk = CONSOLE_USER_IDS[Role.CLERK]
    await harness.send("/lang en", user_id=clerk)
    async with harness.runtime.uow.read() as repos:
        account, _unit = await repos.accounts.by_identity(harness.channel, str(clerk))
    assert account.locale == "en"
    assert sent_texts(await harness.send("/start", user_id=clerk))[0].startswith("Hello, <b>")


async def test_unknown_language_is_refused_with_the_reason(harness: BotHarness) -> None:
    texts = sent_texts(await harness.send("/lang fr"))
    assert texts == ["Ngôn ngữ không được hỗ trợ: fr."]


async def test_help_lists_the_commands(harness: BotHarness) -> None:
    text = sent_texts(await harness.send("/help"))[0]
    for command in ("/start", "/help", "/lang", "/cancel"):
        assert command in text


async def test_cancel_with_nothing_under_way(harness: BotHarness) -> None:
    assert sent_texts(await harness.send("/cancel")) == ["Không có thao tác nào để huỷ."]


async def test_cancel_clears_a_prompt_under_way(harness: BotHarness) -> None:
    key_user = 111
    from aiogram.fsm.storage.base import StorageKey

    key = StorageKey(bot_id=harness.bot.id, chat_id=key_user, user_id=key_user)
    await harness.runtime.fsm_storage.set_state(key, "NewDossier:full_name")
    await harness.runtime.fsm_storage.set_data(key, {"full_name": "Đặng Thị Hoà"})
    assert sent_texts(await harness.send("/cancel")) == ["Đã huỷ. Không có gì được lưu."]
    assert await harness.runtime.fsm_storage.get_state(key) is None


async def test_unknown_text_points_to_help(harness: BotHarness) -> None:
    texts = sent_texts(await harness.send("tra cứu giúp tôi"))
    assert texts == ["Tôi chưa hiểu yêu cầu này. Gửi /help để xem những việc bạn có thể làm."]


async def test_stale_button_is_answered(harness: BotHarness) -> None:
    await harness.send("/lang")
    calls = await harness.press(harness.last_keyboard_message(), "gone:1")
    assert calls[0].__api_method__ == "answerCallbackQuery"
    assert calls[0].text == "Nút này không còn hiệu lực."


async def test_a_crash_gets_a_translated_apology_and_no_traceback(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from services.oversight.overview import OverviewService

    async def broken(self: OverviewService) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(OverviewService, "overview", broken)
    texts = sent_texts(await harness.send("/start"))
    assert texts == ["Xin lỗi, hệ thống gặp sự cố. Dữ liệu bạn đã nhập không bị mất; vui lòng thử lại."]
    assert "Traceback" not in texts[0] and "database on fire" not in texts[0]
    incidents = [record for record in caplog.records if record.name == "hoso.incidents"]
    assert incidents and incidents[0].exc_info is not None


async def test_the_apology_follows_the_users_language(harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.oversight.overview import OverviewService

    async def broken(self: OverviewService) -> None:
        raise RuntimeError("boom")

    await harness.send("/lang en")
    monkeypatch.setattr(OverviewService, "overview", broken)
    texts = sent_texts(await harness.send("/start"))
    assert texts == ["Sorry, something went wrong on our side. Nothing you entered was lost; please try again."]


async def test_names_are_escaped_in_html(harness: BotHarness) -> None:
    await demo(harness, 0)
    async with harness.runtime.uow.write() as repos:
        account = await repos.accounts.by_username("sgddt.vanthu")
        account.full_name = "<script>alert(1)</script> & Co"
    texts = sent_texts(await harness.send("/start", user_id=CONSOLE_USER_IDS[Role.CLERK]))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in texts[0]
    assert "<script>" not in texts[0]


async def test_a_revoked_account_is_treated_as_nobody_on_its_next_message(harness: BotHarness) -> None:
    await demo(harness, 0)
    clerk = CONSOLE_USER_IDS[Role.CLERK]
    assert "Xin chào" in sent_texts(await harness.send("/start", user_id=clerk))[0]
    async with harness.runtime.uow.write() as repos:
        (await repos.accounts.by_username("sgddt.vanthu")).status = "revoked"
    assert "đã bị thu hồi" in sent_texts(await harness.send("/start", user_id=clerk))[0]


async def test_commands_are_registered_in_vietnamese_and_english(harness: BotHarness) -> None:
    from bot.factory import register_commands

    await register_commands(harness.bot, harness.runtime.i18n)
    menus = {call.language_code: call.commands for call in harness.session.called("setMyCommands")}
    assert set(menus) == {None, "vi", "en"}
    assert [command.command for command in menus["vi"]] == ["start", "help", "lang", "cancel"]
    assert menus["vi"][3].description == "Huỷ thao tác đang làm"
    assert menus["en"][3].description == "Cancel the current step"
    assert menus[None] == menus["vi"]  # clients in any other language get Vietnamese


async def test_a_stop_lets_the_updates_in_hand_finish_before_the_database_closes(harness: BotHarness) -> None:
    """CI once saw a SIGTERM cancel an update mid-transaction: its answer lost, its connection reset in a
    traceback while the database closed. The Dispatcher's shutdown now waits for the updates in hand."""
    import asyncio

    from aiogram import F

    started, release = asyncio.Event(), asyncio.Event()

    async def slow(message: object, services: object) -> None:
        started.set()
        await release.wait()
        await harness.bot.send_message(111, "finished")

    harness.dispatcher.message.register(slow, F.text == "slow")
    update = asyncio.create_task(harness.send("slow"))
    await started.wait()
    shutdown = asyncio.create_task(harness.dispatcher.emit_shutdown(bot=harness.bot))
    for _ in range(20):  # let the shutdown run as far as it can without the release
        await asyncio.sleep(0)
    assert not shutdown.done(), "the shutdown did not wait for the update in hand"
    release.set()
    await shutdown
    assert update.done() and "finished" in sent_texts(update.result())
