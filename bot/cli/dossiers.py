"""`hoso import` and `hoso export`: dossiers in and out of spreadsheets (.xlsx, .csv); `hoso print2c`: one
dossier's printed resume form. Top-level commands (the root app adds this app without a name)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from bot.cli.common import JsonOption, _, admin_call, emit, fail
from services.core.errors import ServiceError
from services.core.i18n import N_
from services.dossiers.io.results import ExportReport, ImportReport
from services.dossiers.io.spreadsheets import SUFFIXES

if TYPE_CHECKING:
    from services.facade import Services

app = typer.Typer()

ProgressCallback = Callable[[int, int | None], None]


@contextmanager
def progress_bar(description: str) -> Iterator[ProgressCallback]:
    """A progress bar on the terminal (stderr, so that --json stays clean); nothing when not a terminal."""
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=console, disable=not console.is_terminal, transient=False,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=max(total, done) if total is not None else None)

        yield update


def default_report_path(file: Path) -> Path:
    """FILE.errors.xlsx (or .csv) beside FILE."""
    return file.with_name(f"{file.stem}.errors{file.suffix.lower()}")


def check_suffix(option: str, path: Path) -> None:
    if path.suffix.lower() not in SUFFIXES:
        message = _(N_("use an .xlsx or .csv file: {path}")).format(path=path)
        fail(f"{option}: {message}")


def import_summary(result: ImportReport, dry_run: bool, written: Path | None) -> str:
    """The text answer of `hoso import`: the counts, then what to look at."""
    lines = [
        (_(N_("Dry run, nothing was written. {file}: {rows} rows; {created} would be created, {updated} updated, "
              "{unchanged} unchanged; {failed} failed.")) if dry_run else
         _(N_("{file}: {rows} rows; {created} created, {updated} updated, {unchanged} unchanged; "
              "{failed} failed."))).format(**result.counts())
    ]
    if result.review:
        lines.append(_(N_("{count} rows have a value to check: it looks like a number that lost its leading "
                          "zeros.")).format(count=result.review))
    if result.off_table:
        lines.append(_(N_("{count} rows were imported with a coefficient that is not the salary table's for their "
                          "rank and step: check them.")).format(count=len(result.off_table)))
    if result.ignored_columns:
        lines.append(_(N_("Columns not recognised, ignored: {columns}.")).format(
            columns=", ".join(result.ignored_columns)))
    if written is not None:
        lines.append(_(N_("The rows that failed or are to check, each with its reason: {path}")).format(path=written))
    return "\n".join(lines)


def emit_template(as_json: bool, template: Path) -> None:
    """`hoso import --template OUT`: write the file to fill in, and say where."""
    check_suffix("--template", template)
    from services.dossiers.io.writers import write_template  # openpyxl: loaded by the commands that write

    try:
        write_template(template)
    except OSError as error:
        fail(f"--template: {error.strerror or error}: {template}")
    emit(as_json, {"template": str(template)}, _(N_("Template written to {path}.")).format(path=template))


@app.command("import", help=_(N_(
    "Import dossiers from an .xlsx or .csv file: a new personal ID creates a dossier, a known one is "
    "updated where it differs. Rows that fail are written to an error report.")))
def import_(
    file: Annotated[Path | None, typer.Argument(
        help=_(N_("The .xlsx or .csv file to import.")), show_default=False)] = None,
    unit: Annotated[str | None, typer.Option(
        "--unit", help=_(N_("Code of the unit of new dossiers whose row has no unit code.")))] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help=_(N_("Check and count every row; write nothing.")))] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help=_(N_("Where to write the rows that failed, .xlsx or .csv (default: FILE.errors.xlsx "
                              "or .csv beside FILE).")))] = None,
    template: Annotated[Path | None, typer.Option(
        "--template", help=_(N_("Write a file to fill in (the Vietnamese headers and one example row), "
                                "and stop.")))] = None,
    as_json: JsonOption = False,
) -> None:
    if template is not None:
        emit_template(as_json, template)
        return
    if file is None:
        fail(_(N_("FILE: give the file to import (or --template OUT.xlsx for a file to fill in)")))
    if not file.is_file():
        message = _(N_("no such file: {path}")).format(path=file)  # (babel reads no call inside an f-string)
        fail(f"FILE: {message}")
    check_suffix("FILE", file)
    report_path = report if report is not None else default_report_path(file)
    check_suffix("--report", report_path)

    with progress_bar(_(N_("Importing"))) as update:
        result: ImportReport = admin_call(
            lambda services: services.dossier_io.import_file(file, unit, dry_run=dry_run, progress=update))
    written = None
    if result.errors or result.off_table:
        from services.dossiers.io.writers import write_error_report  # openpyxl, as in emit_template

        try:
            written = write_error_report(result, report_path, _)
        except (OSError, ServiceError) as error:
            fail(f"--report: {getattr(error, 'strerror', None) or error}: {report_path}")
    emit(as_json, {**result.counts(), "report": str(written) if written else None},
         import_summary(result, dry_run, written))
    if result.failed:
        raise typer.Exit(1)


@app.command("export", help=_(N_(
    "Export the dossiers (all, or one unit's subtree) to an .xlsx or .csv file with the columns "
    "`hoso import` reads.")))
def export(
    file: Annotated[Path, typer.Argument(help=_(N_("The .xlsx or .csv file to write.")), show_default=False)],
    unit: Annotated[str | None, typer.Option(
        "--unit", help=_(N_("Only the dossiers of this unit and its subunits.")))] = None,
    english: Annotated[bool, typer.Option(
        "--english", help=_(N_("English headers and codes (personal_id, F/M, active) instead of the Vietnamese "
                               "headers and words.")))] = False,
    as_json: JsonOption = False,
) -> None:
    check_suffix("FILE", file)
    if not file.parent.is_dir():
        message = _(N_("no such folder: {path}")).format(path=file.parent)
        fail(f"FILE: {message}")
    with progress_bar(_(N_("Exporting"))) as update:
        result: ExportReport = admin_call(
            lambda services: services.dossier_io.export_file(file, unit, vietnamese=not english, progress=update))
    emit(as_json, {"file": str(result.path), "count": result.count},
         _(N_("{count} dossiers written to {path}.")).format(count=result.count, path=result.path))


@app.command("print2c", help=_(N_(
    "Write one dossier's resume form (Mẫu 2C-BNV/2008, or HS02-VC/BNV for a viên chức) as a .docx.")))
def print2c(
    dossier: Annotated[str, typer.Argument(
        metavar="ID", help=_(N_("The personal ID (12 digits) of the dossier.")), show_default=False)],
    file: Annotated[Path, typer.Argument(help=_(N_("The .docx file to write.")), show_default=False)],
    as_json: JsonOption = False,
) -> None:
    if file.suffix.lower() != ".docx":
        message = _(N_("use a .docx file: {path}")).format(path=file)
        fail(f"FILE: {message}")
    if not file.parent.is_dir():
        message = _(N_("no such folder: {path}")).format(path=file.parent)
        fail(f"FILE: {message}")

    async def printed(services: Services) -> tuple[str, bytes]:
        return await services.printed_2c(await services.dossiers.id_of(dossier))

    _name, content = admin_call(printed)
    try:
        file.write_bytes(content)
    except OSError as error:
        fail(f"FILE: {error.strerror or error}: {file}")
    emit(as_json, {"file": str(file), "personal_id": dossier},
         _(N_("The resume form of {value} written to {path}.")).format(value=dossier, path=file))
