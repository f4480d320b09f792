"""Custody transfers through the service: request, approve, reject, withdraw, one pending request per
dossier, the race of two approvals on SQLite and PostgreSQL, escalation, and the unit merge."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from services.changes.log import ChangeLog
from services.core.actor import Actor
from services.core.clock import FrozenClock
from services.core.errors import InvalidInput, PermissionDenied
from services.core.identity import load_actor
from services.custody.merge import UnitMerge
from services.custody.transfers import TransferService
from services.dossiers.history import HistoryService
from services.dossiers.service import DossierService
from services.regime.reference import install_reference_lists
from services.regime.setup import install_profile
from storage import Database, UnitOfWork
from storage.models import ChangeEvent, Dossier, DossierVersion, Outbox, TransferRequest
from tests.conftest import outbox_rows
from tests.test_accounts import SYSTEM, audit_actions, sign_in, tree
from tests.test_lookup import add_people

LETTER = {"receiving_unit": "STC", "doc_number": "56/CV-STC", "doc_date": "25/06/2026",
          "doc_issuer": "Nguyễn Văn Tài, Giám đốc"}
HOA = "001188000111"  # held by SYT


async def province(uow: UnitOfWork, clock: FrozenClock) -> dict[str, int]:
    await tree(uow, clock)
    await install_reference_lists(uow)
    await install_profile(uow, clock, "vn-2026")
    return await add_people(uow, clock)


@pytest.fixture
async def people(uow: UnitOfWork, clock: FrozenClock) -> dict[str, int]:
    return await province(uow, clock)


@pytest.fixture
async def clerks(uow: UnitOfWork, clock: FrozenClock, people: dict[str, int]) -> tuple[Actor, Actor]:
    holding = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    receiving = await sign_in(uow, clock, "yen.stc", "STC", "clerk", 502)
    return holding, receiving


def transfers(uow: UnitOfWork, actor: Actor, clock: FrozenClock) -> TransferService:
    return TransferService(uow, actor, clock)


async def custodian(uow: UnitOfWork, dossier_id: int) -> str:
    async with uow.read() as repos:
        found = await repos.dossiers.with_units(dossier_id)
    assert found is not None
    return found[1].code


async def test_request_and_approval_move_custody_and_access(uow: UnitOfWork, clock: FrozenClock,
                                                            clerks: tuple[Actor, Actor], people: dict[str, int]) -> None:
    holding, receiving = clerks
    hoa = people[HOA]
    # She was moved to work at STC (a change of working unit); STC now asks for her dossier.
    await ChangeLog(uow, holding, clock).log("transfer", hoa, {
        "working_unit": "STC", "doc_number": "12/QĐ-UBND", "doc_date": "20/06/2026", "doc_issuer": "UBND",
        "effective_on": "22/06/2026"})
    found = await transfers(uow, receiving, clock).candidates("dang hoa")
    assert [(c.full_name, c.birth_year, c.holding_unit) for c in found.candidates] == [("Đặng Thị Hoà", 1988, "Sở Y tế")]
    with pytest.raises(PermissionDenied):  # the receiving clerk reads it (working unit) but cannot write it
        await ChangeLog(uow, receiving, clock).target(hoa)
    asked = await transfers(uow, receiving, clock).request(hoa, LETTER)
    assert asked.status == "pending"
    # The holding unit's clerk is asked to decide it: a notice written with the request, due at once.
    [notice] = await outbox_rows(uow)
    assert (notice.kind, notice.account_id, notice.channel, notice.address, notice.object_type, notice.object_id,
            notice.due_at) == ("transfer_requested", holding.account_id, "telegram", "501", "transfer", str(asked.id),
                               clock.now())
    assert (notice.payload["holder"], notice.payload["receiver"], notice.payload["letter"], notice.payload["date"],
            notice.payload["dossier_id"]) == ("Sở Y tế", "Sở Tài chính", "56/CV-STC", "2026-06-25", hoa)
    assert [v.id for v in await transfers(uow, holding, clock).pending()] == [asked.id]
    assert (await transfers(uow, holding, clock).pending())[0].incoming
    assert (await transfers(uow, receiving, clock).pending())[0].outgoing

    approved = await transfers(uow, holding, clock).approve(asked.id)
    assert approved.status == "approved"
    [told] = await outbox_rows(uow, "transfer_decided")  # the requester is told
    assert (told.account_id, told.address, told.object_id, told.payload["status"], told.payload["unit"]) == (
        receiving.account_id, "502", str(asked.id), "approved", "Sở Tài chính")
    assert await custodian(uow, hoa) == "STC"
    assert (await DossierService(uow, receiving, clock).card(hoa)).custodian_unit == "Sở Tài chính"
    with pytest.raises(PermissionDenied):  # the old unit loses read access: it is not the working unit
        await DossierService(uow, holding, clock).card(hoa)
    history = await HistoryService(uow, receiving, clock).history(hoa)
    custody = [e for e in history.entries if e.kind == "custody"]
    assert [(e.status, e.payload["from_unit"], e.payload["to_unit"], e.doc_number) for e in custody] == [
        ("applied", "SYT", "STC", "56/CV-STC")]
    async with uow.read() as repos:
        versions = (await repos.session.scalars(select(DossierVersion).where(DossierVersion.dossier_id == hoa))).all()
    assert [v.snapshot["custodian_unit_id"] for v in versions][-1] != versions[0].snapshot["custodian_unit_id"]
    actions = await audit_actions(uow)
    assert "transfer.request" in actions and "transfer.approve" in actions


async def test_the_old_unit_keeps_reading_while_it_is_the_working_unit(
    uow: UnitOfWork, clock: FrozenClock, clerks: tuple[Actor, Actor], people: dict[str, int]
) -> None:
    holding, receiving = clerks
    asked = await transfers(uow, receiving, clock).request(people[HOA], LETTER)
    await transfers(uow, holding, clock).approve(asked.id)
    card = await DossierService(uow, holding, clock).card(people[HOA])  # SYT is still where she works
    assert card.working_unit == "Sở Y tế"
    with pytest.raises(PermissionDenied):  # but it no longer writes
        await ChangeLog(uow, holding, clock).target(people[HOA])


async def test_reject_needs_a_reason_and_withdraw_ends_a_request(uow: UnitOfWork, clock: FrozenClock,
                                                                 clerks: tuple[Actor, Actor],
                                                                 people: dict[str, int]) -> None:
    holding, receiving = clerks
    first = await transfers(uow, receiving, clock).request(people[HOA], LETTER)
    with pytest.raises(InvalidInput) as no_reason:
        await transfers(uow, holding, clock).reject(first.id, " ")
    assert no_reason.value.field == "reason"
    rejected = await transfers(uow, holding, clock).reject(first.id, "Chưa có quyết định điều động")
    assert (rejected.status, rejected.reason) == ("rejected", "Chưa có quyết định điều động")
    [told] = await outbox_rows(uow, "transfer_decided")
    assert (told.address, told.payload["status"], told.payload["reason"]) == (
        "502", "rejected", "Chưa có quyết định điều động")
    assert await custodian(uow, people[HOA]) == "SYT"

    second = await transfers(uow, receiving, clock).request(people[HOA], LETTER)  # a rejected one is not pending
    with pytest.raises(PermissionDenied):  # the holding side cannot withdraw the receiving side's request
        await transfers(uow, holding, clock).withdraw(second.id)
    withdrawn = await transfers(uow, receiving, clock).withdraw(second.id)
    assert withdrawn.status == "withdrawn" and await transfers(uow, holding, clock).pending() == []
    told = (await outbox_rows(uow, "transfer_decided"))[-1]  # the holding unit's clerk is told
    assert (told.address, told.object_id, told.payload["status"]) == ("501", str(second.id), "withdrawn")
    with pytest.raises(InvalidInput):
        await transfers(uow, holding, clock).approve(second.id)  # too late: it was withdrawn


async def test_rules_one_pending_request_no_self_request_no_manager(uow: UnitOfWork, clock: FrozenClock,
                                                                     clerks: tuple[Actor, Actor],
                                                                     people: dict[str, int]) -> None:
    holding, receiving = clerks
    first = await transfers(uow, receiving, clock).request(people[HOA], LETTER)
    other_clerk = await sign_in(uow, clock, "binh.stc", "STC", "clerk", 503)
    with pytest.raises(InvalidInput) as second:
        await transfers(uow, other_clerk, clock).request(people[HOA], LETTER)
    assert second.value.params["number"] == first.id  # a pointer to the first request
    with pytest.raises(InvalidInput) as own:
        await transfers(uow, holding, clock).request(people["092185000444"], {**LETTER, "receiving_unit": "SYT"})
    assert own.value.field == "dossier"
    with pytest.raises(InvalidInput) as outside:
        await transfers(uow, receiving, clock).request(people["092185000444"], {**LETTER, "receiving_unit": "SYT"})
    assert outside.value.field == "receiving_unit"
    manager = await sign_in(uow, clock, "minh.stc", "STC", "manager", 504)
    with pytest.raises(PermissionDenied):
        await transfers(uow, manager, clock).request(people["092185000444"], LETTER)
    with pytest.raises(PermissionDenied):
        await transfers(uow, manager, clock).candidates("tran duc anh")
    with pytest.raises(PermissionDenied):  # only the holding unit (or the admin) approves
        await transfers(uow, receiving, clock).approve(first.id)


async def test_escalation_after_the_profiles_limit(uow: UnitOfWork, clock: FrozenClock, clerks: tuple[Actor, Actor],
                                                   people: dict[str, int]) -> None:
    _holding, receiving = clerks
    await sign_in(uow, clock, "snv.admin", "SNV", "admin", 509)
    asked = await transfers(uow, receiving, clock).request(people[HOA], LETTER)
    clock.advance(dt.timedelta(days=6, hours=23))
    assert await transfers(uow, SYSTEM, clock).escalate_overdue() == []
    clock.advance(dt.timedelta(hours=2))  # now more than 7 days
    escalated = await transfers(uow, SYSTEM, clock).escalate_overdue()
    assert [v.id for v in escalated] == [asked.id]
    async with uow.read() as repos:  # the admin's notice is in the outbox, written with the mark
        notices = (await repos.session.scalars(select(Outbox).where(Outbox.kind == "transfer_escalation"))).all()
    assert [(n.chat_id, n.object_id, n.payload["letter"]) for n in notices] == [(509, str(asked.id), "56/CV-STC")]
    assert await transfers(uow, SYSTEM, clock).escalate_overdue() == []  # once only
    admin = await load_actor(uow, "telegram", 509)
    async with uow.write() as repos:  # the admin signs in again after the week (a fresh session)
        (await repos.accounts.get(admin.account_id)).last_active_at = clock.now()
    assert (await transfers(uow, admin, clock).pending())[0].escalated
    approved = await transfers(uow, admin, clock).approve(asked.id)  # the admin can decide it
    assert approved.status == "approved"


async def test_two_approvals_racing_apply_once(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    people = await province(uow, clock)
    first_approver = await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)
    second_approver = await sign_in(uow, clock, "hai.syt", "SYT", "clerk", 505)
    receiving = await sign_in(uow, clock, "yen.stc", "STC", "clerk", 502)
    asked = await transfers(uow, receiving, clock).request(people[HOA], LETTER)
    outcomes = await asyncio.gather(
        transfers(uow, first_approver, clock).approve(asked.id),
        transfers(uow, second_approver, clock).approve(asked.id),
        return_exceptions=True,
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["InvalidInput", "TransferView"]
    async with uow.read() as repos:
        applied = (await repos.session.scalars(select(ChangeEvent).where(
            ChangeEvent.kind == "custody", ChangeEvent.status == "applied"))).all()
        versions = (await repos.session.scalars(select(DossierVersion).where(
            DossierVersion.change_event_id == applied[0].id))).all()
    assert len(applied) == 1 and len(versions) == 1


async def test_two_requests_racing_leave_one_pending(any_database: Database, clock: FrozenClock) -> None:
    uow = UnitOfWork(any_database)
    people = await province(uow, clock)
    await sign_in(uow, clock, "lan.syt", "SYT", "clerk", 501)  # the holding clerk, asked to decide
    one = await sign_in(uow, clock, "yen.stc", "STC", "clerk", 502)
    two = await sign_in(uow, clock, "binh.stc", "STC", "clerk", 503)
    outcomes = await asyncio.gather(transfers(uow, one, clock).request(people[HOA], LETTER),
                                    transfers(uow, two, clock).request(people[HOA], LETTER), return_exceptions=True)
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["InvalidInput", "TransferView"]
    async with uow.read() as repos:
        [request] = (await repos.session.scalars(select(TransferRequest))).all()
    # the holding clerk is asked once: the refused request's notice went with its transaction
    assert [n.object_id for n in await outbox_rows(uow, "transfer_requested")] == [str(request.id)]


async def test_a_unit_merge_moves_custody_with_one_event_per_dossier(uow: UnitOfWork, clock: FrozenClock,
                                                                     people: dict[str, int]) -> None:
    result = await UnitMerge(uow, SYSTEM, clock).merge("BV", "SYT")
    assert result.dossiers == 4
    async with uow.read() as repos:
        events = (await repos.session.scalars(select(ChangeEvent).where(ChangeEvent.kind == "custody"))).all()
        moved = (await repos.session.scalars(select(Dossier).where(Dossier.id.in_([e.dossier_id for e in events])))).all()
    assert len(events) == 4 and {(e.payload["from_unit"], e.payload["to_unit"], e.status) for e in events} == {
        ("BV", "SYT", "applied")}
    syt = {d.custodian_unit_id for d in moved}
    assert len(syt) == 1 and await custodian(uow, moved[0].id) == "SYT"


async def test_a_merge_carries_pending_requests_over(uow: UnitOfWork, clock: FrozenClock,
                                                     clerks: tuple[Actor, Actor], people: dict[str, int]) -> None:
    """The holding unit is merged while a request waits: it can still be decided, by the new unit."""
    _holding, receiving = clerks
    asked = await transfers(uow, receiving, clock).request(people[HOA], LETTER)
    await UnitMerge(uow, SYSTEM, clock).merge("SYT", "SNV")
    snv_clerk = await sign_in(uow, clock, "mai.snv", "SNV", "clerk", 506)
    [pending] = await transfers(uow, snv_clerk, clock).pending()
    assert (pending.id, pending.holding_unit, pending.incoming) == (asked.id, "Sở Nội vụ", True)
    approved = await transfers(uow, snv_clerk, clock).approve(asked.id)
    assert approved.status == "approved" and await custodian(uow, people[HOA]) == "STC"
