"""`hoso audit verify|checkpoint`: the audit trail's hash chain and its signed head."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import JsonOption, _, config_line, emit, fail, lightweight_uow, run_async, settings_or_exit
from bot.settings import ConfigError
from services.core.actor import Actor
from services.core.clock import SystemClock
from services.core.i18n import N_
from services.platform.audit import AuditService, Checkpoint, VerifyReport

app = typer.Typer(help=_(N_("The audit trail: verify its chain, sign checkpoints.")), no_args_is_help=True)


@app.command("verify", help=_(N_("Recompute the hash chain; with --checkpoint, also compare the signed head.")))
def audit_verify(
    checkpoint: Annotated[
        Path | None, typer.Option(help=_(N_("A checkpoint file written by `hoso audit checkpoint --json`.")))
    ] = None,
    as_json: JsonOption = False,
) -> None:
    settings = settings_or_exit()
    signed, key = None, None
    if checkpoint is not None:
        try:
            signed = Checkpoint(**json.loads(checkpoint.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
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
