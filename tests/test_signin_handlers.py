"""Sign-in, sessions, the admin menu and /audit, through Dispatcher.feed_update."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.admin import AdminMenu
from handlers.audit import AuditOlder
from services.accounts.service import AccountService
from services.core.actor import Actor
from tests.conftest import BotHarness, sent_texts
from tests.test_accounts import PASSWORD, tree

SYSTEM = Actor.system()
ADMIN_ID, CLERK_ID, MANAGER_ID, AUDITOR_ID = 900, 501, 601, 701


async def issue(harness: BotHarness, username: str, unit: str, role: str) -> str:
    service = AccountService(harness.runtime.uow, SYSTEM, harness.runtime.clock)
    return (await service.issue(username, unit, role, username.title(), "45/CV 01/07/2026")).activation_code


async def sign_in(harness: BotHarness, username: str, unit: str, role: str, user_id: int) -> None:
    code = await issue(harness, username, unit, role)
    await harness.send(f"/start {code}", user_id=user_id)
    texts = sent_texts(await harness.send(PASSWORD, user_id=user_id))
    assert texts == ["Bạn đã đăng nhập. Gửi /help để xem những việc bạn có thể làm."]


def deleted(calls: list, chat_id: int, message_id: int) -> bool:
    return any(c.__api_method__ == "deleteMessage" and c.chat_id == chat_id and c.message_id == message_id
               for c in calls)


@pytest.fixture
async def province(harness: BotHarness) -> BotHarness:
    await tree(harness.runtime.uow, harness.runtime.clock)
    return harness


async def test_activation_binds_deletes_the_code_and_asks_a_password(province: BotHarness) -> None:
    code = await issue(province, "lan.syt", "SYT", "clerk")
    calls = await province.send(f"/start {code}", user_id=CLERK_ID)
    assert deleted(calls, CLERK_ID, province.last_message_id)
    reply = sent_texts(calls)[0]
    assert "lan.syt" in reply and "mật khẩu ít nhất 8 ký tự" in reply

    calls = await province.send("ngan", user_id=CLERK_ID)  # too short: asked again, with the reason
    assert deleted(calls, CLERK_ID, province.last_message_id)
    assert sent_texts(calls)[0].startswith("Mật khẩu cần ít nhất 8 ký tự.")

    calls = await province.send(PASSWORD, user_id=CLERK_ID)
    assert deleted(calls, CLERK_ID, province.last_message_id)
    assert sent_texts(calls) == ["Bạn đã đăng nhập. Gửi /help để xem những việc bạn có thể làm."]
    start = sent_texts(await province.send("/start", user_id=CLERK_ID))[0]
    assert "Xin chào <b>Lan.Syt</b>!" in start and "Đơn vị: Sở Y tế" in start


async def test_a_wrong_a_reused_and_an_expired_code(province: BotHarness) -> None:
    refused = "Mã kích hoạt không hợp lệ, đã dùng hoặc đã hết hạn."
    calls = await province.send("/start ABCDEFGHIJKLMNOP", user_id=CLERK_ID)
    assert deleted(calls, CLERK_ID, province.last_message_id) and refused in sent_texts(calls)[0]

    code = await issue(province, "lan.syt", "SYT", "clerk")
    await province.send(f"/start {code}", user_id=CLERK_ID)
    calls = await province.send(f"/start {code}", user_id=CLERK_ID + 1)  # someone else, same code
    assert refused in sent_texts(calls)[0]

    late = await issue(province, "an.syt", "SYT", "clerk")
    province.runtime.clock.advance(dt.timedelta(hours=73))
    assert refused in sent_texts(await province.send(f"/start {late}", user_id=CLERK_ID + 2))[0]


async def test_a_pending_account_is_asked_for_its_password_on_start(province: BotHarness) -> None:
    code = await issue(province, "lan.syt", "SYT", "clerk")
    await province.send(f"/start {code}", user_id=CLERK_ID)
    await province.send("/cancel", user_id=CLERK_ID)
    assert "mật khẩu ít nhất 8 ký tự" in sent_texts(await province.send("/start", user_id=CLERK_ID))[0]


async def test_idle_session_asks_the_password_then_resumes_the_form(province: BotHarness) -> None:
    await sign_in(province, "hoa.snv", "SNV", "admin", ADMIN_ID)
    await province.send("/admin", user_id=ADMIN_ID)
    await province.press(province.last_keyboard_message(), AdminMenu(item="unit_add").pack(), user_id=ADMIN_ID)
    await province.send("SXD", user_id=ADMIN_ID)
    await province.send("Sở Xây dựng", user_id=ADMIN_ID)
    await province.send("CT", user_id=ADMIN_ID)
    province.runtime.clock.advance(dt.timedelta(minutes=45))
    texts = sent_texts(await province.send("Sở, ban, ngành", user_id=ADMIN_ID))
    assert texts == ["Để bảo mật, vui lòng gửi lại mật khẩu để tiếp tục."]
    calls = await province.send(PASSWORD, user_id=ADMIN_ID)
    assert deleted(calls, ADMIN_ID, province.last_message_id)
    assert sent_texts(calls) == ["Đã xác nhận mật khẩu. Vui lòng gửi lại yêu cầu vừa rồi."]
    texts = sent_texts(await province.send("Sở, ban, ngành", user_id=ADMIN_ID))  # the earlier answers were kept
    assert texts == ["Đã thêm đơn vị <b>SXD</b>."]


async def test_five_wrong_passwords_lock_and_the_admin_unlocks(province: BotHarness) -> None:
    await sign_in(province, "lan.syt", "SYT", "clerk", CLERK_ID)
    await province.send("/passwd", user_id=CLERK_ID)
    for left in (4, 3, 2, 1):
        assert sent_texts(await province.send("sai-mat-khau", user_id=CLERK_ID)) == [
            f"Sai mật khẩu. Còn {left} lần thử."]
    texts = sent_texts(await province.send("sai-mat-khau", user_id=CLERK_ID))
    assert "tài khoản đã bị khoá" in texts[0]
    assert "bị khoá" in sent_texts(await province.send("/start", user_id=CLERK_ID))[0]

    await AccountService(province.runtime.uow, SYSTEM, province.runtime.clock).unlock("lan.syt")
    await province.send("/passwd", user_id=CLERK_ID)
    assert sent_texts(await province.send(PASSWORD, user_id=CLERK_ID)) == [
        "Bây giờ hãy gửi mật khẩu mới (ít nhất 8 ký tự)."]
    assert sent_texts(await province.send("mat-khau-moi-2026", user_id=CLERK_ID)) == ["Đã đổi mật khẩu."]


async def test_revocation_takes_effect_in_the_middle_of_a_form(province: BotHarness) -> None:
    await sign_in(province, "hoa.snv", "SNV", "admin", ADMIN_ID)
    await province.send("/admin", user_id=ADMIN_ID)
    await province.press(province.last_keyboard_message(), AdminMenu(item="unit_rename").pack(), user_id=ADMIN_ID)
    await province.send("STC", user_id=ADMIN_ID)
    await AccountService(province.runtime.uow, SYSTEM, province.runtime.clock).revoke("hoa.snv", "99/QĐ")
    texts = sent_texts(await province.send("Sở Tài chính mới", user_id=ADMIN_ID))
    assert texts == ["Bạn không có quyền thực hiện thao tác này."]
    async with province.runtime.uow.read() as repos:
        assert (await repos.units.by_code("STC")).name == "Sở Tài chính"


async def test_a_refused_answer_is_asked_again_and_the_others_kept(province: BotHarness) -> None:
    await sign_in(province, "hoa.snv", "SNV", "admin", ADMIN_ID)
    await province.send("/admin", user_id=ADMIN_ID)
    await province.press(province.last_keyboard_message(), AdminMenu(item="account_add").pack(), user_id=ADMIN_ID)
    await province.send("lan.syt", user_id=ADMIN_ID)
    await province.send("KHONGCO", user_id=ADMIN_ID)  # a unit that does not exist
    role_prompt = province.last_keyboard_message()
    await province.press(role_prompt, "fc:clerk", user_id=ADMIN_ID)
    await province.send("Trần Thị Lan", user_id=ADMIN_ID)
    texts = sent_texts(await province.send("45/CV-SYT", user_id=ADMIN_ID))
    assert texts[0].startswith("Không có đơn vị mã KHONGCO.")
    assert "Mã đơn vị của tài khoản:" in texts[0]
    texts = sent_texts(await province.send("SYT", user_id=ADMIN_ID))  # straight to the result
    assert texts[0].startswith("Đã cấp tài khoản <b>lan.syt</b>. Mã kích hoạt: <code>")


async def test_managers_and_clerks_are_refused_admin_and_audit(province: BotHarness) -> None:
    await sign_in(province, "minh.syt", "SYT", "manager", MANAGER_ID)
    await sign_in(province, "lan.syt", "SYT", "clerk", CLERK_ID)
    refused = ["Bạn không có quyền thực hiện thao tác này."]
    for user in (MANAGER_ID, CLERK_ID):
        assert sent_texts(await province.send("/admin", user_id=user)) == refused
        assert sent_texts(await province.send("/audit", user_id=user)) == refused
    assert sent_texts(await province.send("/subaccount", user_id=MANAGER_ID)) == refused


async def test_clerk_asks_for_a_subaccount(province: BotHarness) -> None:
    await sign_in(province, "lan.syt", "SYT", "clerk", CLERK_ID)
    await province.send("/subaccount", user_id=CLERK_ID)
    for answer in ("BV", "an.bv", "Phạm Văn An"):
        await province.send(answer, user_id=CLERK_ID)
    await province.press(province.last_keyboard_message(), "fc:clerk", user_id=CLERK_ID)
    texts = sent_texts(await province.send("11/CV-SYT 02/07/2026", user_id=CLERK_ID))
    assert texts == ["Đã gửi đề nghị số 1 tới Sở Nội vụ: an.bv cho Bệnh viện Đa khoa."]


async def test_auditor_reads_the_trail_by_account_and_pages(province: BotHarness) -> None:
    await sign_in(province, "kiem.tra", "SNV", "auditor", AUDITOR_ID)
    await sign_in(province, "lan.syt", "SYT", "clerk", CLERK_ID)
    text = sent_texts(await province.send("/audit", user_id=AUDITOR_ID))[0]
    assert text.startswith("<b>Nhật ký kiểm tra</b>") and "auth.password_set" in text
    text = sent_texts(await province.send("/audit lan.syt", user_id=AUDITOR_ID))[0]
    assert "<code>lan.syt</code> auth.password_set" in text and "kiem.tra" not in text
    await province.send("/audit", user_id=AUDITOR_ID)
    older = province.last_keyboard_message()
    texts = sent_texts(await province.press(older, AuditOlder(before=5).pack(), user_id=AUDITOR_ID))
    assert all(int(line.split()[0][1:]) < 5 for line in texts[-1].splitlines()[1:])
    assert sent_texts(await province.send("/audit 31/02/2026", user_id=AUDITOR_ID)) == [
        "Ngày không hợp lệ: 31/02/2026. Hãy dùng dd/mm/yyyy."]


async def test_logout(province: BotHarness) -> None:
    await sign_in(province, "lan.syt", "SYT", "clerk", CLERK_ID)
    assert "Đã đăng xuất" in sent_texts(await province.send("/logout", user_id=CLERK_ID))[0]
    assert "Bạn chưa có tài khoản" in sent_texts(await province.send("/start", user_id=CLERK_ID))[0]


async def add_dossier(harness: BotHarness, unit_code: str, personal_id: str, name: str) -> int:
    from services.core.text import fold

    clock = harness.runtime.clock
    async with harness.runtime.uow.write() as repos:
        unit = await repos.units.by_code(unit_code)
        await repos.dossiers.add_many([{
            "personal_id": personal_id, "full_name": name, "folded_name": fold(name), "sex": "F",
            "birth_date": dt.date(1988, 3, 9), "custodian_unit_id": unit.id, "working_unit_id": unit.id,
            "post": "Chuyên viên", "employment_status": "active", "created_at": clock.now(), "updated_at": clock.now(),
        }])
        return await repos.dossiers.id_of(personal_id)


async def test_a_clerk_of_one_unit_is_refused_another_units_dossier(province: BotHarness) -> None:
    from handlers.dossiers import OpenDossier

    own = await add_dossier(province, "BV", "092188000111", "Đặng Thị Thuỷ")
    other = await add_dossier(province, "STC", "001188000222", "Lê Văn Đức")
    await sign_in(province, "lan.syt", "SYT", "clerk", CLERK_ID)
    await province.send("/start", user_id=CLERK_ID)
    message = list(province.session.messages.values())[-1]  # any message of the chat carries the buttons

    card = sent_texts(await province.press(message, OpenDossier(id=own).pack(), user_id=CLERK_ID))
    assert card and "<b>Đặng Thị Thuỷ</b>" in card[0] and "<code>092188000111</code>" in card[0]
    assert "Đơn vị quản lý hồ sơ: Bệnh viện Đa khoa" in card[0]

    refused_other = await province.press(message, OpenDossier(id=other).pack(), user_id=CLERK_ID)
    refused_missing = await province.press(message, OpenDossier(id=99999).pack(), user_id=CLERK_ID)
    for calls in (refused_other, refused_missing):  # the same answer: existence is not revealed
        assert [c.__api_method__ for c in calls] == ["answerCallbackQuery"]
        assert calls[0].text == "Bạn không có quyền thực hiện thao tác này."
    async with province.runtime.uow.read() as repos:
        actions = [e.action for e in await repos.audit.search(actor_label="lan.syt", limit=50)]
    assert actions.count("dossier.view") == 1 and actions.count("dossier.refused") == 2
