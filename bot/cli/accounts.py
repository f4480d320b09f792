"""`hoso account ...`: issue, list, restrict, restore, revoke, unlock, extend, reset, link-code and unlink (Zalo),
and the units' requests for sub-accounts (requests, approve, reject)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import JsonOption, _, admin_call, emit, emit_rows
from services.core.actor import ROLE_LABELS, STATUS_LABELS, AccountStatus, Role
from services.core.clock import DEFAULT_TIMEZONE, SystemClock, format_local_datetime
from services.core.i18n import N_

if TYPE_CHECKING:
    from services.accounts.links import IssuedLink
    from services.accounts.service import AccountView, IssuedCode

app = typer.Typer(help=_(N_("Accounts: issue, list, restrict, extend, revoke, unlock, reset, link Zalo.")),
                  no_args_is_help=True)

RequestOption = Annotated[str | None, typer.Option("--request", help=_(N_("The written request (number and date).")))]
ChannelOption = Annotated[str, typer.Option("--channel", help=_(N_("The channel linked with a code: zalo.")))]


def account_json(account: AccountView) -> dict[str, Any]:
    return {"username": account.username, "name": account.full_name, "role": account.role,
            "status": account.status, "unit": account.unit_code, "bound": account.bound,
            "channels": list(account.channels), "extra_units": list(account.extra_units)}


def local_time(value: dt.datetime) -> str:
    """A moment as the operator reads it: dd/mm/yyyy HH:MM in the deployment's time zone."""
    return format_local_datetime(value, SystemClock(os.environ.get("HOSO_TIMEZONE", DEFAULT_TIMEZONE)))


def emit_code(as_json: bool, issued: IssuedCode) -> None:
    emit(as_json, issued.as_dict(), _(N_(
        "Account {username}: activation code {code}, valid until {until}. Hand it over in person or by official letter."
    )).format(username=issued.username, code=issued.activation_code, until=local_time(issued.expires_at)))


def emit_status(as_json: bool, method: str, username: str, request: str | None) -> None:
    """Change an account's status with the account service's `method`, and say the new status."""
    account = admin_call(lambda services: getattr(services.accounts, method)(username, request))
    emit(as_json, account_json(account), _(N_("Account {username} is now {status}.")).format(
        username=account.username, status=status_name(account.status)))


@app.command("add", help=_(N_("Issue an account; prints its one-time activation code.")))
def account_add(
    username: str,
    unit: Annotated[str, typer.Option(help=_(N_("Code of the account's unit.")))],
    role: Annotated[str, typer.Option(help=_(N_("admin, clerk, manager, auditor or employee.")))],
    name: Annotated[str, typer.Option(help=_(N_("The person's full name.")))],
    request: Annotated[str, typer.Option(help=_(N_("The written request (number and date).")))],
    personal_id: Annotated[str | None, typer.Option(
        help=_(N_("For an employee: the personal ID of their own dossier.")))] = None,
    as_json: JsonOption = False,
) -> None:
    issued = admin_call(lambda services: services.accounts.issue(
        username, unit, role, name, request, personal_id=personal_id))
    emit_code(as_json, issued)


@app.command("list", help=_(N_("List the accounts, of one unit's subtree or of all.")))
def account_list(
    unit: Annotated[str | None, typer.Option(help=_(N_("Only this unit and its subunits.")))] = None,
    as_json: JsonOption = False,
) -> None:
    emit_rows(as_json, admin_call(lambda services: services.accounts.listing(unit)),
              lambda a: f"{a.username}  {role_name(a.role)}  {status_name(a.status)}  {a.unit_code}  {a.full_name}",
              to_json=account_json)  # the JSON keeps the codes, for scripts


def role_name(role: str) -> str:
    return _(ROLE_LABELS[Role(role)]) if role in Role.__members__.values() else role


def status_name(status: str) -> str:
    return _(STATUS_LABELS[AccountStatus(status)]) if status in AccountStatus.__members__.values() else status


