"""Each account's conversation on the web chat, as a log of events the page replays, and the live pages
that receive them as they happen.

An event is a plain dict: a message (new or replacing the one with the same id: an edit), the deletion of
a message, an answer to a button press, or "typing". Each has a sequence number, so a page that reconnects
asks for what came after the last one it has. The log is kept in this process, bounded per account: the
conversation is a view, what matters (dossiers, the audit, reminders not yet shown) is in the database.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict, deque
from typing import Any

Event = dict[str, Any]
KEEP_EVENTS = 400  # per account: a working day of a busy clerk
KEEP_ACCOUNTS = 5_000  # conversations kept, the least recently active forgotten first
QUEUE_SIZE = 256  # events a live page may fall behind before it is dropped (it then catches up on reconnect)


class Conversations:
    def __init__(self, keep: int = KEEP_EVENTS) -> None:
        self.keep = keep
        self._seq = itertools.count(1)
        self._logs: OrderedDict[int, deque[Event]] = OrderedDict()
        self._pages: dict[int, set[asyncio.Queue[Event]]] = {}

    # -- writing -----------------------------------------------------------------------------------
    def publish(self, account_id: int, event: Event, stored: bool = True) -> Event:
        event = {"seq": next(self._seq), **event}
        if stored:
            log = self._logs.pop(account_id, None) or deque(maxlen=self.keep)
            log.append(event)
            self._logs[account_id] = log  # the most recent last
            if len(self._logs) > KEEP_ACCOUNTS:
                self._logs.popitem(last=False)
        for queue in list(self._pages.get(account_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a stalled page: drop it, it catches up when it reconnects
                self.leave(account_id, queue)
        return event

    def forget_message(self, account_id: int, message_id: int) -> None:
        """A deleted message leaves the log too (it may have carried a password)."""
        log = self._logs.get(account_id)
        if log is None:
            return
        kept = [event for event in log if (event.get("message") or {}).get("id") != message_id]
        log.clear()
        log.extend(kept)

    def end(self, account_id: int) -> None:
        """Signed out: the conversation is forgotten and every open page of the account is told."""
        self._logs.pop(account_id, None)
        self.publish(account_id, {"type": "signed_out"}, stored=False)

    # -- reading -----------------------------------------------------------------------------------
    def since(self, account_id: int, after: int) -> list[Event]:
        return [event for event in self._logs.get(account_id, ()) if event["seq"] > after]

    def last_seq(self, account_id: int) -> int:
        log = self._logs.get(account_id)
        return log[-1]["seq"] if log else 0

    # -- live pages --------------------------------------------------------------------------------
    def join(self, account_id: int) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._pages.setdefault(account_id, set()).add(queue)
        return queue

    def leave(self, account_id: int, queue: asyncio.Queue[Event]) -> None:
        pages = self._pages.get(account_id)
        if pages is not None:
            pages.discard(queue)
            if not pages:
                del self._pages[account_id]

    def open_accounts(self) -> set[int]:
        """Accounts with a page open in this process: where the web outbox can deliver now."""
        return set(self._pages)
