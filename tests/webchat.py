"""The web chat served in-process on a loopback port, and a client that uses it as the page's script does."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import ClientResponse, ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from bot.factory import create_dispatcher
from bot.jobs import Jobs
from bot.runtime import Runtime
from bot.web.server import Limits, WebServer
from services.accounts.service import AccountService
from services.core.actor import Actor

FORM_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')
PAGE_CONFIG = re.compile(r'<script type="application/json" id="hoso-config">(.*?)</script>', re.S)


class Browser:
    """One browser: its own cookies, and the page's CSRF token once signed in."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = ClientSession(cookie_jar=CookieJar(unsafe=True))  # keep cookies for 127.0.0.1
        self.csrf: str | None = None

    async def close(self) -> None:
        await self.http.close()

    def url(self, path: str) -> str:
        return self.base + path

    async def form(self, path: str) -> str:
        """The CSRF token of the form at `path` (its cookie is now set)."""
        async with self.http.get(self.url(path)) as response:
            found = FORM_TOKEN.search(await response.text())
        assert found, f"no form at {path}"
        return found.group(1)

    async def post_form(self, path: str, **fields: str) -> ClientResponse:
        token = await self.form(path)
        response = await self.http.post(self.url(path), data={"csrf": token, **fields}, allow_redirects=False)
        await response.read()
        return response

    async def sign_in(self, username: str, password: str) -> ClientResponse:
        response = await self.post_form("/login", username=username, password=password)
        if response.status == 303:
            await self.open_chat()
        return response

    async def activate(self, code: str, password: str, again: str | None = None) -> ClientResponse:
        response = await self.post_form("/activate", code=code, password=password, password2=again or password)
        if response.status == 303:
            await self.open_chat()
        return response

    async def open_chat(self) -> str:
        async with self.http.get(self.url("/")) as response:
            page = await response.text()
        found = PAGE_CONFIG.search(page)
        assert found, "the chat page did not open"
        self.csrf = json.loads(found.group(1))["csrf"]
        return page

    async def call(self, path: str, body: Any, csrf: str | None = "page") -> tuple[int, dict[str, Any]]:
        headers = {"X-CSRF-Token": self.csrf or ""} if csrf == "page" else ({"X-CSRF-Token": csrf} if csrf else {})
        async with self.http.post(self.url(path), json=body, headers=headers) as response:
            return response.status, await response.json()

    async def say(self, text: str) -> tuple[int, dict[str, Any]]:
        return await self.call("/api/say", {"text": text})

    async def press(self, message_id: int, data: str) -> tuple[int, dict[str, Any]]:
        return await self.call("/api/press", {"message_id": message_id, "data": data})

    async def events(self, after: int = 0) -> list[dict[str, Any]]:
        async with self.http.get(self.url(f"/api/events?after={after}")) as response:
            assert response.status == 200, await response.text()
            return list((await response.json())["events"])

    async def messages(self, after: int = 0) -> list[dict[str, Any]]:
        """The messages of the conversation as the page shows them (edits replace, deletions remove)."""
        shown: dict[int, dict[str, Any]] = {}
        for event in await self.events(after):
            if event["type"] == "message":
                shown[event["message"]["id"]] = event["message"]
        return list(shown.values())

    async def bot_texts(self, after: int = 0) -> list[str]:
        return [message["html"] for message in await self.messages(after) if message["from"] == "bot"]


class WebChatUnderTest:
    def __init__(self, runtime: Runtime, server: WebServer, http: TestServer, jobs: Jobs) -> None:
        self.runtime, self.server, self.http, self.jobs = runtime, server, http, jobs
        self.base = str(http.make_url("")).rstrip("/")
        self.browsers: list[Browser] = []

    def browser(self) -> Browser:
        browser = Browser(self.base)
        self.browsers.append(browser)
        return browser

    async def issue(self, username: str, unit: str, role: str, personal_id: str | None = None) -> str:
        """An account issued by the personnel office; its activation code."""
        issued = await AccountService(self.runtime.uow, Actor.system(), self.runtime.clock).issue(
            username, unit, role, username.title(), "01/CV 01/07/2026", personal_id=personal_id)
        return issued.activation_code

    async def deliver(self) -> int:
        """One pass of the web outbox sender."""
        sender = self.jobs.sender_of(self.server.chat.bot)
        assert sender is not None
        before = sender.report.sent
        await sender.drain()
        return sender.report.sent - before


@asynccontextmanager
async def served(runtime: Runtime, limits: Limits | None = None) -> AsyncIterator[WebChatUnderTest]:
    dispatcher = create_dispatcher(runtime)
    server = WebServer(runtime, dispatcher, limits)
    jobs = Jobs(runtime)
    await jobs.start_sender(server.chat.bot)
    server.outbox = jobs.sender_of(server.chat.bot)
    http = TestServer(server.application(), host="127.0.0.1")
    await http.start_server()
    chat = WebChatUnderTest(runtime, server, http, jobs)
    try:
        yield chat
    finally:
        for browser in chat.browsers:
            await browser.close()
        await http.close()
