"""`hoso audit verify|checkpoint`: the audit trail's hash chain and its signed head."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import JsonOption, _, config_line, emit, fail, lightweight_uow, run_async, settings_or_exit
from bot.settings import ConfigError
from services.core.actor import Actor
from services.core.clock import SystemClock
from services.core.i18n import N_

if TYPE_CHECKING:  # each command imports what it runs: `hoso --help` needs no SQLAlchemy
    from services.platform.audit import Checkpoint, VerifyReport
    from services.platform.printouts import Verdict

app = typer.Typer(help=_(N_("The audit trail: verify its chain, sign checkpoints.")), no_args_is_help=True)


@app.command("verify", help=_(N_("Recompute the hash chain; with --checkpoint, also compare the signed head.")))
def audit_verify(
    checkpoint: Annotated[
        Path | None, typer.Option(help=_(N_("A checkpoint file written by `hoso audit checkpoint --json`.")))
    ] = None,
    as_json: JsonOption = False,
) -> None:
    from services.platform.audit import AuditService, Checkpoint

    settings = settings_or_exit()
    signed, key = None, None
    if checkpoint is not None:
        try:
            data = json.loads(checkpoint.read_text(encoding="utf-8"))  # the daemon's files also say when
            signed = Checkpoint(data["seq"], data["hash"], data["signature"])
        except (OSError, ValueError, TypeError, KeyError):
            fail(_(N_("--checkpoint: not a checkpoint file: {path}")).format(path=checkpoint))
        key = settings.audit_key.get_secret_value().encode() if settings.audit_key else None

    async def main() -> VerifyReport:
        async with lightweight_uow(settings) as uow:
            return await AuditService(uow, Actor.system(), SystemClock(settings.timezone)).verify(signed, key)

    report: VerifyReport = run_async(main())
    if report.ok:
        emit(as_json, report.as_dict(), _(N_("OK: {count} events, the chain is intact.")).format(count=report.count))
        return
    data = {**report.as_dict(), "reason": _(report.reason) if report.reason else ""}
    emit(as_json, data, _(N_("BROKEN at seq {seq}: {reason}.")).format(seq=report.broken_seq, reason=data["reason"]))
    raise typer.Exit(1)


@app.command("checkpoint", help=_(N_("Print the head of the chain (seq, hash), signed with HOSO_AUDIT_KEY.")))
def audit_checkpoint(as_json: JsonOption = False) -> None:
    from services.platform.audit import AuditService

    settings = settings_or_exit()
    try:
        key = settings.require_audit_key()
    except ConfigError as error:
        fail(config_line(error))

    async def main() -> Checkpoint:
        async with lightweight_uow(settings) as uow:
            return await AuditService(uow, Actor.system(), SystemClock(settings.timezone)).checkpoint(key)

    signed: Checkpoint = run_async(main())
    emit(as_json, signed.as_dict(), f"({signed.seq}, {signed.hash}) {signed.signature}")


def verify_printout(
    code: Annotated[str, typer.Argument(metavar="CODE", help=_(N_(
        "The verification code printed on the form, report or statistics sheet.")), show_default=False)],
    as_json: JsonOption = False,
) -> None:
    """Whether a printout's code was issued by HoSo, the version it shows, and whether the record changed since
    (the check is audited)."""
    from services.platform.printouts import PrintoutService, describe

    settings = settings_or_exit()

    async def main() -> Verdict:
        async with lightweight_uow(settings) as uow:
            service = PrintoutService(uow, Actor.system(), SystemClock(settings.timezone), settings.verify_key_bytes)
            return await service.verify(code)

    verdict: Verdict = run_async(main())
    lines = describe(verdict, _, SystemClock(settings.timezone).tz)
    emit(as_json, {"code": verdict.code, "kind": verdict.kind, "subject": verdict.subject,
                   "version": verdict.version, "issued_at": verdict.issued_at.isoformat(),
                   "issued_by": verdict.issued_by, "changed": verdict.changed,
                   "current_version": verdict.current_version}, "\n".join(lines))
