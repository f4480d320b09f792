"""`hoso unit add|list|rename|move|merge`: the unit tree."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import JsonOption, _, admin_call, emit, emit_rows
from services.core.i18n import N_

if TYPE_CHECKING:
    from services.platform.units import UnitView

app = typer.Typer(help=_(N_("The unit tree: add, list, rename, move, merge.")), no_args_is_help=True)


def unit_json(unit: UnitView) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "parent": unit.parent_code, "level": unit.level_name,
            "status": unit.status}


@app.command("add", help=_(N_("Add a unit.")))
def unit_add(
    code: str, name: str,
    parent: Annotated[str | None, typer.Option(help=_(N_("Code of the parent unit.")))] = None,
    level: Annotated[str | None, typer.Option(help=_(N_(
        "One of the regime's level names (`hoso unit levels`); by default the level of the unit's depth.")))] = None,
    as_json: JsonOption = False,
) -> None:
    unit = admin_call(lambda services: services.units.add(code, name, parent, level))
    emit(as_json, unit_json(unit), _(N_("Unit {code} added.")).format(code=unit.code))


@app.command("levels", help=_(N_("The regime's unit levels, the province first, and the one that reports.")))
def unit_levels(as_json: JsonOption = False) -> None:
    levels, reporting = admin_call(lambda services: services.units.levels())

    def line(item: tuple[int, str]) -> str:
        depth, name = item
        mark = "  " + _(N_("(files the half-yearly report)")) if name == reporting else ""
        return f"{depth}. {name}{mark}"

    emit_rows(as_json, list(enumerate(levels, start=1)), line,
              to_json=lambda item: {"depth": item[0], "name": item[1], "reports": item[1] == reporting})


@app.command("list", help=_(N_("List the units.")))
def unit_list(
    tree: Annotated[bool, typer.Option("--tree", help=_(N_("Indent the units under their parents.")))] = False,
    as_json: JsonOption = False,
) -> None:
    def line(unit: UnitView) -> str:
        indent = "  " * unit.depth if tree else ""
        merged_into = _(N_("merged into {code}")).format(code=unit.merged_into_code)
        merged = f" [{merged_into}]" if unit.merged_into_code else ""
        return f"{indent}{unit.code}  {unit.name}{merged}"

    emit_rows(as_json, admin_call(lambda services: services.units.list()), line, to_json=unit_json)


@app.command("rename", help=_(N_("Rename a unit.")))
def unit_rename(code: str, name: str, as_json: JsonOption = False) -> None:
    unit = admin_call(lambda services: services.units.rename(code, name))
    emit(as_json, unit_json(unit), _(N_("Unit {code} is now named {name}.")).format(code=unit.code, name=unit.name))


@app.command("move", help=_(N_("Move a unit (with its subunits) under another parent.")))
def unit_move(code: str, parent: str, as_json: JsonOption = False) -> None:
    unit = admin_call(lambda services: services.units.move(code, parent))
    emit(as_json, unit_json(unit),
         _(N_("Unit {code} now belongs to {parent}.")).format(code=unit.code, parent=unit.parent_code))


@app.command("merge", help=_(N_(
    "Merge a unit into another: its dossiers, accounts, subunits and open requests move.")))
def unit_merge(old: str, into: str, as_json: JsonOption = False) -> None:
    result = admin_call(lambda services: services.unit_merge.merge(old, into))
    emit(as_json, asdict(result), _(N_(
        "Unit {old} merged into {into}: {dossiers} dossiers, {accounts} accounts, {units} units, {requests} requests "
        "moved."
    )).format(**asdict(result)))
