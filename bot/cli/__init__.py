"""The `hoso` command line (typer). Bad input or configuration: one line naming it, non-zero exit.

The root app, made of one module per command group (typer's multi-file layout): the groups are added under
their names, and the apps of top-level commands without a name. The group modules share `bot.cli.common`
and never import this module. aiogram is imported only by the commands that run the bot: its import alone
takes seconds.
"""

from __future__ import annotations

import sys

import typer
import typer.main

from bot.cli import accounts, audit, backup, calendar, dossiers, oversight, reference, reminders, serving, units
from bot.cli.common import _
from bot.cli.frame import frame
from bot.cli.usage_errors import run
from services.core.i18n import N_

__all__ = ["app", "main"]

app = typer.Typer(
    help=_(N_("HoSo: electronic personnel dossiers on Telegram.")),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# The order of `hoso --help`: the top-level commands, then the groups.
app.add_typer(serving.app)  # init, run, demo, chat
app.add_typer(dossiers.app)  # import, export
app.add_typer(oversight.app)  # stats, inspect
app.add_typer(backup.app)  # backup, restore
app.add_typer(audit.app, name="audit")
app.add_typer(backup.attachments_app, name="attachments")
app.command("verify", help=_(N_("Check a printout's verification code: issued by HoSo or not, the version it shows, "
                               "and whether the record changed since.")))(audit.verify_printout)
app.add_typer(units.app, name="unit")
app.add_typer(accounts.app, name="account")
app.add_typer(reference.app, name="reference")
app.add_typer(calendar.app, name="calendar")
app.add_typer(reminders.app, name="reminders")
app.add_typer(oversight.report_app, name="report")
app.add_typer(oversight.feedback_app, name="feedback")


def main() -> None:
    command = typer.main.get_command(app)
    frame(command)  # the help's frame in the reader's language
    sys.exit(run(command))  # and typer's refusals too
