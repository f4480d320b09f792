"""The help frame of `hoso` in the reader's language: "Usage:", the panels' titles, the help option's text,
and the names of the arguments in the usage lines (`[ĐƠN_VỊ]`, not `[UNIT]`).

The typer installed vendors click without its gettext, and draws the help with rich: so the words are set
where typer reads them, on the command tree built from the app, once, before it runs. The panels' titles
are `typer.rich_utils` settings, the usage line's prefix is the formatter's, the metavars and the help
option belong to each command. The JSON and the commands' own texts are not touched here.
"""

from __future__ import annotations

from typing import Any

import typer.rich_utils
from typer.core import TyperArgument, TyperGroup

from bot.cli.common import _
from services.core.i18n import N_

USAGE = N_("Usage: ")
HELP = N_("Show this message and exit.")
OPTIONS_METAVAR = N_("[OPTIONS]")
SUBCOMMAND_METAVAR = N_("COMMAND [ARGS]...")
PANELS = {"ARGUMENTS_PANEL_TITLE": N_("Arguments"), "OPTIONS_PANEL_TITLE": N_("Options"),
          "COMMANDS_PANEL_TITLE": N_("Commands"), "ERRORS_PANEL_TITLE": N_("Error"), "ABORTED_TEXT": N_("Aborted."),
          "REQUIRED_LONG_STRING": N_("[required]"), "DEFAULT_STRING": N_("[default: {}]"),
          "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help.")}
# The arguments of the commands, by their parameter's name, as the usage line names them.
ARGUMENTS = {
    "file": N_("FILE"), "code": N_("CODE"), "name": N_("NAME"), "parent": N_("PARENT_UNIT"), "old": N_("OLD_UNIT"),
    "into": N_("RECEIVING_UNIT"), "username": N_("USERNAME"), "request_id": N_("REQUEST_NUMBER"),
    "list_name": N_("LIST"), "day": N_("DATE"), "reason": N_("REASON"), "unit": N_("UNIT"), "period": N_("PERIOD"),
    "dossier_id": N_("DOSSIER_ID"), "personal_id": N_("PERSONAL_ID"), "dossier": N_("PERSONAL_ID"),  # print2c
}

_Context: Any = TyperGroup.context_class
_Formatter: Any = _Context.formatter_class


class Formatter(_Formatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _(USAGE) if prefix is None else prefix)


class Context(_Context):
    formatter_class = Formatter


def frame(command: Any) -> None:
    """Put the reader's words in the help of `command` (the tree typer built) and of every command under it."""
    for setting, message in PANELS.items():
        setattr(typer.rich_utils, setting, _(message))
    _frame(command)


def _frame(command: Any) -> None:
    command.context_class = Context
    if command.options_metavar == "[OPTIONS]":
        command.options_metavar = _(OPTIONS_METAVAR)
    help_option = command.get_help_option(Context(command))
    if help_option is not None:
        help_option.help = _(HELP)
    for param in command.params:
        if isinstance(param, TyperArgument) and param.metavar is None and param.name in ARGUMENTS:
            param.metavar = _(ARGUMENTS[param.name])
    if isinstance(command, TyperGroup):
        if command.subcommand_metavar == "COMMAND [ARGS]...":
            command.subcommand_metavar = _(SUBCOMMAND_METAVAR)
        for sub in command.commands.values():
            _frame(sub)
