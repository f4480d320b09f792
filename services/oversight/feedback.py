"""Users' feedback to the personnel office, which both regulations task with improving the software
from it (Hậu Giang Art. 14.5, HCMC Art. 15.3): any signed-in user sends a suggestion or a problem, with a
screenshot if they like; the office lists them, answers one and marks it planned or done, and the answer
goes back to the sender through the outbox. Everything is audited; nothing is deleted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.core.actor import Actor
from services.core.clock import Clock, local_today
from services.core.errors import InvalidInput, PermissionDenied
from services.core.i18n import N_
from services.core.policy import Action, allows
from services.platform.attachments import FileStore, Upload
from services.platform.audit import record
from services.platform.outbox import Due, enqueue
from services.platform.sessions import sensitive
from services.regime.calendar import working_calendar
from storage import UnitOfWork
from storage.models import Account, Feedback, OrgUnit

KINDS = {"suggestion": N_("Suggestion"), "problem": N_("Problem")}
STATUSES = {"new": N_("new"), "planned": N_("planned"), "done": N_("done")}
ANSWERED = ("planned", "done")
MAX_TEXT = 2000
SCREENSHOT_TYPES = ("image/jpeg", "image/png")


@dataclass(frozen=True, slots=True)
class FeedbackView:
    id: int
    kind: str
    text: str
    status: str
    username: str
    full_name: str
    unit_name: str
    created_at: dt.datetime
    answer: str | None
    answered_at: dt.datetime | None
    screenshot: str | None  # its file name


def view_of(item: Feedback, account: Account, unit: OrgUnit) -> FeedbackView:
    return FeedbackView(item.id, item.kind, item.text, item.status, account.username, account.full_name, unit.name,
                        item.created_at, item.answer, item.answered_at, item.screenshot_name)


class FeedbackService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock, files: FileStore | None = None) -> None:
        self.uow, self.actor, self.clock, self.files = uow, actor, clock, files

    @staticmethod
    def check(key: str, value: str) -> str:
        """One answer of the feedback prompts, checked as it comes."""
        text = value.strip()
        if key == "kind":
            if text not in KINDS:
                raise InvalidInput("kind", N_("Please choose one of the buttons."))
            return text
        if key == "status":
            if text not in ANSWERED:
                raise InvalidInput("status", N_("Please choose one of the buttons."))
            return text
        if not text:
            raise InvalidInput(key, N_("An answer is needed here."))
        if len(text) > MAX_TEXT:
            raise InvalidInput(key, N_("Too long: at most {limit} characters."), limit=MAX_TEXT)
        return text

    def _screenshot(self, upload: Upload) -> FileStore:
        if self.files is None:
            raise InvalidInput("attachment", N_("Attachments are not enabled on this installation."))
        stored = self.files.check(upload)
        if stored.content_type not in SCREENSHOT_TYPES:
            raise InvalidInput("attachment", N_("A screenshot is a JPG or PNG picture; {name} is not one."),
                               name=upload.file_name)
        return self.files

    async def send(self, kind: str, text: str, screenshot: Upload | None = None) -> FeedbackView:
        kind, text = self.check("kind", kind), self.check("text", text)
        files = self._screenshot(screenshot) if screenshot is not None else None
        if self.actor.account_id is None or self.actor.unit_id is None:
            raise PermissionDenied()
        async with sensitive(self.uow, self.actor, self.clock, Action.SEND_FEEDBACK) as repos:
            stored = files.put(screenshot) if files is not None and screenshot is not None else None
            item = await repos.feedback.add(Feedback(
                account_id=self.actor.account_id, unit_id=self.actor.unit_id, kind=kind, text=text, status="new",
                screenshot_sha256=stored.sha256 if stored else None, screenshot_name=stored.file_name if stored else None,
                screenshot_type=stored.content_type if stored else None, created_at=self.clock.now()))
            await record(repos, self.clock, self.actor, "feedback.send", "feedback", item.id, kind=kind,
                         screenshot=stored is not None)
            found = await repos.feedback.get(item.id)
        assert found is not None
        return view_of(*found)

    async def mine(self) -> list[FeedbackView]:
        if not allows(self.actor, Action.SEND_FEEDBACK) or self.actor.account_id is None:
            raise PermissionDenied()
        async with self.uow.read() as repos:
            return [view_of(*row) for row in await repos.feedback.listing(account_id=self.actor.account_id, limit=10)]

    async def listing(self, status: str | None = None, limit: int = 50) -> list[FeedbackView]:
        """The office's list: the open ones (new, planned) by default, newest first. Audited."""
        if status is not None and status not in STATUSES and status != "all":
            raise InvalidInput("status", N_("Unknown status {value}; use one of: {choices}."), value=status,
                               choices=", ".join([*STATUSES, "all"]))
        statuses = None if status == "all" else [status] if status else ["new", "planned"]
        async with sensitive(self.uow, self.actor, self.clock, Action.ANSWER_FEEDBACK) as repos:
            rows = await repos.feedback.listing(statuses, limit=limit)
            await record(repos, self.clock, self.actor, "feedback.list", "feedback", None, status=status or "open",
                         shown=[item.id for item, _a, _u in rows])
        return [view_of(*row) for row in rows]

    async def answer(self, feedback_id: int, status: str, text: str) -> FeedbackView:
        """The office's answer, which goes back to the sender; the item is then planned or done."""
        status, text = self.check("status", status), self.check("answer", text)
        async with sensitive(self.uow, self.actor, self.clock, Action.ANSWER_FEEDBACK) as repos:
            found = await repos.feedback.get(feedback_id)
            if found is None:
                raise InvalidInput("feedback", N_("No feedback has the number {number}."), number=feedback_id)
            item, account, unit = found
            item.status, item.answer = status, text
            item.answered_by, item.answered_at = self.actor.account_id, self.clock.now()
            if account.status in ("active", "restricted"):  # on each channel it is bound on (none: nothing)
                # Keyed by the answer's time as well: a second answer to the same item is told too.
                told = Due("feedback_answer", account.id, "feedback",
                           f"{item.id}:{int(self.clock.now().timestamp())}", local_today(self.clock),
                           {"number": item.id, "status": status, "answer": text, "asked": item.text[:300],
                            "locale": account.locale})
                calendar = await working_calendar(repos)
                await enqueue(repos, self.clock, [told], calendar)
            await record(repos, self.clock, self.actor, "feedback.answer", "feedback", item.id, status=status)
        return view_of(item, account, unit)

    async def screenshot(self, feedback_id: int) -> tuple[str, bytes]:
        """The screenshot of an item, for the office or its sender; the read is audited."""
        if self.files is None:
            raise InvalidInput("attachment", N_("Attachments are not enabled on this installation."))
        async with sensitive(self.uow, self.actor, self.clock, Action.SEND_FEEDBACK) as repos:
            found = await repos.feedback.get(feedback_id)
            allowed = found is not None and found[0].screenshot_sha256 is not None and (
                allows(self.actor, Action.ANSWER_FEEDBACK) or found[0].account_id == self.actor.account_id)
            await record(repos, self.clock, self.actor, "feedback.screenshot" if allowed else "feedback.refused",
                         "feedback", feedback_id)
        if not allowed or found is None or found[0].screenshot_sha256 is None:
            raise PermissionDenied()
        return found[0].screenshot_name or "screenshot", self.files.read(found[0].screenshot_sha256)