@app.command("restrict", help=_(N_("Make an account read-only.")))
def account_restrict(username: str, request: RequestOption = None, as_json: JsonOption = False) -> None:
    emit_status(as_json, "restrict", username, request)


@app.command("restore", help=_(N_("Give a restricted account its rights back.")))
def account_restore(username: str, request: RequestOption = None, as_json: JsonOption = False) -> None:
    emit_status(as_json, "restore", username, request)


@app.command("revoke", help=_(N_("Revoke an account for good.")))
def account_revoke(username: str, request: RequestOption = None, as_json: JsonOption = False) -> None:
    emit_status(as_json, "revoke", username, request)


@app.command("unlock", help=_(N_("Unlock an account locked after wrong passwords.")))
def account_unlock(username: str, request: RequestOption = None, as_json: JsonOption = False) -> None:
    emit_status(as_json, "unlock", username, request)


@app.command("extend", help=_(N_("Widen an account's scope to another unit's subtree.")))
def account_extend(
    username: str,
    unit: Annotated[str, typer.Option(help=_(N_("Code of the unit added to the scope.")))],
    request: RequestOption = None,
    as_json: JsonOption = False,
) -> None:
    account = admin_call(lambda services: services.accounts.extend(username, unit, request))
    emit(as_json, account_json(account), _(N_("Account {username} now also reaches {unit}.")).format(
        username=account.username, unit=unit.upper()))


@app.command("reset", help=_(N_(
    "A lost password: issue a new activation code (a written request is required).")))
def account_reset(
    username: str,
    request: Annotated[str, typer.Option(help=_(N_("The written request (number and date).")))],
    as_json: JsonOption = False,
) -> None:
    emit_code(as_json, admin_call(lambda services: services.accounts.reset(username, request)))


@app.command("requests", help=_(N_("Pending requests of units for sub-accounts.")))
def account_requests(as_json: JsonOption = False) -> None:
    emit_rows(as_json, admin_call(lambda services: services.subaccounts.pending()),
              lambda r: f"#{r.id}  {r.unit_code}  {r.username}  {r.role}  {r.full_name}  ({r.request_ref})",
              to_json=asdict)


@app.command("approve", help=_(N_("Approve a sub-account request, citing the written agreement.")))
def account_approve(
    request_id: int,
    agreement: Annotated[str, typer.Option(help=_(N_("The written agreement (number and date).")))],
    as_json: JsonOption = False,
) -> None:
    emit_code(as_json, admin_call(lambda services: services.subaccounts.approve(request_id, agreement)))


@app.command("reject", help=_(N_("Reject a sub-account request, with a reason.")))
def account_reject(
    request_id: int,
    reason: Annotated[str, typer.Option(help=_(N_("Why it is rejected.")))],
    as_json: JsonOption = False,
) -> None:
    request = admin_call(lambda services: services.subaccounts.reject(request_id, reason))
    emit(as_json, asdict(request), _(N_("Request #{number} rejected.")).format(number=request.id))


@app.command("link-code", help=_(N_(
    "Issue a one-time code (15 minutes) that links an active account on Zalo when its holder sends it there.")))
def account_link_code(username: str, channel: ChannelOption, as_json: JsonOption = False) -> None:
    issued: IssuedLink = admin_call(lambda services: services.links.issue(username, channel))
    emit(as_json, issued.as_dict(), _(N_(
        "Account {username}: link code {code} for {channel}, valid once until {until}. Its holder sends it to the "
        "HoSo bot there.")).format(username=issued.username, code=issued.code, channel=issued.channel,
                                   until=local_time(issued.expires_at)))


@app.command("unlink", help=_(N_("Unlink an account on a channel linked with a code (zalo).")))
def account_unlink(username: str, channel: ChannelOption, as_json: JsonOption = False) -> None:
    admin_call(lambda services: services.links.unlink(username, channel))
    emit(as_json, {"username": username.strip().lower(), "channel": channel, "unlinked": True},
         _(N_("Account {username} is unlinked on {channel}.")).format(username=username.strip().lower(),
                                                                     channel=channel))
