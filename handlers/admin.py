"""/admin for the personnel office: the unit tree, accounts and sub-account requests; /subaccount
for a unit asking accounts for its subordinate units. Every action is a guided form over the same
services the `hoso` CLI uses."""

from __future__ import annotations

from dataclasses import asdict

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.forms import FORMS, Field, Form, register, start_form
from handlers.views import clip, esc, role_label, status_label
from services.accounts.service import AccountView, IssuedCode
from services.core.actor import Role
from services.core.clock import format_local_datetime
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.core.policy import Action
from services.facade import Services

ROLE_CHOICES = (
    ("clerk", N_("Dossier clerk")), ("manager", N_("Manager (read only)")), ("auditor", N_("Auditor")),
    ("admin", N_("Administrator (personnel office)")), ("employee", N_("Employee")),
)
SUB_ROLE_CHOICES = ROLE_CHOICES[:2]

CODE = Field("code", N_("Unit code (e.g. SYT):"))
USERNAME = Field("username", N_("Username of the account:"))
REQUEST = Field("request", N_("Written request (number and date, e.g. 123/CV-SYT 01/07/2026):"))
OPTIONAL_REQUEST = Field("request", N_("Written request (number and date):"), optional=True)


def issued_text(services: Services, issued: IssuedCode) -> str:
    return _(
        "Account <b>{username}</b> issued. Activation code: <code>{code}</code>, valid until {until}.\n"
        "Hand it over in person or by official letter; the holder sends /start followed by the code."
    ).format(username=esc(issued.username), code=esc(issued.activation_code),
             until=format_local_datetime(issued.expires_at, services.clock))


def account_text(view: AccountView) -> str:
    return _("Account <b>{username}</b> is now {status}.").format(username=esc(view.username),
                                                                   status=esc(status_label(view.status)))


async def _levels(s: Services) -> list[tuple[str, str]]:
    """The regime's level names, as buttons."""
    levels, _reporting = await s.units.levels()
    return [(name, name) for name in levels]


async def _unit_add(s: Services, a: dict[str, str]) -> str:
    unit = await s.units.add(a["code"], a["name"], a["parent"] or None, a["level"] or None)
    return _("Unit <b>{code}</b> added.").format(code=esc(unit.code))


async def _unit_rename(s: Services, a: dict[str, str]) -> str:
    unit = await s.units.rename(a["code"], a["name"])
    return _("Unit {code} is now named {name}.").format(code=esc(unit.code), name=esc(unit.name))


async def _unit_move(s: Services, a: dict[str, str]) -> str:
    unit = await s.units.move(a["code"], a["parent"])
    return _("Unit {code} now belongs to {parent}.").format(code=esc(unit.code), parent=esc(unit.parent_code))


async def _unit_merge(s: Services, a: dict[str, str]) -> str:
    result = await s.unit_merge.merge(a["old"], a["into"])
    return esc(_(
        "Unit {old} merged into {into}: {dossiers} dossiers, {accounts} accounts, {units} units, {requests} requests moved."
    ).format(**asdict(result)))


async def _account_add(s: Services, a: dict[str, str]) -> str:
    return issued_text(s, await s.accounts.issue(a["username"], a["unit"], a["role"], a["name"], a["request"]))


async def _account_reset(s: Services, a: dict[str, str]) -> str:
    return issued_text(s, await s.accounts.reset(a["username"], a["request"]))


async def _account_extend(s: Services, a: dict[str, str]) -> str:
    await s.accounts.extend(a["username"], a["unit"], a["request"] or None)
    return _("Account {username} now also reaches {unit}.").format(username=esc(a["username"]), unit=esc(a["unit"].upper()))


def _status_form(name: str, title: str, method: str) -> Form:
    async def submit(s: Services, a: dict[str, str]) -> str:
        return account_text(await getattr(s.accounts, method)(a["username"], a["request"] or None))

    return register(Form(name, title, (USERNAME, OPTIONAL_REQUEST), submit, action=Action.MANAGE_ACCOUNTS))


async def _approve(s: Services, a: dict[str, str]) -> str:
    return issued_text(s, await s.subaccounts.approve(_number(a["request_id"]), a["agreement"]))


async def _reject(s: Services, a: dict[str, str]) -> str:
    request = await s.subaccounts.reject(_number(a["request_id"]), a["reason"])
    return _("Request #{number} rejected.").format(number=request.id)


async def _subaccount_request(s: Services, a: dict[str, str]) -> str:
    request = await s.subaccounts.request(a["unit"], a["username"], a["name"], a["role"], a["request"])
    return _("Request #{number} sent to the personnel office: {username} for {unit}.").format(
        number=request.id, username=esc(request.username), unit=esc(request.unit_name))


def _number(text: str) -> int:
    digits = text.strip().lstrip("#")
    if not digits.isdigit():
        raise InvalidInput("request_id", N_("Send the request number, e.g. 12."))
    return int(digits)


