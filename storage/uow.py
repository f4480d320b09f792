"""Unit of work: one business transaction over the repositories (cosmicpython, chapter 6)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import AuditRepository
from storage.changes import ChangeRepository
from storage.database import Database
from storage.feedback import FeedbackRepository
from storage.inspection import InspectionRepository
from storage.links import LinkRepository
from storage.outbox import OutboxRepository, ReminderSourceRepository
from storage.printouts import PrintoutRepository
from storage.reports import ReportRepository
from storage.repositories import (
    AccountRepository,
    DossierRepository,
    FsmRepository,
    IdentityRepository,
    PreferenceRepository,
    ReferenceRepository,
    SettingRepository,
    SubAccountRepository,
    UnitRepository,
)
from storage.search import DossierSearch
from storage.statistics import StatisticsRepository
from storage.transfers import TransferRepository
from storage.web_sessions import WebSessionRepository


class Repositories:
    """The repositories of one open transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.settings = SettingRepository(session)
        self.units = UnitRepository(session)
        self.accounts = AccountRepository(session)
        self.identities = IdentityRepository(session)
        self.preferences = PreferenceRepository(session)
        self.dossiers = DossierRepository(session)
        self.fsm = FsmRepository(session)
        self.audit = AuditRepository(session)
        self.subaccounts = SubAccountRepository(session)
        self.search = DossierSearch(session)
        self.references = ReferenceRepository(session)
        self.changes = ChangeRepository(session)
        self.transfers = TransferRepository(session)
        self.outbox = OutboxRepository(session)
        self.reminder_sources = ReminderSourceRepository(session)
        self.statistics = StatisticsRepository(session)
        self.reports = ReportRepository(session)
        self.inspection = InspectionRepository(session)
        self.feedback = FeedbackRepository(session)
        self.web_sessions = WebSessionRepository(session)
        self.links = LinkRepository(session)
        self.printouts = PrintoutRepository(session)

    async def flush(self) -> None:
        await self.session.flush()


class UnitOfWork:
    """Opens short transactions on demand.

    A service wraps each use case in `async with uow.write() as repos:` (committed when the block ends
    cleanly, rolled back on any exception) or `uow.read()`. Transactions stay short on purpose: the
    SQLite write lock is never held across a Telegram round trip or a user's think time.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Repositories]:
        async with self.database.session(write=True) as session:
            repos = Repositories(session)
            yield repos
            await repos.audit.settle()  # the chain's lock from here to the commit only (storage/audit.py)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Repositories]:
        async with self.database.session(write=False) as session:
            yield Repositories(session)
