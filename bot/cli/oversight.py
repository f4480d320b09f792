"""`hoso stats`, `hoso report`, `hoso inspect` and `hoso feedback`: the personnel office's oversight from
the server's shell (the statistics, the half-yearly reports, the inspection, the users' feedback).

`app` holds the top-level commands (stats, inspect; the root app adds it without a name), `report_app` and
`feedback_app` the two groups. The document builders are imported inside the commands that write them.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import JsonOption, _, admin_call, emit, emit_rows, fail, settings_or_exit
from locales import translator
from services.core.clock import SystemClock, format_date, format_local_date, parse_date
from services.core.i18n import N_

if TYPE_CHECKING:
    from services.facade import Services
    from services.oversight.feedback import FeedbackView
    from services.oversight.reports import BoardLine, ProvincialReport
    from services.oversight.statistics import StatTable

app = typer.Typer()
report_app = typer.Typer(help=_(N_("The half-yearly reports: the submission board, the province's report.")),
                         no_args_is_help=True)
feedback_app = typer.Typer(help=_(N_("The users' feedback to the personnel office.")), no_args_is_help=True)

UnitOption = Annotated[str | None, typer.Option("--unit", help=_(N_("Only this unit and its subunits.")))]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help=_(N_("The date, dd/mm/yyyy (default: today).")))]
PeriodOption = Annotated[str | None, typer.Option(
    "--period", help=_(N_("The period, e.g. 2026-H2 (default: the one being reported now).")))]


def as_of_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 and text[4] == "-" else parse_date(text)
    except ValueError:
        fail("--as-of: " + _(N_("Not a valid date: {value} (use dd/mm/yyyy)")).format(value=text))


def writable(option: str, path: Path, suffix: str) -> None:
    if path.suffix.lower() != suffix:
        fail(f"{option}: " + _(N_("use a {suffix} file: {path}")).format(suffix=suffix, path=path))
    if not path.parent.is_dir():
        fail(f"{option}: " + _(N_("no such folder: {path}")).format(path=path.parent))


def write(option: str, path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except OSError as error:
        fail(f"{option}: {error.strerror or error}: {path}")


@app.command("stats", help=_(N_(
    "Write the statistics (BM01/BNV: totals, party members, women, ethnic minorities, religious; rank, "
    "qualifications, age bands) of the province or of one unit's subtree on a date, as .xlsx.")))
def stats(
    file: Annotated[Path, typer.Argument(help=_(N_("The .xlsx file to write.")), show_default=False)],
    unit: UnitOption = None,
    as_of: AsOfOption = None,
    chart: Annotated[Path | None, typer.Option(
        "--chart", help=_(N_("Also draw the main breakdowns as a picture: the .png file to write.")))] = None,
    as_json: JsonOption = False,
) -> None:
    from services.documents.stats_workbook import statistics_title

    writable("FILE", file, ".xlsx")
    if chart is not None:
        writable("--chart", chart, ".png")
    day = as_of_date(as_of)
    async def made(services: Services) -> tuple[StatTable, bytes]:
        table = await services.statistics.table(unit, day)
        title = statistics_title(", ".join(table.scope), table, _)
        return table, await services.statistics_file(table, unit, _, title)

    table, workbook = admin_call(made)
    title = statistics_title(", ".join(table.scope), table, _)
    write("FILE", file, workbook)
    if chart is not None:
        from services.documents.stats_chart import render_chart

        write("--chart", chart, render_chart(table, _, title))
    emit(as_json, {"file": str(file), "chart": str(chart) if chart else None, "people": table.total.people,
                   "as_of": table.as_of.isoformat(), "rows": len(table.rows)},
         _(N_("{count} people in service on {date}, {rows} rows: {path}")).format(
             count=table.total.people, date=format_date(table.as_of), rows=len(table.rows), path=file)
         + (f"\n{chart}" if chart else ""))


@report_app.command("board", help=_(N_("Which units submitted the report of a period, late or not, and "
                                       "who was reminded.")))
def board(period: PeriodOption = None, as_json: JsonOption = False) -> None:
    from services.oversight.reports import REPORT_STATES

    tz = SystemClock(settings_or_exit().timezone).tz
    made = admin_call(lambda services: services.reports.board(period))

    def line(row: BoardLine) -> str:
        when = format_local_date(row.submitted_at, tz)
        late = _(N_("late")) if row.late else ""
        return (f"{row.unit_code:<14} {_(REPORT_STATES[row.status]):<14} {when:<10} {late:<6} "
                f"{row.reminders:>3}  {row.unit_name}")

    def row_json(row: BoardLine) -> dict[str, Any]:
        return {"unit": row.unit_code, "name": row.unit_name, "status": row.status, "late": row.late,
                "submitted_at": row.submitted_at.isoformat() if row.submitted_at else None,
                "reminders": row.reminders, "reminded": list(row.reminded)}

    emit_rows(as_json, made.lines, line, to_json=row_json, footer=made.summary(_),
              document=lambda units: {"period": made.period.code, "due": made.period.due.isoformat(), "units": units})


@report_app.command("province", help=_(N_(
    "Write the province's report of a period: FILE.docx, and its statistics and compliance beside it as "
    "FILE.xlsx.")))
def province(
    file: Annotated[Path, typer.Argument(help=_(N_("The .docx file to write.")), show_default=False)],
    period: PeriodOption = None,
    as_json: JsonOption = False,
) -> None:
    from services.documents.stats_workbook import statistics_title

    writable("FILE", file, ".docx")

    async def files(services: Services) -> tuple[ProvincialReport, bytes, bytes]:
        report = await services.reports.provincial(period)
        title = statistics_title(report.province, report.statistics, _)
        return report, *await services.province_report_files(report, translator("vi"), _, title)

    made, document, workbook = admin_call(files)
    write("FILE", file, document)
    sheet = file.with_suffix(".xlsx")
    write("FILE", sheet, workbook)
    emit(as_json, {"period": made.period.code, "docx": str(file), "xlsx": str(sheet),
                   "submitted": made.board.count("submitted"), "units": len(made.board.lines)},
         _(N_("The province's report {period}: {submitted} of {total} units submitted.")).format(
             period=made.period.code, submitted=made.board.count("submitted"), total=len(made.board.lines))
         + f"\n{file}\n{sheet}")


def inspection_line(row: dict[str, Any]) -> str:
    found = sum(row["findings"].values())
    return (f"{'  ' * row['depth']}{row['unit'] or '':<14} {row['complete']:>7}/{row['dossiers']:<7} "
            f"{found:>6} {row['issues_per_100']:>7}  {row['name']}")


@app.command("inspect", help=_(N_(
    "Inspect how the units keep their dossiers (completeness, timeliness, findings, activity), the worst "
    "first; with FILE, write it all as .xlsx.")))
def inspect(
    file: Annotated[Path | None, typer.Argument(help=_(N_("The .xlsx file to write.")), show_default=False)] = None,
    unit: UnitOption = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    from services.documents.inspection_workbook import InspectionWorkbook
    from services.oversight.inspection import FINDINGS, Finding, badness, finding_text

    if file is not None:
        writable("FILE", file, ".xlsx")
    day = as_of_date(as_of)
    clock = SystemClock(settings_or_exit().timezone)
    # The findings are streamed, never all held: into the workbook's sheet as they come, and for --json
    # into a temporary file, one line of JSON each, which the document is then written from.
    book = InspectionWorkbook(_, clock.tz) if file is not None else None
    listed = tempfile.TemporaryFile("w+", encoding="utf-8") if as_json else None

    def finding_json(f: Finding) -> dict[str, Any]:  # what a script follows up, as the workbook's sheet has it
        return {"kind": f.kind, "finding": _(FINDINGS[f.kind]), "unit": f.unit_code, "unit_name": f.unit_name,
                "dossier": f.dossier_id, "personal_id": f.personal_id, "full_name": f.full_name,
                "facts": dict(f.facts), "details": finding_text(f, _)}

    async def each(findings: Sequence[Finding]) -> None:
        if book is not None:
            book.add(findings)
        if listed is not None:
            listed.writelines(json.dumps(finding_json(f), ensure_ascii=False) + "\n" for f in findings)

    wanted = each if book is not None or listed is not None else None
    made = admin_call(lambda services: services.inspection.run(unit, day, keep=0, each=wanted))
    table = made.table
    rows = []
    for row in table.rows:
        if row.kind == "own":
            continue
        values = {c.key: row.counts[i] for i, c in enumerate(table.columns)}
        rows.append({"unit": row.unit_code, "name": row.unit_name, "depth": row.depth, "dossiers": row.people,
                     "complete": values["complete"],
                     "findings": {kind: values[f"finding.{kind}"] for kind in FINDINGS},
                     "issues_per_100": round(badness({**values, "total": row.people}), 1)})
    if book is not None and file is not None:
        title = _(N_("Inspection of {scope} on {date}")).format(scope=table.total.unit_name or "",
                                                                 date=format_date(made.as_of))
        try:
            book.finish(made, title, file)
        except OSError as error:
            fail(f"FILE: {error.strerror or error}: {file}")
    if listed is None:
        footer = (_(N_("{count} findings on {date}.")).format(count=made.count, date=format_date(made.as_of))
                  + (f" {file}" if file else ""))
        emit_rows(False, rows, inspection_line, footer=footer)
        return
    # The document as one JSON object, its findings copied line by line from the temporary file.
    head = json.dumps({"as_of": made.as_of.isoformat(), "units": rows, "count": made.count}, ensure_ascii=False)
    typer.echo(head[:-1] + ', "findings": [', nl=False)
    listed.seek(0)
    for number, line in enumerate(listed):
        typer.echo((", " if number else "") + line.rstrip("\n"), nl=False)
    listed.close()
    typer.echo("], \"file\": " + json.dumps(str(file) if file else None) + "}")


def feedback_json(item: FeedbackView) -> dict[str, Any]:
    return {"id": item.id, "kind": item.kind, "status": item.status, "from": item.username,
            "name": item.full_name, "unit": item.unit_name, "at": item.created_at.isoformat(),
            "text": item.text, "screenshot": item.screenshot, "answer": item.answer,
            "answered_at": item.answered_at.isoformat() if item.answered_at else None}


@feedback_app.command("list", help=_(N_("List the feedback, the open ones by default.")))
def feedback_list(
    status: Annotated[str | None, typer.Option(
        "--status", help=_(N_("new, planned, done or all (default: new and planned).")))] = None,
    as_json: JsonOption = False,
) -> None:
    rows = [feedback_json(item) for item in admin_call(lambda services: services.feedback.listing(status, limit=1000))]
    emit_rows(as_json, rows,
              lambda row: f"#{row['id']:<5} {row['status']:<8} {row['kind']:<10} {row['from']:<16} {row['text'][:80]}",
              footer=_(N_("{count} items.")).format(count=len(rows)))
