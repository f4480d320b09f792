"""Which reminders are due on a day, computed from the data.

Each reminder names its kind, the object it is about and the date it is for, so that computing the
same day twice (or after a restart) adds nothing: the outbox refuses a key it already has. Texts carry
only what the recipient may see: a clerk's reminder names people of their own units.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from services.core.actor import Actor
from services.core.clock import Clock, local_today
from services.core.errors import InvalidInput, PermissionDenied
from services.core.i18n import N_
from services.core.policy import Action, allows, scope_of
from services.oversight.periods import OVERDUE_DAYS, due_dates, period_code
from services.oversight.reports import reporting_units
from services.platform.audit import record
from services.platform.outbox import UNMUTABLE, Due, addressed, enqueue
from services.platform.sessions import sensitive
from services.regime.calendar import working_calendar
from services.regime.deadlines import WorkingCalendar
from services.regime.dossier_fields import MANDATORY_FIELDS
from services.regime.profiles import Profile
from services.regime.retirement import decision_due, notice_due, retirement_date
from services.regime.salary import OVER_CEILING_MONTHS, postponed_months, raise_due, raise_months, step_period
from services.regime.setup import profile_of
from services.reminders.todo import Todo, office_list, todo_list
from storage import Repositories, UnitOfWork

SALARY_LEAD = dt.timedelta(days=60)
RETIREMENT_LEAD = dt.timedelta(days=14)  # before the notice or decision is due
PENDING_AFTER = dt.timedelta(days=2)
CATCH_UP_DAYS = 3  # days of one-day reminders made up after an outage
PLANNED_KEY = "reminders_planned"
CAMPAIGN_KEY = "supplement_campaign"
# Sent every day while the matter lasts: nothing to make up after an outage.
DAILY = frozenset({"report_overdue", "report_overdue_summary", "declaration_pending", "transfer_pending",
                   "subaccount_pending"})  # a request waiting this long is brought up
NEW_DOSSIER_MARKS = (0.5, 0.8)  # shares of the profile's limit, then the last day


@dataclass(frozen=True, slots=True)
class Recipient:
    account_id: int
    locale: str | None


class ReminderService:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    async def plan(self, today: dt.date | None = None) -> int:
        """Compute today's reminders and put the new ones in the outbox; the number added."""
        day = today or local_today(self.clock)
        async with self.uow.write() as repos:
            calendar = await working_calendar(repos)
            # Days missed since the last pass (an outage): their one-day reminders (a report offset, a raise,
            # a retirement date) go out late rather than never; the daily ones need no catching up.
            last = await repos.settings.get(PLANNED_KEY)
            planned = dt.date.fromisoformat(last["through"]) if last else day
            missed = [planned + dt.timedelta(days=n) for n in range(1, (day - planned).days)][-CATCH_UP_DAYS:]
            due: list[Due] = []
            for past in missed:
                due += [item for item in await self.compute(repos, past, calendar) if item.kind not in DAILY]
            # The daily ones once per working day: on a day off they would only pile up for the next morning.
            due += [item for item in await self.compute(repos, day, calendar)
                    if item.kind not in DAILY or calendar.is_working_day(day)]
            if not last or planned < day:
                await repos.settings.put(PLANNED_KEY, {"through": day.isoformat()}, self.clock.now())
            return await enqueue(repos, self.clock, due, calendar)

    async def preview(self, day: dt.date, unit_code: str | None = None) -> list[Due]:
        """What would be due on `day`, one item per delivery (the account's channels), recording nothing."""
        async with self.uow.read() as repos:
            calendar = await working_calendar(repos)
            due = await addressed(repos, await self.compute(repos, day, calendar))
            if unit_code is not None:
                unit = await repos.units.by_code(unit_code.strip().upper())
                due = [d for d in due if unit is not None and d.payload.get("unit_path", "").startswith(unit.path)]
        return due

    async def todo(self, day: dt.date, unit_code: str | None = None) -> list[Todo]:
        """The to-do list of one unit's subtree (or of the whole province) on `day`: what /reminders shows
        its clerks, computed the same way."""
        async with self.uow.read() as repos:
            if unit_code is None:
                return await todo_list(repos, ("/",), day, self.clock)
            unit = await repos.units.by_code(unit_code.strip().upper())
            return [] if unit is None else await todo_list(repos, (unit.path,), day, self.clock)

    async def compute(self, repos: Repositories, day: dt.date, calendar: WorkingCalendar) -> list[Due]:
        profile = await profile_of(repos)
        clerks = await self._clerks(repos)
        admins = [Recipient(account, locale) for account, locale in await self._admins(repos)]
        items: list[Due] = []
        items += await self._reports(repos, day, profile, calendar, clerks, admins)
        items += await self._new_dossiers(repos, day, clerks)
        items += await self._salary_raises(repos, day, profile, clerks)
        items += await self._retirements(repos, day, clerks)
        items += await self._waiting(repos, day, clerks)
        items += await self._subaccounts(repos, day, admins)
        items += await self._registered(repos, day, calendar, clerks)
        items += await self._campaign(repos, day, clerks)
        return items

    # -- recipients -----------------------------------------------------------------------------------
    async def _clerks(self, repos: Repositories) -> dict[str, list[Recipient]]:
        """Active clerks bound on some channel, by the path of every unit their scope covers (computed once a
        pass)."""
        units = await repos.units.subtree("/")
        accounts = [a for a in await repos.reminder_sources.reachable_accounts() if a.role == "clerk" and a.status == "active"]
        paths = {u.id: u.path for u in units}
        scopes: dict[int, list[str]] = {a.id: [paths[a.unit_id]] for a in accounts if a.unit_id in paths}
        for account in accounts:
            scopes[account.id] = scopes.get(account.id, []) + await repos.accounts.scope_paths(account.id)
        by_unit: dict[str, list[Recipient]] = defaultdict(list)
        for unit in units:
            for account in accounts:
                if any(unit.path.startswith(prefix) for prefix in scopes.get(account.id, [])):
                    by_unit[unit.path].append(Recipient(account.id, account.locale))
        return by_unit

    async def _admins(self, repos: Repositories) -> list[tuple[int, str | None]]:
        return [(a.id, a.locale) for a in await repos.reminder_sources.reachable_accounts()
                if a.role == "admin" and a.status == "active"]

    @staticmethod
    def _to(recipients: list[Recipient], kind: str, object_type: str, object_id: str, due_on: dt.date,
            payload: dict[str, object], last_day: dt.date | None = None) -> list[Due]:
        return [Due(kind, r.account_id, object_type, object_id, due_on,
                    {**payload, "locale": r.locale}, last_day) for r in recipients]

    # -- the kinds ------------------------------------------------------------------------------------
    async def _reports(self, repos: Repositories, day: dt.date, profile: Profile, calendar: WorkingCalendar,
                       clerks: dict[str, list[Recipient]], admins: list[Recipient]) -> list[Due]:
        """Before each due date at the profile's offsets, to the units that have not submitted; after it,
        daily to the late units, and a summary to the admin."""
        units = reporting_units(list(await repos.units.subtree("/")), profile)
        items: list[Due] = []
        # Last year's December round is still overdue in January and February.
        for due in [d for year in (day.year - 1, day.year, day.year + 1) for d in due_dates(profile, year)]:
            period = period_code(due)
            offset = (due - day).days
            # Due *before* the date (the last day is the one before it): overdue from the date itself,
            # then daily until the next round is near.
            overdue = -OVERDUE_DAYS <= offset <= 0
            if offset not in profile.reports.reminder_offsets_days and not overdue:
                continue
            submitted = await repos.reminder_sources.submitted_units(period)
            late = [u for u in units if u.id not in submitted]
            for unit in late:
                payload = {"unit": unit.name, "unit_path": unit.path, "period": period, "due": due.isoformat(),
                           "days": offset}
                kind = "report_overdue" if overdue else "report_due"
                items += self._to(clerks.get(unit.path, []), kind, "unit", f"{unit.id}:{period}", day, payload,
                                  last_day=due - dt.timedelta(days=1) if not overdue else None)
            if overdue and late:
                summary = {"period": period, "due": due.isoformat(), "units": [u.name for u in late][:60],
                           "count": len(late)}
                items += self._to(admins, "report_overdue_summary", "period", period, day, summary)
        return items

    async def _new_dossiers(self, repos: Repositories, day: dt.date, clerks: dict[str, list[Recipient]]) -> list[Due]:
        items: list[Due] = []
        for event, dossier in await repos.reminder_sources.new_dossiers_open(day):
            missing = [name for name in MANDATORY_FIELDS if getattr(dossier, name) in (None, "")]
            if not missing or event.deadline is None or event.doc_date is None:
                continue
            span = (event.deadline - event.doc_date).days
            marks = {event.doc_date + dt.timedelta(days=round(span * share)) for share in NEW_DOSSIER_MARKS}
            marks.add(event.deadline)
            if day not in marks:
                continue
            unit = await repos.units.get(dossier.custodian_unit_id)
            if unit is None:
                continue
            payload = {"name": dossier.full_name, "dossier_id": dossier.id, "deadline": event.deadline.isoformat(),
                       "missing": missing, "unit_path": unit.path}
            items += self._to(clerks.get(unit.path, []), "new_dossier_deadline", "dossier", str(dossier.id), day,
                              payload, last_day=event.deadline)
        return items

    async def _salary_raises(self, repos: Repositories, day: dt.date, profile: Profile,
                             clerks: dict[str, list[Recipient]]) -> list[Due]:
        """60 days before a regular raise falls due, to the custodian unit's clerks, with the list."""
        ranks = {item.code: dict(item.extra) for item in await repos.references.listing("rank")}
        target = day + SALARY_LEAD
        # The shortest period anyone may have: the profile's, a rank's own, or the yearly over-ceiling one.
        shortest = min(OVER_CEILING_MONTHS, profile.salary.raise_months_lower,
                       profile.salary.raise_months_college_or_higher,
                       *(raise_months(extra, profile.salary) for extra in ranks.values()))
        candidates = await repos.reminder_sources.active_with_salary(target - dt.timedelta(days=shortest * 28))
        postponements = await repos.changes.postponements()
        due_by_unit: dict[int, list[dict[str, object]]] = defaultdict(list)
        for dossier in candidates:
            assert dossier.salary_since is not None
            months = step_period(ranks.get(dossier.rank_code or "", {}), profile.salary, dossier.over_ceiling_percent)
            months += postponed_months(dossier.salary_since, postponements.get(dossier.id, []))
            if raise_due(dossier.salary_since, months) == target:
                due_by_unit[dossier.custodian_unit_id].append({"name": dossier.full_name, "dossier_id": dossier.id})
        items: list[Due] = []
        for unit_id, people in due_by_unit.items():
            unit = await repos.units.get(unit_id)
            if unit is None:
                continue
            payload = {"unit": unit.name, "unit_path": unit.path, "due": target.isoformat(), "people": people[:50],
                       "count": len(people)}
            items += self._to(clerks.get(unit.path, []), "salary_raise_due", "unit", str(unit_id), target, payload)
        return items

    async def _retirements(self, repos: Repositories, day: dt.date, clerks: dict[str, list[Recipient]]) -> list[Due]:
        """Two weeks before the retirement notice (6 months ahead) and the decision (3 months ahead)."""
        horizon = day + dt.timedelta(days=200)
        born_before = dt.date(horizon.year - 55, horizon.month, 1)
        items: list[Due] = []
        for dossier in await repos.reminder_sources.active_born_before(born_before):
            retires = retirement_date(dossier.sex, dossier.birth_date)
            for kind, due in (("retirement_notice", notice_due(retires)), ("retirement_decision", decision_due(retires))):
                if due - RETIREMENT_LEAD != day:
                    continue
                unit = await repos.units.get(dossier.custodian_unit_id)
                if unit is None:
                    continue
                payload = {"name": dossier.full_name, "dossier_id": dossier.id, "retires": retires.isoformat(),
                           "due": due.isoformat(), "unit_path": unit.path}
                items += self._to(clerks.get(unit.path, []), kind, "dossier", str(dossier.id), due, payload,
                                  last_day=due)
        return items

    async def _waiting(self, repos: Repositories, day: dt.date, clerks: dict[str, list[Recipient]]) -> list[Due]:
        """Declarations and custody requests waiting on a clerk for two days or more: once a day."""
        before = self.clock.now() - PENDING_AFTER
        items: list[Due] = []
        for event, dossier, unit in await repos.reminder_sources.pending_declarations(before):
            payload = {"name": dossier.full_name, "event": event.id, "kind": event.kind, "unit_path": unit.path}
            items += self._to(clerks.get(unit.path, []), "declaration_pending", "change", str(event.id), day, payload)
        for request, dossier, unit in await repos.reminder_sources.pending_transfers(before):
            payload = {"name": dossier.full_name, "request": request.id, "unit_path": unit.path}
            items += self._to(clerks.get(unit.path, []), "transfer_pending", "transfer", str(request.id), day, payload)
        return items

    async def _registered(self, repos: Repositories, day: dt.date, calendar: WorkingCalendar,
                          clerks: dict[str, list[Recipient]]) -> list[Due]:
        """A decision registered to enter later: the working day before its deadline, and on the day."""
        items: list[Due] = []
        for event, dossier, unit in await repos.changes.registered():
            if event.deadline is None:
                continue
            before = event.deadline - dt.timedelta(days=1)
            while before > event.recorded_at.date() and not calendar.is_working_day(before):
                before -= dt.timedelta(days=1)
            if day not in (before, event.deadline):
                continue
            payload = {"name": dossier.full_name, "dossier_id": dossier.id, "deadline": event.deadline.isoformat(),
                       "doc_number": event.doc_number, "for_kind": event.payload.get("for_kind"),
                       "unit_path": unit.path}
            items += self._to(clerks.get(unit.path, []), "change_deadline", "change", str(event.id), day, payload,
                              last_day=event.deadline)
        return items

    async def _subaccounts(self, repos: Repositories, day: dt.date, admins: list[Recipient]) -> list[Due]:
        """Sub-account requests waiting on the personnel office for two days or more: once a day."""
        items: list[Due] = []
        for request, unit in await repos.reminder_sources.pending_subaccounts(self.clock.now() - PENDING_AFTER):
            payload = {"request": request.id, "unit": unit.name, "username": request.username}
            items += self._to(admins, "subaccount_pending", "subaccount", str(request.id), day, payload)
        return items

    async def _campaign(self, repos: Repositories, day: dt.date, clerks: dict[str, list[Recipient]]) -> list[Due]:
        campaign = await repos.settings.get(CAMPAIGN_KEY)
        if not campaign or (day.month, day.day) != (campaign["month"], campaign["day"]):
            return []
        everyone = {r.account_id: r for recipients in clerks.values() for r in recipients}
        return self._to(list(everyone.values()), "annual_supplement", "campaign", str(day.year), day,
                        {"year": day.year})


