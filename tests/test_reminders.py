"""The reminder engine against a frozen clock and real dates: half-yearly reports at the profile's
offsets and overdue after the date, salary raises, retirements, new dossiers, requests left waiting,
delivery times (week-ends, Tết, quiet hours), idempotency, mutes, the sender, the handlers, the outage
notice and `hoso reminders preview`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.i18n import create_i18n
from bot.jobs import Jobs
from bot.runtime import Runtime
from bot.sender import OutboxSender
from handlers.changes import Decide
from handlers.dossiers import OpenDossier
from handlers.reminders import KIND_TITLES, NOTICES, MuteToggle, render
from handlers.reports import ReportOpen
from handlers.transfers import TransferDecide
from handlers.views import esc
from services.changes.declarations import Declarations
from services.changes.log import ChangeLog
from services.changes.new_dossiers import NewDossiers
from services.core.clock import FrozenClock
from services.core.errors import InvalidInput
from services.core.identity import load_actor
from services.core.text import fold
from services.custody.transfers import TransferService
from services.platform.outbox import NOTICES as NOTICE_KINDS
from services.platform.outbox import UNMUTABLE, Due
from services.regime.change_kinds import KINDS
from services.regime.profiles import DEFAULT_PROFILE
from services.regime.reference import install_reference_lists
from services.regime.setup import install_profile
from services.reminders.service import MyReminders, ReminderService, load_active_profile
from storage import UnitOfWork
from storage.models import Outbox, UnitReport
from tests.conftest import BotHarness, sent_texts, sqlite_url
from tests.test_accounts import SYSTEM, sign_in, tree
from tests.test_lookup import add_people
from tests.test_outbox import FakeBot

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN, SYT_CLERK, STC_CLERK, EMPLOYEE = 500, 501, 502, 777  # Telegram ids
HOA = "001188000111"  # Đặng Thị Hoà, held by SYT
LETTER = {"receiving_unit": "STC", "doc_number": "56/CV-STC", "doc_date": "25/06/2026",
          "doc_issuer": "Nguyễn Văn Tài, Giám đốc"}


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> FrozenClock:
    """A clock frozen at a local (Hà Nội) time."""
    return FrozenClock(dt.datetime(year, month, day, hour, minute, tzinfo=TZ))


def local(value: dt.datetime) -> dt.datetime:
    """A stored instant as a naive local time, to compare with literals."""
    return value.astimezone(TZ).replace(tzinfo=None)


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


async def province(uow: UnitOfWork, clock: FrozenClock, profile: str = "vn-2026") -> dict[str, int]:
    """The test tree (CT → SNV, SYT → BV, STC), the reference lists, the profile, some people, an admin
    at SNV and a clerk at SYT and at STC (SNV has none)."""
    await tree(uow, clock)
    await install_reference_lists(uow)
    await install_profile(uow, clock, profile)
    people = await add_people(uow, clock)
    await sign_in(uow, clock, "ha.snv", "SNV", "admin", ADMIN)
    await sign_in(uow, clock, "lan.syt", "SYT", "clerk", SYT_CLERK)
    await sign_in(uow, clock, "yen.stc", "STC", "clerk", STC_CLERK)
    return people


@pytest.fixture
async def people(uow: UnitOfWork, clock: FrozenClock) -> dict[str, int]:
    return await province(uow, clock)


async def add_dossier(uow: UnitOfWork, clock: FrozenClock, personal_id: str, name: str, unit: str, *,
                      sex: str = "F", born: dt.date = dt.date(1985, 1, 1), rank: str = "01.003",
                      salary_since: dt.date | None = None, status: str = "active",
                      over_ceiling: int | None = None) -> int:
    now = clock.now()
    async with uow.write() as repos:
        custodian = await repos.units.by_code(unit)
        assert custodian is not None
        await repos.dossiers.add_many([{
            "personal_id": personal_id, "full_name": name, "folded_name": fold(name), "sex": sex, "birth_date": born,
            "custodian_unit_id": custodian.id, "working_unit_id": custodian.id, "employment_status": status,
            "rank_code": rank, "post": "Chuyên viên", "salary_step": 2, "salary_since": salary_since,
            "over_ceiling_percent": over_ceiling,
            "created_at": now, "updated_at": now,
        }])
        return (await repos.dossiers.ids_by_personal_id([personal_id]))[personal_id]


async def unit_id(uow: UnitOfWork, code: str) -> int:
    async with uow.read() as repos:
        unit = await repos.units.by_code(code)
    assert unit is not None
    return unit.id


async def outbox(uow: UnitOfWork, kind: str | None = None) -> list[Outbox]:
    query = select(Outbox).order_by(Outbox.id)
    if kind is not None:
        query = query.where(Outbox.kind == kind)
    async with uow.read() as repos:
        return list((await repos.session.scalars(query)).all())


def of_kind(items: list[Due], *kinds: str) -> list[Due]:
    return [d for d in items if d.kind in kinds]


def reports(items: list[Due]) -> list[tuple[object, ...]]:
    """The report reminders of a day: kind, recipient, unit (or the summary's count), days, period."""
    return sorted((d.kind, d.chat_id, d.payload.get("unit", d.payload.get("count")), d.payload.get("days"),
                   d.payload["period"]) for d in items if d.kind.startswith("report"))


# -- 1. half-yearly reports -----------------------------------------------------------------------------

@pytest.mark.parametrize(("due", "reminded"), [
    # 15/06/2026 is a Monday; 14/06 a Sunday.
    (dt.date(2026, 6, 15), {dt.date(2026, 5, 16): 30, dt.date(2026, 6, 1): 14, dt.date(2026, 6, 8): 7,
                            dt.date(2026, 6, 12): 3, dt.date(2026, 6, 14): 1}),
    # 15/12/2026 is a Tuesday.
    (dt.date(2026, 12, 15), {dt.date(2026, 11, 15): 30, dt.date(2026, 12, 1): 14, dt.date(2026, 12, 8): 7,
                             dt.date(2026, 12, 12): 3, dt.date(2026, 12, 14): 1}),
])
async def test_report_reminders_at_the_offsets_then_daily_once_overdue(
    uow: UnitOfWork, clock: FrozenClock, people: dict[str, int], due: dt.date, reminded: dict[dt.date, int]
) -> None:
    period = f"2026-H{1 if due.month == 6 else 2}"
    service = ReminderService(uow, SYSTEM, clock)
    seen: dict[dt.date, list[tuple[object, ...]]] = {}
    for day in days(due - dt.timedelta(days=36), due + dt.timedelta(days=5)):
        seen[day] = reports(await service.preview(day))
    for day, got in seen.items():
        if day in reminded:  # each unit whose clerks exist; SNV has none
            expected = [("report_due", SYT_CLERK, "Sở Y tế", reminded[day], period),
                        ("report_due", STC_CLERK, "Sở Tài chính", reminded[day], period)]
        elif day >= due:  # "before 15/06": the date itself is already late
            expected = [("report_overdue", SYT_CLERK, "Sở Y tế", (due - day).days, period),
                        ("report_overdue", STC_CLERK, "Sở Tài chính", (due - day).days, period),
                        ("report_overdue_summary", ADMIN, 3, None, period)]  # one per admin per day
        else:
            expected = []
        assert got == expected, day
    assert [day for day, got in seen.items() if got and got[0][0] == "report_due"] == sorted(reminded)
    assert seen[due][0][:2] == ("report_overdue", SYT_CLERK)  # the date itself is overdue (days = 0)
    assert seen[due - dt.timedelta(days=1)][0][0] == "report_due"  # the last day, one day left

    first = of_kind(await service.preview(min(reminded)), "report_due")[0]
    assert (first.object_type, first.due_on, first.last_day) == ("unit", min(reminded), due - dt.timedelta(days=1))
    assert first.object_id == f"{await unit_id(uow, 'SYT')}:{period}"
    summary = of_kind(await service.preview(due + dt.timedelta(days=1)), "report_overdue_summary")[0]
    assert summary.payload["units"] == ["Sở Nội vụ", "Sở Y tế", "Sở Tài chính"]  # SNV is late too, unreminded
    assert summary.account_id is not None and summary.last_day is None


async def test_a_unit_that_submitted_gets_no_reminder(uow: UnitOfWork, clock: FrozenClock,
                                                      people: dict[str, int]) -> None:
    now = clock.now()
    async with uow.write() as repos:
        repos.session.add(UnitReport(unit_id=await unit_id(uow, "SYT"), period="2026-H1", status="submitted",
                                     submitted_at=now, late=False, created_at=now, updated_at=now))
        repos.session.add(UnitReport(unit_id=await unit_id(uow, "STC"), period="2026-H1", status="draft",
                                     created_at=now, updated_at=now))  # a draft is not submitted
    service = ReminderService(uow, SYSTEM, clock)
    assert reports(await service.preview(dt.date(2026, 6, 14))) == [
        ("report_due", STC_CLERK, "Sở Tài chính", 1, "2026-H1")]
    late = await service.preview(dt.date(2026, 6, 16))
    assert reports(late) == [("report_overdue", STC_CLERK, "Sở Tài chính", -1, "2026-H1"),
                             ("report_overdue_summary", ADMIN, 2, None, "2026-H1")]
    assert of_kind(late, "report_overdue_summary")[0].payload["units"] == ["Sở Nội vụ", "Sở Tài chính"]
    # The other period is not concerned: SYT is reminded of H2 as usual.
    assert reports(await service.preview(dt.date(2026, 12, 14))) == [
        ("report_due", SYT_CLERK, "Sở Y tế", 1, "2026-H2"), ("report_due", STC_CLERK, "Sở Tài chính", 1, "2026-H2")]


async def test_the_december_round_stays_overdue_into_the_new_year(uow: UnitOfWork, clock: FrozenClock,
                                                                  people: dict[str, int]) -> None:
    service = ReminderService(uow, SYSTEM, clock)
    assert reports(await service.preview(dt.date(2027, 1, 5))) == [
        ("report_overdue", SYT_CLERK, "Sở Y tế", -21, "2026-H2"),
        ("report_overdue", STC_CLERK, "Sở Tài chính", -21, "2026-H2"),
        ("report_overdue_summary", ADMIN, 3, None, "2026-H2")]
    assert reports(await service.preview(dt.date(2027, 2, 15))) != []  # 62 days after the date: the last one
    assert reports(await service.preview(dt.date(2027, 2, 16))) == []  # then quiet until May


async def test_preview_of_one_unit(uow: UnitOfWork, clock: FrozenClock, people: dict[str, int]) -> None:
    service = ReminderService(uow, SYSTEM, clock)
    assert reports(await service.preview(dt.date(2026, 6, 14), " syt ")) == [
        ("report_due", SYT_CLERK, "Sở Y tế", 1, "2026-H1")]
    assert await service.preview(dt.date(2026, 6, 14), "NOPE") == []
    assert reports(await service.preview(dt.date(2026, 6, 16), "STC")) == [  # no summary: it is not a unit's
        ("report_overdue", STC_CLERK, "Sở Tài chính", -1, "2026-H1")]


async def test_plan_records_the_delivery_times(uow: UnitOfWork, clock: FrozenClock, people: dict[str, int]) -> None:
    # The scheduler's first pass of a day runs just after midnight.
    assert await ReminderService(uow, SYSTEM, at(2026, 5, 16, 0, 5)).plan() == 2  # a Saturday
    assert await ReminderService(uow, SYSTEM, at(2026, 6, 12, 0, 5)).plan() == 2  # a Friday
    assert await ReminderService(uow, SYSTEM, at(2026, 6, 14, 0, 5)).plan() == 2  # Sunday, the last day
    assert await ReminderService(uow, SYSTEM, at(2026, 6, 14, 9, 30)).plan() == 0
    rows = await outbox(uow)
    assert {(r.chat_id, r.payload["due_on"], local(r.due_at), r.status) for r in rows} == {
        (chat, due_on, when, "pending") for chat in (SYT_CLERK, STC_CLERK) for due_on, when in (
            ("2026-05-16", dt.datetime(2026, 5, 18, 7, 0)),  # waits for Monday morning
            ("2026-06-12", dt.datetime(2026, 6, 12, 7, 0)),  # a working day: that morning
            ("2026-06-14", dt.datetime(2026, 6, 14, 7, 0)))}  # the last day before the date: that morning
    assert rows[0].key == f"report_due:unit:{await unit_id(uow, 'SYT')}:2026-H1:2026-05-16:{SYT_CLERK}"
    assert rows[0].payload["locale"] is None and rows[0].payload["days"] == 30


# -- 2. idempotency ---------------------------------------------------------------------------------------

async def test_planning_twice_adds_nothing_the_second_time(uow: UnitOfWork, clock: FrozenClock,
                                                           people: dict[str, int]) -> None:
    june = at(2026, 6, 16, 8, 0)  # overdue: two units and the admin's summary
    service = ReminderService(uow, SYSTEM, june)
    assert await service.plan() == 3
    assert await service.plan() == 0
    june.advance(dt.timedelta(hours=3))
    assert await service.plan() == 0
    june.advance(dt.timedelta(days=1))  # a new day: a new daily reminder
    assert await service.plan() == 3
    assert len(await outbox(uow)) == 6
    assert await ReminderService(uow, SYSTEM, june).plan(dt.date(2026, 6, 16)) == 0  # an explicit day, done


# -- 3, 4. days off and quiet hours ---------------------------------------------------------------------------

async def test_a_reminder_planned_during_tet_goes_out_after_it(uow: UnitOfWork, clock: FrozenClock,
                                                               people: dict[str, int]) -> None:
    # Salary step since 05/04/2024, 36 months → due 05/04/2027, reminded 60 days before: 04/02/2027 (Tết).
    await add_dossier(uow, clock, "092180000901", "Võ Thanh Tâm", "STC", salary_since=dt.date(2024, 4, 5))
    tet = at(2027, 2, 4, 9, 0)
    assert await ReminderService(uow, SYSTEM, tet).plan() > 0
    (row,) = await outbox(uow, "salary_raise_due")
    assert (row.chat_id, row.payload["due"], row.payload["people"][0]["name"]) == (STC_CLERK, "2027-04-05",
                                                                                   "Võ Thanh Tâm")
    assert local(row.due_at) == dt.datetime(2027, 2, 11, 7, 0)  # 04–10/02/2027 are days off
    # Everything else planned that day waits too (the H2 2026 report is still overdue).
    assert {local(r.due_at) for r in await outbox(uow)} == {dt.datetime(2027, 2, 11, 7, 0)}


# -- 5. salary raises --------------------------------------------------------------------------------------

async def test_salary_raises_sixty_days_ahead_to_the_custodian_clerks(uow: UnitOfWork, clock: FrozenClock,
                                                                      people: dict[str, int]) -> None:
    await add_dossier(uow, clock, "092180000902", "Lý Minh Quân", "SYT", salary_since=dt.date(2023, 9, 1))
    await add_dossier(uow, clock, "092180000903", "Hồ Thị Mai", "SYT", rank="01.005",  # group B: 24 months
                      salary_since=dt.date(2024, 9, 1))
    await add_dossier(uow, clock, "092180000904", "Tô Văn Lực", "SYT", salary_since=dt.date(2023, 9, 2))
    await add_dossier(uow, clock, "092180000905", "Mai Văn Cũ", "SYT", salary_since=dt.date(2023, 9, 1),
                      status="retired")
    # Past the last step: the over-ceiling allowance grows every 12 months, from 01/09/2025.
    await add_dossier(uow, clock, "092180000908", "Kha Văn Trần", "SYT", salary_since=dt.date(2025, 9, 1),
                      over_ceiling=5)
    service = ReminderService(uow, SYSTEM, clock)
    by_day = {day: of_kind(await service.preview(day), "salary_raise_due")
              for day in days(dt.date(2026, 6, 30), dt.date(2026, 7, 6))}
    assert [day for day, items in by_day.items() if items] == [dt.date(2026, 7, 3), dt.date(2026, 7, 4)]
    (due,) = by_day[dt.date(2026, 7, 3)]  # 01/09/2026 minus 60 days
    assert (due.chat_id, due.object_type, due.object_id, due.due_on) == (
        SYT_CLERK, "unit", str(await unit_id(uow, "SYT")), dt.date(2026, 9, 1))
    assert ([p["name"] for p in due.payload["people"]], due.payload["count"], due.payload["unit"]) == (
        ["Lý Minh Quân", "Hồ Thị Mai", "Kha Văn Trần"], 3, "Sở Y tế")
    (later,) = by_day[dt.date(2026, 7, 4)]
    assert [p["name"] for p in later.payload["people"]] == ["Tô Văn Lực"] and later.due_on == dt.date(2026, 9, 2)


async def test_quiet_hours_wait_for_the_next_working_morning(uow: UnitOfWork, clock: FrozenClock,
                                                             people: dict[str, int]) -> None:
    await add_dossier(uow, clock, "092180000902", "Lý Minh Quân", "SYT", salary_since=dt.date(2023, 9, 1))
    await add_dossier(uow, clock, "092180000904", "Tô Văn Lực", "SYT", salary_since=dt.date(2023, 9, 2))
    await ReminderService(uow, SYSTEM, at(2026, 7, 3, 22, 30)).plan()  # a Friday night
    await ReminderService(uow, SYSTEM, at(2026, 7, 4, 5, 0)).plan()  # Saturday, before dawn
    rows = await outbox(uow, "salary_raise_due")
    assert [(r.payload["due"], local(r.due_at)) for r in rows] == [
        ("2026-09-01", dt.datetime(2026, 7, 6, 7, 0)), ("2026-09-02", dt.datetime(2026, 7, 6, 7, 0))]
    await add_dossier(uow, clock, "092180000906", "Đinh Văn Tư", "SYT", salary_since=dt.date(2023, 9, 7))
    await ReminderService(uow, SYSTEM, at(2026, 7, 9, 22, 30)).plan()  # a Thursday night
    assert local((await outbox(uow, "salary_raise_due"))[-1].due_at) == dt.datetime(2026, 7, 10, 7, 0)


# -- 6. retirement ---------------------------------------------------------------------------------------------

async def test_retirement_notice_and_decision(uow: UnitOfWork, clock: FrozenClock, people: dict[str, int]) -> None:
    # A man born in March 1966 reaches 61 years 9 months (the age of 2027) in December 2027.
    hung = await add_dossier(uow, clock, "092166000907", "Trần Văn Hùng", "STC", sex="M", born=dt.date(1966, 3, 20))
    service = ReminderService(uow, SYSTEM, clock)
    kinds = ("retirement_notice", "retirement_decision")
    found = {day: of_kind(await service.preview(day), *kinds) for day in
             days(dt.date(2027, 6, 14), dt.date(2027, 6, 18)) + days(dt.date(2027, 9, 14), dt.date(2027, 9, 18))}
    assert [day for day, items in found.items() if items] == [dt.date(2027, 6, 16), dt.date(2027, 9, 16)]
    (notice,) = found[dt.date(2027, 6, 16)]  # the notice is due 30/06/2027, six months before; 14 days ahead
    assert (notice.kind, notice.chat_id, notice.object_id, notice.due_on, notice.last_day) == (
        "retirement_notice", STC_CLERK, str(hung), dt.date(2027, 6, 30), dt.date(2027, 6, 30))
    assert (notice.payload["retires"], notice.payload["due"], notice.payload["name"]) == (
        "2027-12-31", "2027-06-30", "Trần Văn Hùng")
    (decision,) = found[dt.date(2027, 9, 16)]  # the decision is due 30/09/2027, three months before
    assert (decision.kind, decision.chat_id, decision.payload["due"]) == ("retirement_decision", STC_CLERK,
                                                                          "2027-09-30")


# -- 7. new dossiers ----------------------------------------------------------------------------------------------

NEW_PERSON = {"full_name": "Đặng Thị Thuỷ", "sex": "F", "birth_date": "12/03/1995", "personal_id": "092195001234",
              "ethnicity": "Kinh", "custodian_unit": "bv", "rank_code": "01.003", "post": "Chuyên viên",
              "employment_status": "probation", "doc_number": "45/QĐ-SYT", "doc_date": "20/06/2026",
              "doc_issuer": "Sở Y tế", "effective_on": "22/06/2026"}


async def test_a_new_dossier_is_recalled_until_it_is_complete(uow: UnitOfWork, clock: FrozenClock) -> None:
    await province(uow, clock, "hau-giang-2016")  # 30 calendar days from the recruitment decision
    clerk = await load_actor(uow, "telegram", SYT_CLERK)
    created = await NewDossiers(uow, clerk, clock).create(NEW_PERSON)
    assert created.deadline == dt.date(2026, 7, 20)
    service = ReminderService(uow, SYSTEM, clock)
    found = {day: of_kind(await service.preview(day), "new_dossier_deadline")
             for day in days(dt.date(2026, 6, 20), dt.date(2026, 7, 25))}
    # 50 % and 80 % of the 30 days from 20/06 (05/07 and 14/07), then the deadline itself.
    assert [day for day, items in found.items() if items] == [dt.date(2026, 7, 5), dt.date(2026, 7, 14),
                                                              dt.date(2026, 7, 20)]
    (first,) = found[dt.date(2026, 7, 5)]  # the custodian is BV, under the SYT clerk
    assert (first.chat_id, first.object_id, first.last_day, first.payload["deadline"]) == (
        SYT_CLERK, str(created.dossier_id), dt.date(2026, 7, 20), "2026-07-20")
    assert first.payload["missing"] == ["birthplace", "home_town", "permanent_address", "current_address",
                                        "professional_level"]

    changes = ChangeLog(uow, clerk, clock)
    answers = {"birthplace": "Vị Thanh", "home_town": "Long Mỹ", "permanent_address": "3 Nguyễn Trãi",
               "professional_level": "DH", "effective_on": "01/07/2026"}
    await changes.log("supplement", created.dossier_id,
                      {key: await changes.check("supplement", key, value) for key, value in answers.items()})
    (partly,) = of_kind(await service.preview(dt.date(2026, 7, 14)), "new_dossier_deadline")
    assert partly.payload["missing"] == ["current_address"]
    await changes.log("supplement", created.dossier_id, {"current_address": "9 Hùng Vương",
                                                         "effective_on": "01/07/2026"})
    for day in (dt.date(2026, 7, 5), dt.date(2026, 7, 14), dt.date(2026, 7, 20)):
        assert of_kind(await service.preview(day), "new_dossier_deadline") == []


# -- 8. requests waiting ---------------------------------------------------------------------------------------------

async def test_declarations_and_custody_requests_waiting_two_days(uow: UnitOfWork, clock: FrozenClock,
                                                                  people: dict[str, int]) -> None:
    employee = await sign_in(uow, clock, "hoa.nv", "SYT", "employee", EMPLOYEE, personal_id=HOA)
    declared = await Declarations(uow, employee, clock).declare(
        "marriage", {"spouse_name": "Lê Văn Bình", "spouse_birth_year": "1986", "effective_on": "10/06/2026"})
    asked = await TransferService(uow, await load_actor(uow, "telegram", STC_CLERK), clock).request(people[HOA], LETTER)
    kinds = ("declaration_pending", "transfer_pending")

    async def waiting(when: FrozenClock) -> list[tuple[str, int, str, str]]:
        due = await ReminderService(uow, SYSTEM, when).preview(when.now().astimezone(TZ).date())
        return sorted((d.kind, d.chat_id, d.object_id or "", d.payload["name"]) for d in of_kind(due, *kinds))

    assert await waiting(at(2026, 7, 3, 8, 59)) == []  # 47 hours and 59 minutes
    assert await waiting(at(2026, 7, 3, 9, 1)) == [  # both wait on the holding unit's clerk, not on STC's
        ("declaration_pending", SYT_CLERK, str(declared.event_id), "Đặng Thị Hoà"),
        ("transfer_pending", SYT_CLERK, str(asked.id), "Đặng Thị Hoà")]

    friday_night = at(2026, 7, 3, 22, 30)
    assert await ReminderService(uow, SYSTEM, friday_night).plan() > 0
    rows = [r for r in await outbox(uow) if r.kind in kinds]
    assert {(r.kind, local(r.due_at)) for r in rows} == {("declaration_pending", dt.datetime(2026, 7, 6, 7, 0)),
                                                         ("transfer_pending", dt.datetime(2026, 7, 6, 7, 0))}
    # Decided: no longer brought up.
    await Declarations(uow, await load_actor(uow, "telegram", SYT_CLERK), at(2026, 7, 1, 9, 10)).decide(
        declared.event_id, approve=True)
    assert [w[0] for w in await waiting(at(2026, 7, 6, 9, 0))] == ["transfer_pending"]


# -- 9. the sender and mutes ----------------------------------------------------------------------------------------

async def test_plan_then_send_with_a_muted_kind(uow: UnitOfWork, clock: FrozenClock, people: dict[str, int]) -> None:
    mine = MyReminders(uow, await load_actor(uow, "telegram", STC_CLERK), clock)
    assert await mine.toggle("report_due") is True
    assert await mine.muted() == {"report_due"}
    for kind in sorted(UNMUTABLE):
        assert not mine.can_mute(kind)
    with pytest.raises(InvalidInput) as refused:
        await mine.toggle("transfer_escalation")
    assert refused.value.field == "kind"
    with pytest.raises(InvalidInput):
        await mine.toggle("report_overdue_summary")
    assert await mine.muted() == {"report_due"}

    sunday = at(2026, 6, 14, 0, 5)
    assert await ReminderService(uow, SYSTEM, sunday).plan() == 2
    bot = FakeBot()
    i18n = create_i18n()
    sender = OutboxSender(uow, sunday, bot, i18n, rate=1000, per_chat=0.0)  # type: ignore[arg-type]
    await sender.drain()
    assert bot.sent == []  # not before 07:00
    sunday.advance(dt.timedelta(hours=7))
    await sender.drain()
    assert [chat for _t, chat, _text in bot.sent] == [SYT_CLERK]
    text = bot.sent[0][2]
    assert "Sở Y tế" in text and "15/06/2026" in text and "6 tháng đầu năm 2026" in text  # the period as read
    row = {r.chat_id: r for r in await outbox(uow)}
    with i18n.context(), i18n.use_locale("vi"):  # the clerk has no language set: Vietnamese, the default
        assert text == render("report_due", dict(row[SYT_CLERK].payload))[0]
    assert (row[SYT_CLERK].status, row[SYT_CLERK].sent_at) == ("sent", sunday.now())
    assert row[STC_CLERK].status == "muted"
    sunday.advance(dt.timedelta(days=1))
    await sender.drain()
    assert len(bot.sent) == 1  # a muted row is never sent, a sent one never again

    assert await mine.toggle("report_due") is False  # unmuted: the next ones go out
    assert await mine.muted() == set()
    monday = at(2026, 6, 15, 8, 0)
    assert await ReminderService(uow, SYSTEM, monday).plan() == 3
    await OutboxSender(uow, monday, bot, i18n, rate=1000, per_chat=0.0).drain()  # type: ignore[arg-type]
    assert sorted(chat for _t, chat, _text in bot.sent[1:]) == [ADMIN, SYT_CLERK, STC_CLERK]
    summary = next(text for _t, chat, text in bot.sent if chat == ADMIN)
    assert "• Sở Nội vụ" in summary and "• Sở Tài chính" in summary


# -- 9b. the notices of an action -------------------------------------------------------------------------------------

def test_every_notice_has_its_text_and_title_and_none_is_muted() -> None:
    assert set(NOTICES) == NOTICE_KINDS
    assert NOTICE_KINDS <= UNMUTABLE and NOTICE_KINDS <= set(KIND_TITLES)


def buttons_of(markup: object) -> list[str]:
    return [b.callback_data for row in getattr(markup, "inline_keyboard", []) for b in row]


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_notices_read_as_the_messages_the_handlers_sent(locale: str) -> None:
    """In the recipient's language, with the buttons that decide what they ask about."""
    i18n = create_i18n()
    t = i18n.translator(locale)
    hoa, syt, stc = "Đặng Thị Hoà", "Sở Y tế", "Sở Tài chính"
    with i18n.context(), i18n.use_locale(locale):
        asked = render("transfer_requested", {"request": 7, "name": hoa, "holder": syt, "receiver": stc,
                                              "letter": "56/CV-STC", "date": "2026-06-25", "signer": "Tài",
                                              "dossier_id": 1, "unit_path": "/1/3/", "locale": locale})
        approved = render("transfer_decided", {"request": 7, "name": hoa, "status": "approved", "unit": stc,
                                               "reason": None})
        rejected = render("transfer_decided", {"request": 7, "name": hoa, "status": "rejected", "unit": stc,
                                               "reason": "Chưa có <quyết định>"})
        withdrawn = render("transfer_decided", {"request": 7, "name": hoa, "status": "withdrawn", "unit": stc,
                                                "reason": None})
        declared = render("declaration_new", {
            "event": 12, "name": hoa, "kind": "address", "dossier_id": 1, "unit_path": "/1/3/",
            "answers": {"current_address": "9 Hùng Vương", "effective_on": "10/06/2026"},
            "lines": [["Current address", "12 Trần Hưng Đạo", "9 Hùng Vương"]]})
        entered = render("declaration_decided", {"event": 12, "kind": "address", "status": "applied", "reason": ""})
        refused = render("declaration_decided", {"event": 12, "kind": "address", "status": "rejected",
                                                 "reason": "Thiếu xác nhận"})
    assert asked[0] == (t("{receiver} asks in writing for the dossier of <b>{name}</b>, which your unit holds:").format(
        receiver=stc, name=hoa) + "\n" + t("#{number} <b>{name}</b>: {holder} → {receiver}, request {letter} of {date} "
                                            "({signer})").format(number=7, name=hoa, holder=syt, receiver=stc,
                                                                 letter="56/CV-STC", date="25/06/2026", signer="Tài"))
    assert buttons_of(asked[1]) == [TransferDecide(id=7, approve=True).pack(), TransferDecide(id=7, approve=False).pack()]
    assert approved == (t("Request #{number} approved: the dossier of <b>{name}</b> is now kept by {unit}.").format(
        number=7, name=hoa, unit=stc), None)
    assert rejected == (t("Request #{number} for the dossier of <b>{name}</b> was rejected: {reason}").format(
        number=7, name=hoa, reason=esc("Chưa có <quyết định>")), None)
    assert withdrawn == (t("Request #{number} for the dossier of <b>{name}</b> was withdrawn by {unit}.").format(
        number=7, name=hoa, unit=stc), None)
    title = t(KINDS["address"].title)
    head, *details = declared[0].split("\n")
    assert head == t("New declaration #{event} from <b>{name}</b>: {kind}. Review it:").format(
        event=12, name=hoa, kind=title)
    assert any("9 Hùng Vương" in line and "10/06/2026" not in line for line in details)  # what was declared
    assert f"• {t('Current address')}: 12 Trần Hưng Đạo → <b>9 Hùng Vương</b>" in details  # what it changes
    assert buttons_of(declared[1]) == [Decide(id=12, approve=True).pack(), Decide(id=12, approve=False).pack()]
    assert entered == (t("Your declaration #{event} ({kind}) was approved and entered in your dossier.").format(
        event=12, kind=title), None)
    assert refused == (t("Your declaration #{event} ({kind}) was rejected: {reason}").format(
        event=12, kind=title, reason="Thiếu xác nhận"), None)


# -- 10. handlers ----------------------------------------------------------------------------------------------------

async def test_reminders_command_lists_and_toggles(harness: BotHarness) -> None:
    uow, clock = harness.runtime.uow, harness.runtime.clock
    assert isinstance(clock, FrozenClock)
    await province(uow, clock)
    await ReminderService(uow, SYSTEM, clock).plan()  # 01/07/2026: the H1 report is overdue
    vi = harness.runtime.i18n.translator("vi")

    texts = sent_texts(await harness.send("/reminders", user_id=SYT_CLERK))
    assert len(texts) == 1
    assert f"01/07/2026 09:00 — {vi(KIND_TITLES['report_overdue'])}" in texts[0]
    keyboard = harness.last_keyboard_message().reply_markup
    assert keyboard is not None
    # The to-do list's numbered buttons come first; the mutes stay below them.
    buttons = [b for row in keyboard.inline_keyboard for b in row if b.callback_data.startswith("mute:")]
    assert [b.callback_data for b in buttons] == [MuteToggle(kind=k).pack() for k in KIND_TITLES if k not in UNMUTABLE]
    assert buttons[0].text == "🔔 " + vi(KIND_TITLES["report_due"])

    message = harness.last_keyboard_message()
    calls = await harness.press(message, MuteToggle(kind="report_overdue").pack(), user_id=SYT_CLERK)
    answers = [c for c in calls if c.__api_method__ == "answerCallbackQuery"]
    assert len(answers) == 1 and answers[0].show_alert
    assert answers[0].text == vi("Muted: {kind}").format(kind=vi(KIND_TITLES["report_overdue"]))
    clerk = MyReminders(uow, await load_actor(uow, "telegram", SYT_CLERK), clock)
    assert await clerk.muted() == {"report_overdue"}
    await harness.send("/reminders", user_id=SYT_CLERK)
    buttons = [b for row in harness.last_keyboard_message().reply_markup.inline_keyboard for b in row]
    assert "🔕 " + vi(KIND_TITLES["report_overdue"]) in [b.text for b in buttons]
    calls = await harness.press(harness.last_keyboard_message(), MuteToggle(kind="report_overdue").pack(),
                                user_id=SYT_CLERK)
    assert [c.text for c in calls if c.__api_method__ == "answerCallbackQuery"] == [
        vi("Unmuted: {kind}").format(kind=vi(KIND_TITLES["report_overdue"]))]
    assert await clerk.muted() == set()
    # A forged button for an escalation is refused with an alert.
    calls = await harness.press(harness.last_keyboard_message(), MuteToggle(kind="incident").pack(),
                                user_id=SYT_CLERK)
    refusal = [c for c in calls if c.__api_method__ == "answerCallbackQuery"]
    assert [c.text for c in refusal] == [vi("The personnel office's escalations cannot be muted.")]
    assert await clerk.muted() == set()

    assert sent_texts(await harness.send("/reminders", user_id=4242)) == [  # no account: refused
        vi("You are not allowed to do that.")]


async def test_reminders_is_the_clerks_todo_list(harness: BotHarness) -> None:
    """Eleven days before the 15/12 report, with nothing in the outbox, /reminders lists what is open, most
    urgent first, each item with the button of what it names (issue 18, point 1)."""
    uow, clock = harness.runtime.uow, harness.runtime.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(dt.timedelta(days=156))  # Friday 04/12/2026 09:00
    people = await province(uow, clock)
    late_raise = await add_dossier(uow, clock, "001190000001", "Trần Văn Lương", "SYT",
                                   salary_since=dt.date(2022, 1, 1))  # 01.003: every 3 years, due 01/01/2025
    retiring = await add_dossier(uow, clock, "001160000002", "Phạm Văn Hưu", "SYT", sex="M",
                                 born=dt.date(1965, 9, 15), salary_since=dt.date(2025, 1, 1))
    asked = await TransferService(uow, await load_actor(uow, "telegram", STC_CLERK), clock).request(
        people[HOA], {**LETTER, "doc_date": "03/12/2026"})
    assert await outbox(uow, "report_due") == []  # nothing planned: the list is computed from the data
    vi = harness.runtime.i18n.translator("vi")

    (text,) = sent_texts(await harness.send("/reminders", user_id=SYT_CLERK))
    assert vi("Nothing is waiting for you.") not in text
    lines = [line for line in text.splitlines() if line[:1].isdigit()]
    report = vi("Half-yearly report {period} of {unit}: due before {due_before}; {state}").format(
        period="2026-H2", unit="Sở Y tế", due_before="15/12/2026", state=vi("not begun"))
    raise_line = vi("Regular salary step raise of {name}: due on {due}").format(
        name="<b>Trần Văn Lương</b>", due="01/01/2025") + " — <b>" + vi("OVERDUE") + "</b>"
    transfer = vi("Custody request #{request} of {receiver} for {name} waits for your decision (since {due})").format(
        request=asked.id, receiver="Sở Tài chính", name="<b>Đặng Thị Hoà</b>", due="04/12/2026")
    notice = vi("Retirement notice for {name}: due by {due} (retirement on {retires})")
    kinds = [next(n for n, line in enumerate(lines) if needle in line) for needle in (
        raise_line, transfer, report, notice.split("{")[0] + "<b>Phạm Văn Hưu</b>")]
    # Overdue first, then by date: the raise, the request (since today), the report (14/12), the notice (30/12).
    assert kinds == sorted(kinds)
    # Each item's number opens what it names.
    markup = harness.last_keyboard_message().reply_markup
    assert markup is not None
    openers = {int(b.text): b.callback_data for row in markup.inline_keyboard for b in row if b.text.isdigit()}
    assert openers[kinds[0] + 1] == OpenDossier(id=late_raise).pack()
    assert openers[kinds[3] + 1] == OpenDossier(id=retiring).pack()
    assert openers[kinds[2] + 1] == ReportOpen(unit="SYT", period="2026-H2").pack()
    texts = sent_texts(await harness.press(harness.last_keyboard_message(), openers[kinds[1] + 1], user_id=SYT_CLERK))
    assert any(f"#{asked.id}" in t for t in texts)  # the pending request, with its Approve / Reject
    assert TransferDecide(id=asked.id, approve=True).pack() in [
        b.callback_data for row in harness.last_keyboard_message().reply_markup.inline_keyboard for b in row]
    texts = sent_texts(await harness.press(harness.last_keyboard_message(), openers[kinds[0] + 1], user_id=SYT_CLERK))
    assert any("Trần Văn Lương" in t for t in texts)  # the dossier card

    # The same computation prints for the command line.
    todo = await ReminderService(uow, SYSTEM, clock).todo(dt.date(2026, 12, 4), "syt")
    assert [(t.kind, t.name) for t in todo if t.kind != "finding"] == [
        ("salary_raise", "Trần Văn Lương"), ("transfer", "Đặng Thị Hoà"), ("report", ""),
        ("retirement_notice", "Phạm Văn Hưu")]
    # The clerk of the unit that asked sees no request waiting on them.
    (other,) = sent_texts(await harness.send("/reminders", user_id=STC_CLERK))
    assert f"#{asked.id}" not in other


async def test_broadcast_by_the_admin_goes_out_at_once_even_at_night(harness: BotHarness) -> None:
    uow, clock = harness.runtime.uow, harness.runtime.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(dt.timedelta(hours=13, minutes=30))  # 22:30 in Hà Nội
    await province(uow, clock)
    await sign_in(uow, clock, "hoa.nv", "SYT", "employee", EMPLOYEE, personal_id=HOA)
    vi = harness.runtime.i18n.translator("vi")

    refused = sent_texts(await harness.send("/broadcast Hệ thống tạm dừng", user_id=SYT_CLERK))
    assert refused == [vi("You are not allowed to do that.")]
    assert await outbox(uow, "incident") == []
    empty = sent_texts(await harness.send("/broadcast", user_id=ADMIN))
    assert empty == [esc(vi("Write the notice after the command: /broadcast <text>."))]  # sent as HTML

    texts = sent_texts(await harness.send("/broadcast Hệ thống bảo trì <b>tối nay</b>", user_id=ADMIN))
    assert texts == [vi("The notice goes to {count} accounts.").format(count=4)]
    rows = await outbox(uow, "incident")
    assert sorted(r.chat_id for r in rows) == [ADMIN, SYT_CLERK, STC_CLERK, EMPLOYEE]
    assert {(r.due_at, r.status) for r in rows} == {(clock.now(), "pending")}  # not held for the morning
    bot = FakeBot()
    await OutboxSender(uow, clock, bot, harness.runtime.i18n, rate=1000, per_chat=0.0).drain()  # type: ignore[arg-type]
    assert len(bot.sent) == 4
    assert all("Hệ thống bảo trì &lt;b&gt;tối nay&lt;/b&gt;" in text for _t, _chat, text in bot.sent)
    # An incident cannot be muted, so a recipient who tried still gets the next one.
    with pytest.raises(InvalidInput):
        await MyReminders(uow, await load_actor(uow, "telegram", EMPLOYEE), clock).toggle("incident")


# -- 11. jobs: the outage notice, escalation, one pass ---------------------------------------------------------------

async def test_an_outage_of_working_days_is_reported_to_the_admins(runtime: Runtime) -> None:
    uow, clock = runtime.uow, runtime.clock
    assert isinstance(clock, FrozenClock)
    await province(uow, clock)
    jobs = Jobs(runtime)
    assert await jobs.check_outage() == 0  # never ran before: no heartbeat, nothing to say
    await jobs.beat(clock.now())  # Wednesday 01/07/2026 09:00
    clock.advance(dt.timedelta(days=1))  # restarted on Thursday: not one working day lost
    assert await Jobs(runtime).check_outage() == 0
    await Jobs(runtime).beat(clock.now())
    clock.advance(dt.timedelta(days=4))  # Monday 06/07: Friday, Saturday, Sunday down → 1 working day
    assert await Jobs(runtime).check_outage() == 0
    assert await outbox(uow, "outage") == []

    await Jobs(runtime).beat(clock.now())  # Monday 06/07; restarted three working days later, Thursday 09/07
    clock.advance(dt.timedelta(days=3))
    restarted = Jobs(runtime)
    assert await restarted.check_outage() == 1
    assert await restarted.check_outage() == 0  # the same outage is told once
    (row,) = await outbox(uow, "outage")
    admin = await load_actor(uow, "telegram", ADMIN)
    assert (row.chat_id, row.account_id, row.status, row.due_at) == (ADMIN, admin.account_id, "pending", clock.now())
    assert await MyReminders(uow, admin, clock).upcoming() == [(clock.now(), "outage")]  # /reminders lists it
    assert (row.payload["since"], row.payload["until"], row.payload["days"]) == ("2026-07-06", "2026-07-09", 2)
    profile = await load_active_profile(uow)
    assert profile.outage_notice_working_days == 2

    bot = FakeBot()
    sent = await restarted.run_once(bot)  # type: ignore[arg-type]
    assert sent >= 1
    outage = [text for _t, chat, text in bot.sent if chat == ADMIN and "/broadcast" in text]
    assert len(outage) == 1 and "06/07/2026" in outage[0] and "09/07/2026" in outage[0]
    async with uow.read() as repos:
        heartbeat = await repos.settings.get("heartbeat")
    assert heartbeat == {"at": clock.now().isoformat()}
    assert await restarted.run_once() == 0  # planned a moment ago, nothing new due


async def test_an_outage_notice_waits_out_the_night(runtime: Runtime) -> None:
    uow, clock = runtime.uow, runtime.clock
    assert isinstance(clock, FrozenClock)
    await province(uow, clock)
    await Jobs(runtime).beat(clock.now())  # Wednesday 09:00
    clock.advance(dt.timedelta(days=5, hours=13, minutes=30))  # Monday 06/07 22:30: Thursday and Friday lost
    assert await Jobs(runtime).check_outage() == 1
    (row,) = await outbox(uow, "outage")
    assert local(row.due_at) == dt.datetime(2026, 7, 7, 7, 0) and row.payload["days"] == 2


async def test_jobs_plan_escalates_a_forgotten_custody_request(runtime: Runtime) -> None:
    uow, clock = runtime.uow, runtime.clock
    assert isinstance(clock, FrozenClock)
    people = await province(uow, clock)
    asked = await TransferService(uow, await load_actor(uow, "telegram", STC_CLERK), clock).request(people[HOA], LETTER)
    clock.advance(dt.timedelta(days=8))  # Thursday 09/07, past the 7 days of vn-2026
    jobs = Jobs(runtime)
    assert await jobs.plan() > 0
    assert await jobs.plan() == 0
    (row,) = await outbox(uow, "transfer_escalation")
    admin = await load_actor(uow, "telegram", ADMIN)
    assert (row.chat_id, row.account_id, row.object_id, row.payload["days"]) == (
        ADMIN, admin.account_id, str(asked.id), 7)
    waiting = await outbox(uow, "transfer_pending")
    assert [r.chat_id for r in waiting] == [SYT_CLERK]
    upcoming = await MyReminders(uow, admin, clock).upcoming()
    assert sorted(upcoming) == [(clock.now(), "report_overdue_summary"), (clock.now(), "transfer_escalation")]


# -- 12. the command line ---------------------------------------------------------------------------------------------

HOSO = str(Path(sys.executable).with_name("hoso"))


def hoso(*args: str, cwd: Path, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HOSO_")}
    environment.update(env)
    return subprocess.run([HOSO, *args], cwd=cwd, env=environment, input=stdin, capture_output=True, text=True,
                          timeout=120)


def test_cli_preview_lists_the_report_reminders(tmp_path: Path) -> None:
    env = {"HOSO_DATABASE_URL": sqlite_url(tmp_path)}
    seeded = hoso("demo", "--terminal", "--size", "50", cwd=tmp_path, env=env, stdin=":quit\n")
    assert seeded.returncode == 0, seeded.stderr
    result = hoso("reminders", "preview", "--on", "14/06/2026", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    due = [row for row in data["reminders"] if row["kind"] == "report_due"]
    # The demo's only clerk is at the Department of Education: its report, due before 15/06, one day left.
    assert [(row["chat_id"], row["about"], row["due_on"]) for row in due] == [
        (900_000_002, "Sở Giáo dục và Đào tạo", "2026-06-14")]
    assert due[0]["object"].startswith("unit:") and due[0]["object"].endswith(":2026-H1")
    # The to-do list of the same computation as /reminders: the report of every unit not yet in.
    todo = [item for item in data["todo"] if item["kind"] == "report" and item["unit_name"] == "Sở Giáo dục và Đào tạo"]
    assert [(t["period"], t["due"], t["state"]) for t in todo] == [("2026-H1", "2026-06-14", "new")]
    assert todo[0]["opens"] == f"report:{todo[0]['unit']}:2026-H1"
    overdue = json.loads(hoso("reminders", "preview", "--on", "20/6/2026", "--unit", "sgddt", "--json",
                              cwd=tmp_path, env=env).stdout)
    assert [row["kind"] for row in overdue["reminders"] if row["kind"].startswith("report")] == ["report_overdue"]
    assert [(t["period"], t["state"]) for t in overdue["todo"] if t["kind"] == "report"] == [
        ("2026-H1", "new"), ("2026-H2", "new")]  # the late one first, then the next

    # For people: in Vietnamese, dates dd/mm/yyyy.
    text = hoso("reminders", "preview", "--on", "14/06/2026", "--unit", "sgddt", cwd=tmp_path, env=env)
    assert text.returncode == 0, text.stderr
    assert "Việc cần làm ngày 14/06/2026" in text.stdout and "trước 15/06/2026" in text.stdout
    assert "2026-06-1" not in text.stdout

    bad = hoso("reminders", "preview", "--on", "2026-06-14", cwd=tmp_path, env=env)
    assert bad.returncode != 0
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hoso: on:") and "2026-06-14" in lines[0]


async def test_the_default_profile_when_none_is_installed(uow: UnitOfWork, clock: FrozenClock) -> None:
    assert (await load_active_profile(uow)).name == DEFAULT_PROFILE
    await install_profile(uow, clock, "hau-giang-2016")
    assert (await load_active_profile(uow)).name == "hau-giang-2016"


async def test_one_day_reminders_missed_in_an_outage_are_made_up(uow: UnitOfWork) -> None:
    """Planned on 14/05, then the bot is down until 18/05: the 30-day report reminder of 16/05 still goes."""
    clock = at(2026, 5, 14)
    await province(uow, clock)
    first = await ReminderService(uow, SYSTEM, clock).plan()
    later = at(2026, 5, 18)
    added = await ReminderService(uow, SYSTEM, later).plan()
    async with uow.read() as repos:
        rows = (await repos.session.scalars(select(Outbox).where(Outbox.kind == "report_due"))).all()
    assert first == 0 and added == len(rows) > 0
    assert {row.payload["due_on"] for row in rows} == {"2026-05-16"}
    assert await ReminderService(uow, SYSTEM, later).plan() == 0


async def test_campaign_subaccounts_and_the_blocked_list(uow: UnitOfWork) -> None:
    """The yearly supplementary-resume campaign reaches every clerk on its date; a sub-account request
    waiting two days reaches the admin; the admin's /reminders lists who blocked the bot."""
    from services.accounts.subaccounts import SubAccountService
    from services.reminders.service import set_campaign

    clock = at(2027, 3, 12)
    await province(uow, clock)
    await set_campaign(uow, SYSTEM, clock, dt.date(2024, 3, 15))
    clerk = await load_actor(uow, "telegram", SYT_CLERK)
    await SubAccountService(uow, clerk, clock).request("BV", "nv.bv", "Nguyễn Văn Bệnh", "clerk", "9/CV-SYT 12/03/2027")
    on_the_day = await ReminderService(uow, SYSTEM, at(2027, 3, 15)).preview(dt.date(2027, 3, 15))
    assert sorted(d.chat_id for d in on_the_day if d.kind == "annual_supplement") == [SYT_CLERK, STC_CLERK]
    assert [(d.chat_id, d.payload["username"]) for d in on_the_day if d.kind == "subaccount_pending"] == [
        (ADMIN, "nv.bv")]
    assert not [d for d in await ReminderService(uow, SYSTEM, clock).preview(dt.date(2027, 3, 14))
                if d.kind == "annual_supplement"]
    async with uow.write() as repos:
        await repos.outbox.mark_blocked("telegram", str(SYT_CLERK), clock.now())
    admin = await load_actor(uow, "telegram", ADMIN)
    assert await MyReminders(uow, admin, clock).blocked() == [("lan.syt", "Lan.Syt")]
    assert await MyReminders(uow, clerk, clock).blocked() == []


async def test_a_stop_lets_the_pass_under_way_finish_and_cancels_one_past_its_grace(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass cancelled inside a transaction left a database connection open, whose thread held `hoso web`
    past its stop (a flaky end-to-end test). The loop now ends between passes; only a late pass is cancelled."""
    import asyncio

    started, release, finished = asyncio.Event(), asyncio.Event(), []

    async def one_pass(bot: object = None) -> int:
        started.set()
        await release.wait()
        finished.append(True)
        return 0

    jobs = Jobs(runtime)
    monkeypatch.setattr(jobs, "run_once", one_pass)
    jobs.run_in_background()
    await started.wait()
    stopping = asyncio.create_task(jobs.stop(grace=30))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not stopping.done(), "the stop did not wait for the pass under way"
    release.set()
    await stopping
    assert finished == [True]

    started.clear(), release.clear()
    late = Jobs(runtime)
    monkeypatch.setattr(late, "run_once", one_pass)
    late.run_in_background()
    await started.wait()
    await late.stop(grace=0.01)  # past its grace: cancelled, and the stop returns
    assert finished == [True] and late._task is None
