"""`hoso reference list|add`: the reference lists (ethnicities, religions, ranks, education levels)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import typer

from bot.cli.common import JsonOption, _, admin_call, emit, emit_rows
from services.core.i18n import N_
from services.regime.reference import LISTS

if TYPE_CHECKING:
    from services.regime.reference import ReferenceEntry

app = typer.Typer(help=_(N_("Reference lists: ethnicities, religions, ranks, education levels.")),
                  no_args_is_help=True)


@app.command("list", help=_(N_("Show a reference list ({lists}).")).format(lists=", ".join(LISTS)))
def reference_list(list_name: str, as_json: JsonOption = False) -> None:
    from services.platform.reference_lists import ReferenceService

    entries: list[ReferenceEntry] = admin_call(lambda services: ReferenceService(
        services.uow, services.actor, services.clock).listing(list_name))
    emit_rows(as_json, entries, lambda entry: f"{entry.code}  {entry.name}", to_json=asdict)


@app.command("add", help=_(N_("Add an entry to a reference list.")))
def reference_add(list_name: str, code: str, name: str, as_json: JsonOption = False) -> None:
    from services.platform.reference_lists import ReferenceService

    entry: ReferenceEntry = admin_call(lambda services: ReferenceService(
        services.uow, services.actor, services.clock).add(list_name, code, name))
    emit(as_json, asdict(entry), _(N_("Added {code} {name}.")).format(code=entry.code, name=entry.name))
