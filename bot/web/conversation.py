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
import json
from collections import OrderedDict, deque
from typing import Any

Event = dict[str, Any]
# An event as kept and handed to live pages: its sequence number, its type, the id of the message it shows (a
# deletion finds it by that) and its JSON text, encoded once. A tuple of plain values, which the cyclic
# collector stops tracking: kept as dicts, a day's conversations made the collector's every full pass walk
# hundreds of thousands of objects while the requests waited.
Logged = tuple[int, str, int | None, str]
KEEP_EVENTS = 400  # per account: a working day of a busy clerk
KEEP_ACCOUNTS = 5_000  # conversations kept, the least recently active forgotten first
QUEUE_SIZE = 256  # events a live page may fall behind before it is dropped (it then catches up on reconnect)


class Conversations:
    def __init__(self, keep: int = KEEP_EVENTS) -> None:
        self.keep = keep
        self._seq = itertools.count(1)
        self._logs: OrderedDict[int, deque[Logged]] = OrderedDict()
        self._pages: dict[int, set[asyncio.Queue[Logged]]] = {}

    # -- writing -----------------------------------------------------------------------------------
    def publish(self, account_id: int, event: Event, stored: bool = True) -> Logged:
        seq = next(self._seq)
        entry = (seq, event["type"], (event.get("message") or {}).get("id"),
                 json.dumps({"seq": seq, **event}, ensure_ascii=False))
        if stored:
            log = self._logs.pop(account_id, None) or deque(maxlen=self.keep)
            log.append(entry)
            self._logs[account_id] = log  # the most recent last
            if len(self._logs) > KEEP_ACCOUNTS:
                self._logs.popitem(last=False)
        for queue in list(self._pages.get(account_id, ())):
            try:
                queue.put_nowait(entry)
            except asyncio.QueueFull:  # a stalled page: drop it, it catches up when it reconnects
                self.leave(account_id, queue)
        return entry

    def forget_message(self, account_id: int, message_id: int) -> None:
        """A deleted message leaves the log too (it may have carried a password)."""
        log = self._logs.get(account_id)
        if log is None:
            return
        kept = [entry for entry in log if entry[2] != message_id]
        log.clear()
        log.extend(kept)

    def end(self, account_id: int) -> None:
        """Signed out: the conversation is forgotten and every open page of the account is told."""
        self._logs.pop(account_id, None)
        self.publish(account_id, {"type": "signed_out"}, stored=False)

    # -- reading -----------------------------------------------------------------------------------
    def since(self, account_id: int, after: int) -> list[Logged]:
        return [entry for entry in self._logs.get(account_id, ()) if entry[0] > after]

    def since_json(self, account_id: int, after: int) -> str:
        """`since` as a JSON array, from the texts as they were encoded."""
        return "[" + ",".join(entry[3] for entry in self.since(account_id, after)) + "]"

    def last_seq(self, account_id: int) -> int:
        log = self._logs.get(account_id)
        return log[-1][0] if log else 0

    # -- live pages --------------------------------------------------------------------------------
    def join(self, account_id: int) -> asyncio.Queue[Logged]:
        queue: asyncio.Queue[Logged] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._pages.setdefault(account_id, set()).add(queue)
        return queue

    def leave(self, account_id: int, queue: asyncio.Queue[Logged]) -> None:
        pages = self._pages.get(account_id)
        if pages is not None:
            pages.discard(queue)
            if not pages:
                del self._pages[account_id]

    def open_accounts(self) -> set[int]:
        """Accounts with a page open in this process: where the web outbox can deliver now."""
        return set(self._pages)
