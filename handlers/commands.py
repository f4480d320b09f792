"""The bot's commands, as shown in Telegram's menu (setMyCommands) and in /help."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.actor import Actor, Channel, Role
from services.core.i18n import N_


@dataclass(frozen=True, slots=True)
class BotCommandSpec:
    command: str
    description: str  # untranslated message id
    roles: frozenset[Role] | None = None  # None: everyone, signed in or not
    channels: frozenset[str] | None = None  # None: on every channel

    def available_to(self, actor: Actor) -> bool:
        return ((self.roles is None or actor.role in self.roles)
                and (self.channels is None or actor.channel in self.channels))


COMMANDS: tuple[BotCommandSpec, ...] = (
    BotCommandSpec("start", N_("Start, or see who you are signed in as")),
    BotCommandSpec("help", N_("What HoSo can do for you")),
    BotCommandSpec("lang", N_("Language: Tiếng Việt / English")),
    BotCommandSpec("cancel", N_("Cancel the current step")),
    BotCommandSpec("find", N_("Look a person up: name, personal ID or birth date"),
                   frozenset({Role.ADMIN, Role.CLERK, Role.MANAGER})),
    BotCommandSpec("export", N_("Export your dossiers as Excel"), frozenset({Role.ADMIN, Role.CLERK, Role.MANAGER})),
    BotCommandSpec("new", N_("Create a new dossier from the recruitment decision"), frozenset({Role.ADMIN, Role.CLERK})),
    BotCommandSpec("update", N_("Log a change to a dossier against its decision"), frozenset({Role.ADMIN, Role.CLERK})),
    BotCommandSpec("history", N_("Changes of a dossier, and the dossier as of a date"),
                   frozenset({Role.ADMIN, Role.CLERK, Role.MANAGER, Role.EMPLOYEE})),
    BotCommandSpec("pending", N_("Declarations waiting for your decision"), frozenset({Role.ADMIN, Role.CLERK})),
    BotCommandSpec("transfer", N_("Ask for a dossier another unit holds, or decide on a request"),
                   frozenset({Role.ADMIN, Role.CLERK})),
    BotCommandSpec("declare", N_("Declare a change of your own (assets, tax, marriage, address)"),
                   frozenset({Role.EMPLOYEE})),
    BotCommandSpec("report", N_("The half-yearly report: fill in, preview, submit (the board, for the office)"),
                   frozenset({Role.ADMIN, Role.CLERK, Role.MANAGER})),
    BotCommandSpec("stats", N_("Statistics of your scope (BM01/BNV), as Excel and a chart"),
                   frozenset({Role.ADMIN, Role.CLERK, Role.MANAGER})),
    BotCommandSpec("inspect", N_("Inspect how the units keep their dossiers: completeness, timeliness, findings"),
                   frozenset({Role.ADMIN, Role.AUDITOR})),
    BotCommandSpec("feedback", N_("A suggestion or a problem for the personnel office (the office: the list)"),
                   frozenset(Role)),
    BotCommandSpec("reminders", N_("Your upcoming reminders; mute a kind"), frozenset(Role)),
    BotCommandSpec("broadcast", N_("Send an incident notice to every unit"), frozenset({Role.ADMIN})),
    BotCommandSpec("passwd", N_("Change your password"), frozenset(Role)),
    BotCommandSpec("logout", N_("Sign out here"), frozenset(Role)),
    BotCommandSpec("zalo", N_("Link Zalo"), frozenset(Role), frozenset({Channel.WEB})),
    BotCommandSpec("subaccount", N_("Ask for an account for a subordinate unit"), frozenset({Role.CLERK})),
    BotCommandSpec("audit", N_("Read the audit trail"), frozenset({Role.ADMIN, Role.AUDITOR})),
    BotCommandSpec("verify", N_("Check the verification code of a printed form or report"), frozenset(Role)),
    BotCommandSpec("admin", N_("Units, accounts and requests"), frozenset({Role.ADMIN})),
)