async def set_campaign(uow: UnitOfWork, actor: Actor, clock: Clock, day: dt.date) -> None:
    """The yearly date of the supplementary-resume campaign (phiếu bổ sung lý lịch): every clerk is
    reminded on it, each year."""
    async with sensitive(uow, actor, clock, Action.MANAGE_UNITS) as repos:
        await repos.settings.put(CAMPAIGN_KEY, {"month": day.month, "day": day.day}, clock.now())
        await record(repos, clock, actor, "reminders.campaign", "campaign", None, date=day.strftime("%d/%m"))


class MyReminders:
    """One account's side: what is coming, the kinds it mutes (never the admin's escalations), and the linked
    channels its reminders go to."""

    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock) -> None:
        self.uow, self.actor, self.clock = uow, actor, clock

    def _account(self) -> int:
        if self.actor.account_id is None or self.actor.role is None:
            raise PermissionDenied()
        return self.actor.account_id

    def can_mute(self, kind: str) -> bool:
        return kind not in UNMUTABLE

    async def todo(self) -> list[Todo]:
        """This account's to-do list today: for a clerk, what is open in the units they keep; for the
        personnel office, the reports not yet in and the requests waiting on it."""
        self._account()
        today = local_today(self.clock)
        async with self.uow.read() as repos:
            if allows(self.actor, Action.MANAGE_ACCOUNTS):
                # The office edits every dossier, but its own list is its own unit's and the province's reports.
                items = await todo_list(repos, self.actor.scope_paths, today, self.clock)
                items += await office_list(repos, today, self.clock)
            else:
                items = await todo_list(repos, scope_of(self.actor, Action.EDIT_DOSSIER), today, self.clock)
        return items

    async def upcoming(self) -> list[tuple[dt.datetime, str]]:
        async with self.uow.read() as repos:
            rows = await repos.outbox.upcoming(self._account(), self.clock.now() - dt.timedelta(days=1))
        return [(row.due_at, row.kind) for row in rows]

    async def muted(self) -> set[str]:
        account = self._account()
        async with self.uow.read() as repos:
            return {kind for owner, kind in await repos.outbox.mutes([account]) if owner == account}

    async def blocked(self) -> list[tuple[str, str]]:
        """For the admin: the accounts whose Telegram users blocked the bot (username, full name)."""
        if not allows(self.actor, Action.MANAGE_ACCOUNTS):
            return []
        async with self.uow.read() as repos:
            return [(a.username, a.full_name) for a in await repos.outbox.blocked_accounts()]

    async def toggle(self, kind: str) -> bool:
        """Mute the kind, or unmute it if muted; True when it is now muted."""
        if not self.can_mute(kind):
            raise InvalidInput("kind", N_("The personnel office's escalations cannot be muted."))
        account = self._account()
        async with self.uow.write() as repos:
            muted = (account, kind) in await repos.outbox.mutes([account])
            await repos.outbox.set_mute(account, kind, not muted, self.clock.now())
            await record(repos, self.clock, self.actor, "reminders.unmute" if muted else "reminders.mute",
                         "account", account, kind=kind)
        return not muted

    async def channels(self) -> list[tuple[str, bool]]:
        """The channels this account is linked on, each with whether its reminders go there (by default
        every linked channel; `services.platform.outbox.receiving` applies the choice)."""
        account = self._account()
        async with self.uow.read() as repos:
            linked = [identity.channel for identity in await repos.identities.live(account)]
            off = {channel for _owner, channel in await repos.outbox.channels_off([account])}
        return [(channel, channel not in off) for channel in linked]

    async def toggle_channel(self, channel: str) -> bool:
        """Turn the account's reminders off on a linked channel, or on again; True when they now go there.
        The last channel receiving them stays on: muting a kind is how to receive less."""
        account = self._account()
        async with self.uow.write() as repos:
            linked = {identity.channel for identity in await repos.identities.live(account)}
            if channel not in linked:
                raise InvalidInput("channel", N_("Your account is not linked on {channel}."), channel=channel)
            off = {channel for _owner, channel in await repos.outbox.channels_off([account])}
            turning_on = channel in off
            if not turning_on and not (linked - off - {channel}):
                raise InvalidInput("channel", N_("Reminders need at least one channel; mute a kind instead."))
            await repos.outbox.set_channel_off(account, channel, not turning_on, self.clock.now())
            await record(repos, self.clock, self.actor, "reminders.channel_on" if turning_on else
                         "reminders.channel_off", "account", account, channel=channel)
        return turning_on


async def load_active_profile(uow: UnitOfWork) -> Profile:
    async with uow.read() as repos:
        return await profile_of(repos)


async def broadcast(uow: UnitOfWork, actor: Actor, clock: Clock, text: str) -> int:
    """The personnel office's incident notice to every signed-in account; the number of recipients."""
    text = text.strip()
    if not text:
        raise InvalidInput("text", N_("Write the notice after the command: /broadcast <text>."))
    if len(text) > 3000:
        raise InvalidInput("text", N_("Too long: at most {limit} characters."), limit=3000)
    async with sensitive(uow, actor, clock, Action.MANAGE_UNITS) as repos:
        now = clock.now()
        accounts = await repos.reminder_sources.reachable_accounts()
        items = [Due("incident", a.id, "notice", now.strftime("%Y%m%d%H%M%S%f"),
                     local_today(clock), {"text": text, "locale": a.locale}) for a in accounts]
        calendar = await working_calendar(repos)
        added = await enqueue(repos, clock, items, calendar, immediate=True)
        await record(repos, clock, actor, "notice.broadcast", "notice", None, recipients=added)
    return added
