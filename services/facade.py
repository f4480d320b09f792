"""The per-update entry point to every service, with the actor, unit of work and clock bound."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from services.core.actor import Actor
from services.core.clock import Clock
from services.core.errors import PermissionDenied
from services.core.policy import Action, allows

if TYPE_CHECKING:  # each service is imported when first used: a command or an update loads only its own
    from services.accounts.links import LinkService
    from services.accounts.service import AccountService
    from services.accounts.subaccounts import SubAccountService
    from services.changes.declarations import Declarations
    from services.changes.log import ChangeLog
    from services.changes.new_dossiers import NewDossiers
    from services.custody.merge import UnitMerge
    from services.custody.transfers import TransferService
    from services.documents.report_docx import Translate
    from services.dossiers.history import HistoryService
    from services.dossiers.io.service import DossierIOService
    from services.dossiers.lookup import LookupService
    from services.dossiers.service import DossierService
    from services.oversight.feedback import FeedbackService
    from services.oversight.inspection import InspectionService
    from services.oversight.overview import OverviewService
    from services.oversight.reports import ProvincialReport, ReportService, ReportView
    from services.oversight.statistics import StatisticsService, StatTable
    from services.platform.attachments import FileStore
    from services.platform.audit import AuditService
    from services.platform.calendar import CalendarService
    from services.platform.preferences import PreferenceService
    from services.platform.printouts import PrintoutService
    from services.platform.units import UnitService
    from services.reminders.service import MyReminders
    from storage import UnitOfWork


class Services:
    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock, files_dir: Path | None = None,
                 files_key: bytes | None = None, verify_key: bytes | None = None,
                 verify_url: str | None = None) -> None:
        self.uow, self.actor, self.clock, self.files_dir = uow, actor, clock, files_dir
        self.files_key = files_key  # HOSO_STORAGE_KEY: the papers are sealed at rest
        # The key of the printouts' codes (HOSO_VERIFY_KEY: none, none issued) and the web chat's check page.
        self.verify_key, self.verify_url = verify_key, verify_url

    def allows(self, action: Action) -> bool:
        return allows(self.actor, action)

    def require(self, action: Action) -> None:
        """Refuse up front what the actor's role may not do at all (before asking any question)."""
        if not allows(self.actor, action):
            raise PermissionDenied()

    @cached_property
    def accounts(self) -> AccountService:
        from services.accounts.service import AccountService

        return AccountService(self.uow, self.actor, self.clock)

    @cached_property
    def links(self) -> LinkService:
        from services.accounts.links import LinkService

        return LinkService(self.uow, self.actor, self.clock)

    @cached_property
    def audit(self) -> AuditService:
        from services.platform.audit import AuditService

        return AuditService(self.uow, self.actor, self.clock)

    def _files(self) -> FileStore | None:
        from services.platform.attachments import FileStore

        return FileStore(self.files_dir, self.files_key) if self.files_dir is not None else None

    @cached_property
    def changes(self) -> ChangeLog:
        from services.changes.log import ChangeLog

        return ChangeLog(self.uow, self.actor, self.clock, self._files())

    @cached_property
    def declarations(self) -> Declarations:
        from services.changes.declarations import Declarations

        return Declarations(self.uow, self.actor, self.clock, self._files())

    @cached_property
    def new_dossiers(self) -> NewDossiers:
        from services.changes.new_dossiers import NewDossiers

        return NewDossiers(self.uow, self.actor, self.clock, self._files())

    @cached_property
    def history(self) -> HistoryService:
        from services.dossiers.history import HistoryService

        return HistoryService(self.uow, self.actor, self.clock, self._files())

    @cached_property
    def calendar(self) -> CalendarService:
        from services.platform.calendar import CalendarService

        return CalendarService(self.uow, self.actor, self.clock)

    @cached_property
    def transfers(self) -> TransferService:
        from services.custody.transfers import TransferService

        return TransferService(self.uow, self.actor, self.clock, self._files())

    async def broadcast(self, text: str) -> int:
        from services.reminders.service import broadcast

        return await broadcast(self.uow, self.actor, self.clock, text)

    @cached_property
    def my_reminders(self) -> MyReminders:
        from services.reminders.service import MyReminders

        return MyReminders(self.uow, self.actor, self.clock)

    @cached_property
    def dossiers(self) -> DossierService:
        from services.dossiers.service import DossierService

        return DossierService(self.uow, self.actor, self.clock)

    @cached_property
    def dossier_io(self) -> DossierIOService:
        from services.dossiers.io.service import DossierIOService

        return DossierIOService(self.uow, self.actor, self.clock)

    @cached_property
    def feedback(self) -> FeedbackService:
        from services.oversight.feedback import FeedbackService

        return FeedbackService(self.uow, self.actor, self.clock, self._files())

    @cached_property
    def inspection(self) -> InspectionService:
        from services.oversight.inspection import InspectionService

        return InspectionService(self.uow, self.actor, self.clock)

    @cached_property
    def lookup(self) -> LookupService:
        from services.dossiers.lookup import LookupService

        return LookupService(self.uow, self.actor, self.clock)

    @cached_property
    def overview(self) -> OverviewService:
        from services.oversight.overview import OverviewService

        return OverviewService(self.uow, self.actor, self.clock)

    @cached_property
    def preferences(self) -> PreferenceService:
        from services.platform.preferences import PreferenceService

        return PreferenceService(self.uow, self.actor, self.clock)

    @cached_property
    def reports(self) -> ReportService:
        from services.oversight.reports import ReportService

        return ReportService(self.uow, self.actor, self.clock)

    @cached_property
    def statistics(self) -> StatisticsService:
        from services.oversight.statistics import StatisticsService

        return StatisticsService(self.uow, self.actor, self.clock)

    @cached_property
    def subaccounts(self) -> SubAccountService:
        from services.accounts.subaccounts import SubAccountService

        return SubAccountService(self.uow, self.actor, self.clock)

    @cached_property
    def units(self) -> UnitService:
        from services.platform.units import UnitService

        return UnitService(self.uow, self.actor, self.clock)

    @cached_property
    def unit_merge(self) -> UnitMerge:
        from services.custody.merge import UnitMerge

        return UnitMerge(self.uow, self.actor, self.clock)

    @cached_property
    def printouts(self) -> PrintoutService:
        from services.platform.printouts import PrintoutService

        return PrintoutService(self.uow, self.actor, self.clock, self.verify_key, self.verify_url)

    async def printed_2c(self, dossier_id: int) -> tuple[str, bytes]:
        """The resume form (Mẫu 2C-BNV/2008, or HS02-VC/BNV for viên chức) as a .docx, and its file name."""
        from services.documents.print2c import printed_2c

        return await printed_2c(self.dossiers, self.clock, dossier_id, self.printouts)

    async def unit_report_files(self, view: ReportView, vi: Translate, translate: Translate,
                                title: str) -> tuple[bytes, bytes]:
        """A unit's report (.docx) and its statistics (.xlsx), with their verification code."""
        from services.documents.issued import unit_report_files

        return await unit_report_files(self.printouts, self.clock, view, vi, translate, title)

    async def province_report_files(self, report: ProvincialReport, vi: Translate, translate: Translate,
                                    title: str) -> tuple[bytes, bytes]:
        from services.documents.issued import province_report_files

        return await province_report_files(self.printouts, self.clock, report, vi, translate, title)

    async def statistics_file(self, table: StatTable, unit_code: str | None, translate: Translate,
                              title: str) -> bytes:
        from services.documents.issued import statistics_file

        return await statistics_file(self.printouts, table, unit_code, translate, title)
