"""typer's own refusals of a command line (a missing argument, an unknown option, a value of the wrong type)
in the reader's language.

The typer installed builds these texts as English f-strings, with no gettext: so the command runs outside
typer's standalone mode, and the refusal it raises is re-worded here by a table of rules on its text before
typer's own renderer shows it (the usage line, the help hint and the "Lỗi" panel are already translated by
`frame`). A text no rule knows is shown as typer wrote it; tests/test_cli.py holds the common ones to Vietnamese.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import typer
import typer.rich_utils

from bot.cli.common import _
from services.core.i18n import N_

Rule = tuple[re.Pattern[str], str]

# Why a value was refused (typer hands pydantic's and its own reasons through).
REASONS: list[Rule] = [
    (re.compile(r"Input should be a valid integer.*"), N_("a whole number is expected.")),
    (re.compile(r"Input should be a valid number.*"), N_("a number is expected.")),
    (re.compile(r"Input should be less than or equal to (?P<limit>\S+)"), N_("at most {limit}.")),
    (re.compile(r"Input should be greater than or equal to (?P<limit>\S+)"), N_("at least {limit}.")),
    (re.compile(r"Input should be less than (?P<limit>\S+)"), N_("less than {limit}.")),
    (re.compile(r"Input should be greater than (?P<limit>\S+)"), N_("greater than {limit}.")),
    (re.compile(r"'(?P<value>.*)' is not one of (?P<choices>.+)\."), N_("{value} is not one of {choices}.")),
    (re.compile(r"Value (?P<value>.+) is not a valid (?P<kind>\S+)\."), N_("{value} is not a valid value.")),
]

# The refusals themselves, matched on the whole text typer formats.
MESSAGES: list[Rule] = [
    (re.compile(r"Missing argument '(?P<name>.+)'\."), N_("Missing argument {name}.")),
    (re.compile(r"Missing option '(?P<name>[^']+)'.*"), N_("Missing option {name}.")),
    (re.compile(r"No such option: (?P<name>\S+) \(Possible options: (?P<options>.+)\)"),
     N_("No such option: {name}. Did you mean {options}?")),
    (re.compile(r"No such option: (?P<name>\S+)"), N_("No such option: {name}.")),
    (re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)"), N_("Unexpected extra argument: {args}.")),
    (re.compile(r"No such command '(?P<name>.+)'\."), N_("No such command: {name}.")),
    (re.compile(r"Option '(?P<name>.+)' requires an argument\."), N_("Option {name} needs a value.")),
    (re.compile(r"Option '(?P<name>.+)' does not take a value\."), N_("Option {name} takes no value.")),
    (re.compile(r"Invalid value for (?P<name>'[^']+'(?: / '[^']+')*): (?P<reason>.+)", re.S),
     N_("Invalid value for {name}: {reason}")),
]


def _reworded(text: str, rules: Sequence[Rule], inner: Callable[[dict[str, str]], dict[str, str]]) -> str | None:
    for pattern, message in rules:
        match = pattern.fullmatch(text.strip())
        if match:
            return _(message).format(**inner(match.groupdict()))
    return None


def reword(text: str) -> str:
    """typer's refusal in the reader's words, or as typer wrote it when no rule knows it."""

    def reason(groups: dict[str, str]) -> dict[str, str]:
        if "reason" in groups:
            groups["reason"] = _reworded(groups["reason"], REASONS, dict) or groups["reason"]
        return groups

    return _reworded(text, MESSAGES, reason) or text


@dataclass(frozen=True)
class _Refusal:
    """The same refusal, its text reworded, as typer's renderer reads one (usage, hint, panel)."""

    message: str
    ctx: Any

    def format_message(self) -> str:
        return self.message


def run(command: Any, args: Sequence[str] | None = None) -> int:
    """Run the command tree as typer would, with its refusals in the reader's language: the exit code."""
    try:
        result = command.main(args=args, standalone_mode=False)
    except typer.Abort:
        typer.echo(typer.rich_utils.ABORTED_TEXT, err=True)
        return 1
    except typer.TyperException as error:
        ctx = getattr(error, "ctx", None)
        if type(error).__name__ == "NoArgsIsHelpError":  # typer has printed the help already
            return int(getattr(error, "exit_code", 2))
        typer.rich_utils.rich_format_error(cast(Any, _Refusal(reword(error.format_message()), ctx)))
        return int(error.exit_code)
    return result if isinstance(result, int) else 0
