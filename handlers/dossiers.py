"""Opening a dossier from a button (the lookup's results link here)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.views import esc
from services.clock import format_date
from services.dossiers import DossierCard
from services.facade import Services
from services.i18n import N_

SEX_LABELS = {"M": N_("Male"), "F": N_("Female")}
EMPLOYMENT_LABELS = {
    "active": N_("working"), "probation": N_("on probation"), "retired": N_("retired"), "resigned": N_("resigned"),
    "deceased": N_("deceased"), "transferred_out": N_("transferred out"),
}


class OpenDossier(CallbackData, prefix="dos"):
    id: int


def render_card(card: DossierCard) -> str:
    lines = [
        f"<b>{esc(card.full_name)}</b>",
        _("Personal ID: {value}").format(value=f"<code>{esc(card.personal_id)}</code>"),
        _("Born: {date} · {sex}").format(date=format_date(card.birth_date), sex=esc(_(SEX_LABELS.get(card.sex, "-")))),
        _("Post: {value}").format(value=esc(card.post or "—")),
        _("Rank code: {value}").format(value=esc(card.rank_code or "—")),
        _("Dossier kept by: {value}").format(value=esc(card.custodian_unit)),
        _("Working at: {value}").format(value=esc(card.working_unit)),
        _("Status: {value}").format(value=esc(_(EMPLOYMENT_LABELS.get(card.employment_status, card.employment_status)))),
    ]
    return "\n".join(lines)


async def open_dossier(query: CallbackQuery, callback_data: OpenDossier, services: Services) -> None:
    card = await services.dossiers.card(callback_data.id)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(render_card(card))


def build_router() -> Router:
    router = Router(name="dossiers")
    router.callback_query.register(open_dossier, OpenDossier.filter())
    return router
