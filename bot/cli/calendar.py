"""`hoso calendar add|list`: the working days, i.e. the public holidays and the extra days off."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from bot.cli.common import JsonOption, _, admin_call, cli_locale, emit, emit_rows, fail
from services.core.clock import format_date, parse_date
from services.core.i18n import N_
from services.regime.deadlines import public_holidays

app = typer.Typer(help=_(N_("Working days: public holidays and the extra days off.")), no_args_is_help=True)

DayOff = tuple[dt.date, str, str]  # the day, its name or reason, "holiday" or "extra"


def day_argument(text: str) -> dt.date:
    try:
        return parse_date(text)
    except ValueError:
        fail("day: " + _(N_("Not a valid date: {value} (use dd/mm/yyyy)")).format(value=text))


@app.command("add", help=_(N_("Add an extra day off (e.g. a Tết break extended by the government).")))
def calendar_add(day: str, reason: str, as_json: JsonOption = False) -> None:
    date = day_argument(day)
    added = admin_call(lambda services: services.calendar.add_day_off(date, reason))
    text = (_(N_("{day} is now a day off.")) if added else _(N_("{day} was already a day off."))).format(
        day=format_date(date))
    emit(as_json, {"day": format_date(date), "added": added}, text)


def day_off_line(row: DayOff) -> str:
    day, name, kind = row
    return f"{format_date(day)}  {name}" + ("  (+)" if kind == "extra" else "")


def day_off_json(row: DayOff) -> dict[str, str]:
    day, name, kind = row
    return {"day": format_date(day), "name": name, "kind": kind}


@app.command("list", help=_(N_("The days off of a year: public holidays and the extra ones.")))
def calendar_list(year: Annotated[int | None, typer.Option(help=_(N_("The year (default: this year).")))] = None,
                  as_json: JsonOption = False) -> None:
    chosen = year or dt.date.today().year
    extra = [(d, reason) for d, reason in admin_call(lambda services: services.calendar.days_off()) if d.year == chosen]
    rows = sorted([(d, name, "holiday") for d, name in public_holidays(chosen, cli_locale())] +
                  [(d, reason, "extra") for d, reason in extra])
    emit_rows(as_json, rows, day_off_line, to_json=day_off_json)