ADMIN_FORMS = (
    register(Form("unit_add", N_("Add a unit"), (
        CODE, Field("name", N_("Full name of the unit:")),
        Field("parent", N_("Code of the parent unit:"), optional=True),
        Field("level", N_("Level (a button, or empty for the level of its place in the tree):"), optional=True,
              options=_levels, free=True)), _unit_add, action=Action.MANAGE_UNITS)),
    register(Form("unit_rename", N_("Rename a unit"), (CODE, Field("name", N_("New name:"))), _unit_rename, action=Action.MANAGE_UNITS)),
    register(Form("unit_move", N_("Move a unit"), (CODE, Field("parent", N_("Code of the new parent unit:"))), _unit_move, action=Action.MANAGE_UNITS)),
    register(Form("unit_merge", N_("Merge units"), (
        Field("old", N_("Code of the unit that is merged away:")),
        Field("into", N_("Code of the unit it is merged into:"))), _unit_merge, action=Action.MANAGE_UNITS)),
    register(Form("account_add", N_("Issue an account"), (
        USERNAME, Field("unit", N_("Code of the account's unit:")),
        Field("role", N_("Role:"), choices=ROLE_CHOICES), Field("name", N_("The person's full name:")), REQUEST),
        _account_add, action=Action.MANAGE_ACCOUNTS)),
    _status_form("account_restrict", N_("Restrict an account (read only)"), "restrict"),
    _status_form("account_restore", N_("Restore a restricted account"), "restore"),
    _status_form("account_unlock", N_("Unlock an account"), "unlock"),
    _status_form("account_revoke", N_("Revoke an account"), "revoke"),
    register(Form("account_extend", N_("Widen an account's scope"), (
        USERNAME, Field("unit", N_("Code of the unit to add to the scope:")), OPTIONAL_REQUEST), _account_extend, action=Action.MANAGE_ACCOUNTS)),
    register(Form("account_reset", N_("Reset a lost password"), (USERNAME, REQUEST), _account_reset, action=Action.MANAGE_ACCOUNTS)),
    register(Form("subaccount_approve", N_("Approve a sub-account request"), (
        Field("request_id", N_("Request number:")),
        Field("agreement", N_("Written agreement (number and date):"))), _approve, action=Action.MANAGE_ACCOUNTS)),
    register(Form("subaccount_reject", N_("Reject a sub-account request"), (
        Field("request_id", N_("Request number:")), Field("reason", N_("Reason:"))), _reject, action=Action.MANAGE_ACCOUNTS)),
)
SUBACCOUNT_FORM = register(Form("subaccount_request", N_("Ask for a sub-account"), (
    Field("unit", N_("Code of your subordinate unit:")), USERNAME, Field("name", N_("The person's full name:")),
    Field("role", N_("Role:"), choices=SUB_ROLE_CHOICES), REQUEST), _subaccount_request, action=Action.REQUEST_SUBACCOUNT))

VIEWS = (("units", N_("Unit tree")), ("accounts", N_("Accounts")), ("requests", N_("Sub-account requests")))


class AdminMenu(CallbackData, prefix="adm"):
    item: str


def admin_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for item, label in VIEWS:
        builder.button(text=_(label), callback_data=AdminMenu(item=item))
    for form in ADMIN_FORMS:
        builder.button(text=_(form.title), callback_data=AdminMenu(item=form.name))
    builder.adjust(3, 2)
    return builder.as_markup()


async def admin(message: Message, services: Services) -> None:
    services.require(Action.MANAGE_ACCOUNTS)
    await message.answer(_("<b>Administration</b>: choose what to see or do."), reply_markup=admin_keyboard())


async def _render_view(item: str, services: Services) -> str:
    if item == "units":
        units = await services.units.list()
        lines = [_("<b>Unit tree</b>")]
        for unit in units:
            merged = _(" (merged into {code})").format(code=esc(unit.merged_into_code)) if unit.merged_into_code else ""
            lines.append(f"{'  ' * unit.depth}• <code>{esc(unit.code)}</code> {esc(unit.name)}{merged}")
        return clip("\n".join(lines))
    if item == "accounts":
        accounts = await services.accounts.listing()
        lines = [_("<b>Accounts</b>")] + [
            f"• <code>{esc(a.username)}</code> {esc(a.full_name)} — {esc(role_label(Role(a.role)))}, "
            f"{esc(status_label(a.status))}, {esc(a.unit_code)}"
            for a in accounts
        ]
        return clip("\n".join(lines))
    pending = await services.subaccounts.pending()
    if not pending:
        return _("No sub-account request is waiting.")
    lines = [_("<b>Sub-account requests</b>")] + [
        f"#{r.id} <code>{esc(r.username)}</code> {esc(r.full_name)} — {esc(r.role)}, {esc(r.unit_name)} ({esc(r.request_ref)})"
        for r in pending
    ]
    return clip("\n".join(lines))


async def admin_choice(query: CallbackQuery, callback_data: AdminMenu, state: FSMContext, services: Services) -> None:
    if not isinstance(query.message, Message):
        return
    form = FORMS.get(callback_data.item)
    if form is not None and form in ADMIN_FORMS:
        services.require(Action.MANAGE_ACCOUNTS)  # the actor is re-read on every press
        await start_form(query.message, state, form, services)
        return
    await query.message.answer(await _render_view(callback_data.item, services))


async def subaccount(message: Message, state: FSMContext, services: Services) -> None:
    services.require(Action.REQUEST_SUBACCOUNT)
    await start_form(message, state, SUBACCOUNT_FORM, services)


def build_router() -> Router:
    router = Router(name="admin")
    router.message.register(admin, Command("admin"))
    router.message.register(subaccount, Command("subaccount"))
    router.callback_query.register(admin_choice, AdminMenu.filter())
    return router
