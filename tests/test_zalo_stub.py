"""The Zalo Bot API double holds to the strictest reading of the documentation, and HoSo's client reads its
answers by the body's `ok`, never by the HTTP status."""

from __future__ import annotations

import aiohttp
import pytest

from bot.zalo.client import ZaloClient, ZaloError, ZaloNetworkError
from tests.zalo_stub import ZaloStub

TOKEN = "1234567890:zalo-double-token-not-a-secret"


async def test_a_send_is_recorded_with_string_ids_and_a_result() -> None:
    async with ZaloStub(TOKEN) as zalo:
        client = ZaloClient(TOKEN, zalo.base_url)
        try:
            me = await client.call("getMe")
            sent = await client.call("sendMessage", chat_id="u1", text="Xin chào")
        finally:
            await client.close()
    assert isinstance(me["id"], str)
    assert isinstance(sent["message_id"], str) and isinstance(sent["date"], int)
    assert zalo.texts_to("u1") == ["Xin chào"]


@pytest.mark.parametrize(("method", "params", "reason"), [
    ("sendMessage", {"chat_id": 42, "text": "x"}, "chat_id must be a string"),
    ("sendMessage", {"chat_id": "u1", "text": ""}, "1 to 2000"),
    ("sendMessage", {"chat_id": "u1", "text": "x" * 2001}, "1 to 2000"),
    ("sendMessage", {"chat_id": "u1", "text": "😀" * 1001}, "1 to 2000"),  # UTF-16 units: 2 002
    ("sendMessage", {"chat_id": "u1", "text": "x", "reply_markup": "{}"}, "unknown parameter reply_markup"),
    ("sendMessage", {"chat_id": "u1", "text": "x", "protect_content": True}, "unknown parameter"),
    ("sendChatAction", {"chat_id": "u1", "action": "upload_document"}, "unknown action"),
    ("setWebhook", {"url": "http://example.org/hook", "secret_token": "s" * 16}, "HTTPS"),
    ("setWebhook", {"url": "https://example.org/hook", "secret_token": "short"}, "8 to 256"),
    ("getUpdates", {"timeout": 30}, "string"),
])
async def test_what_zalo_refuses_is_refused_with_an_ok_false_body(
        method: str, params: dict[str, object], reason: str) -> None:
    async with ZaloStub(TOKEN) as zalo, aiohttp.ClientSession() as http:
        async with http.post(f"{zalo.base_url}/bot{TOKEN}/{method}", json=params) as response:
            status, body = response.status, await response.json()
    assert status == 200  # the status says nothing: the body does
    assert body["ok"] is False and isinstance(body["error_code"], int) and reason in body["description"]
    assert zalo.calls_of(method) == [] and zalo.calls_of(method, ok=False)


async def test_unknown_methods_bodies_and_tokens_are_refused() -> None:
    async with ZaloStub(TOKEN) as zalo, aiohttp.ClientSession() as http:
        async with http.post(f"{zalo.base_url}/bot{TOKEN}/sendDocument", json={"chat_id": "u1"}) as response:
            unknown = await response.json()
        async with http.post(f"{zalo.base_url}/bot{TOKEN}/sendMessage", data={"chat_id": "u1", "text": "x"}) as response:
            form = await response.json()
        async with http.post(f"{zalo.base_url}/botnot-the-token/getMe", json={}) as response:
            stranger = await response.json()
    assert (unknown["ok"], unknown["error_code"]) == (False, 404)
    assert (form["ok"], form["error_code"]) == (False, 400)  # JSON bodies only
    assert (stranger["ok"], stranger["error_code"]) == (False, 401)


async def test_get_updates_hands_each_update_out_once_and_not_while_a_webhook_is_set() -> None:
    async with ZaloStub(TOKEN) as zalo:
        client = ZaloClient(TOKEN, zalo.base_url)
        try:
            zalo.say("u1", "một")
            first = await client.call("getUpdates", timeout="1")
            with pytest.raises(ZaloError) as nothing:
                await client.call("getUpdates", timeout="1")
            await client.call("setWebhook", url="https://hoso.example/zalo", secret_token="s" * 16)
            zalo.say("u1", "hai")
            with pytest.raises(ZaloError) as conflict:
                await client.call("getUpdates", timeout="1")
        finally:
            await client.close()
    assert first["event_name"] == "message.text.received" and first["message"]["text"] == "một"
    assert first["message"]["from"]["id"] == "u1"
    assert nothing.value.code == 408 and conflict.value.code == 409


async def test_injected_answers_and_the_client_reads_the_body_not_the_status() -> None:
    async with ZaloStub(TOKEN) as zalo:
        zalo.fail("sendMessage", 429, "Too Many Requests")
        zalo.fail("sendMessage", 502, "Bad Gateway", http_status=502)
        zalo.fail("sendMessage", 403, "Forbidden: the user blocked the bot", when=lambda p: p["chat_id"] == "u9")
        client = ZaloClient(TOKEN, zalo.base_url)
        codes = []
        try:
            for chat in ("u1", "u1", "u9", "u1"):
                try:
                    await client.call("sendMessage", chat_id=chat, text="x")
                    codes.append(0)
                except ZaloError as error:
                    codes.append(error.code)
        finally:
            await client.close()
    assert codes == [429, 502, 403, 0]
    assert zalo.texts_to("u1") == ["x"]


async def test_the_client_refuses_a_method_zalo_does_not_have_and_never_quotes_the_token() -> None:
    client = ZaloClient(TOKEN, "http://127.0.0.1:9")
    with pytest.raises(ValueError):
        await client.call("sendDocument", chat_id="u1")
    with pytest.raises(ZaloNetworkError) as unreachable:
        await client.call("getMe")
    await client.close()
    assert not unreachable.value.connected and TOKEN not in str(unreachable.value)


async def test_the_double_posts_an_update_to_a_webhook_with_the_secret_header() -> None:
    from aiohttp import web

    received: list[tuple[str | None, dict[str, object]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Bot-Api-Secret-Token"), await request.json()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with ZaloStub(TOKEN) as zalo:
            status, _body = await zalo.post_update(f"http://127.0.0.1:{port}/hook", zalo.update("u1", "chào"), "s" * 16)
    finally:
        await runner.cleanup()
    assert status == 200
    assert received[0][0] == "s" * 16
    assert received[0][1]["result"]["message"]["text"] == "chào"  # type: ignore[index]
