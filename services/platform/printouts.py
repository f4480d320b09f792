"""Verifiable printouts: the short code every printed form, report and statistics sheet carries, and its check.

A code names the kind of document, its subject (the dossier, or the report), the version it shows (a dossier's
version; for the others, the audit sequence of its issue) and a keyed hash of all that with the digest of the
content shown: `2C-1234-5-ABCD-EFGH-JKLM-NPQR`. The hash is HMAC-SHA256 with a key kept outside the database
(HOSO_VERIFY_KEY), cut to 80 bits and written in base32, four groups of four, typable from paper.

Issuing writes a `printout` row and audits it (the digest is in the audited details, so the hash chain holds
it too). Verifying looks the code up, recomputes its hash from the row with the key (a row slipped into the
database without the key verifies nothing), checks the audit event of its issue, and compares the state of
the subject then with now: "as of version N", and whether a newer one exists. Every check is audited, refused
ones too.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from services.core.actor import Actor
from services.core.clock import Clock
from services.core.errors import InvalidInput, ServiceError
from services.core.i18n import N_
from services.core.policy import EVERYWHERE, Action, scope_of
from services.platform.audit import actor_label, record
from services.platform.sessions import sensitive
from services.platform.units import normalise_code
from storage import Repositories, UnitOfWork
from storage.audit import chain_hash, hashed_fields
from storage.models import OrgUnit

FORM, UNIT_REPORT, PROVINCE_REPORT, STATISTICS = "2C", "BC", "BT", "TK"
# The kind in a code (Vietnamese initials: 2C form, báo cáo, báo cáo tỉnh, thống kê) and its title.
KIND_TITLES = {
    FORM: N_("Resume form (2C/HS02)"),
    UNIT_REPORT: N_("Unit's half-yearly report"),
    PROVINCE_REPORT: N_("Province's half-yearly report"),
    STATISTICS: N_("Statistics sheet"),
}
MAC_BYTES = 10  # 80 bits: 16 base32 characters
_CODE = re.compile(r"^(2C|BC|BT|TK)-([0-9A-Z.]{1,40})-([0-9]{1,18})-([A-Z2-7]{4})-([A-Z2-7]{4})-([A-Z2-7]{4})-([A-Z2-7]{4})$")
# Characters a reader mistakes for base32 letters: the digits 0, 1 and 8 are not in its alphabet.
_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})


class NotGenuine(ServiceError):
    """The code was not issued by HoSo, or what the database says of its issue was altered."""


class NoVerifyKey(ServiceError):
    def __init__(self) -> None:
        super().__init__(N_("Printouts cannot be verified here: HOSO_VERIFY_KEY is not set on this server."))


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a printout carries: its code, and the address of the web chat's check of it for the QR."""

    code: str
    url: str | None = None

    @property
    def qr_text(self) -> str:
        return self.url or self.code


@dataclass(frozen=True, slots=True)
class Verdict:
    """A genuine code: what it showed, when and by whom it was issued, and whether its subject changed since."""

    code: str
    kind: str
    subject: str
    version: int
    issued_at: dt.datetime
    issued_by: str
    changed: bool  # the record no longer stands as the printout shows it
    current_version: int | None  # a dossier's version now (None for the other kinds)


def _plain(value: Any) -> Any:
    return sorted(value, key=str) if isinstance(value, (set, frozenset)) else str(value)


def content_digest(content: Any) -> str:
    """The digest of what a printout shows, from its data (not the file's bytes, which carry a timestamp)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def keyed_hash(key: bytes, kind: str, subject: str, version: int, digest: str) -> str:
    mac = hmac.new(key, f"hoso-printout-1|{kind}|{subject}|{version}|{digest}".encode(), hashlib.sha256).digest()
    text = base64.b32encode(mac[:MAC_BYTES]).decode("ascii")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def normalize(typed: str) -> str:
    """A code as typed (any case, spaces for hyphens, look-alike digits in the hash) in its one written form."""
    parts = [part for part in re.split(r"[\s\-–]+", typed.strip().upper()) if part]
    if len(parts) < 4:
        return "-".join(parts)
    head, tail = parts[:3], "".join(parts[3:]).translate(_LOOKALIKES)
    return "-".join([*head, *(tail[i:i + 4] for i in range(0, len(tail), 4))])


def parse(typed: str) -> tuple[str, str, int, str]:
    """(kind, subject, version, keyed hash) of a code; InvalidInput naming the field when it is not one."""
    code = normalize(typed)
    found = _CODE.match(code)
    if found is None:
        raise InvalidInput("code", N_("This is not a HoSo verification code (like 2C-1234-5-ABCD-EFGH-JKLM-NPQR)."))
    return found[1], found[2], int(found[3]), "-".join(found.groups()[3:])


def compact_period(period: str) -> str:
    return period.replace("-", "")


# -- the state of each kind's subject: (its version, if it has its own; what to compare later) --------------
State = Callable[[Repositories, str], Awaitable[tuple[int | None, str]]]


async def _form_state(repos: Repositories, subject: str) -> tuple[int | None, str]:
    version, state = await repos.printouts.dossier_state(int(subject))
    return version, state


async def _unit_report_state(repos: Repositories, subject: str) -> tuple[int | None, str]:
    unit, period = subject.split(".", 1)
    return None, await repos.printouts.report_state(int(unit), f"{period[:4]}-{period[4:]}")


async def _province_report_state(repos: Repositories, subject: str) -> tuple[int | None, str]:
    return None, await repos.printouts.report_state(None, f"{subject[:4]}-{subject[4:]}")


async def _statistics_state(repos: Repositories, subject: str) -> tuple[int | None, str]:
    return None, await repos.printouts.data_state()


STATES: dict[str, State] = {
    FORM: _form_state,
    UNIT_REPORT: _unit_report_state,
    PROVINCE_REPORT: _province_report_state,
    STATISTICS: _statistics_state,
}


class PrintoutService:
    """Issue a printout's code (after the read that rendered it, which checked the reader's rights) and check
    one. Without a key, nothing is issued and nothing can be checked."""

    def __init__(self, uow: UnitOfWork, actor: Actor, clock: Clock, key: bytes | None,
                 verify_url: str | None = None) -> None:
        self.uow, self.actor, self.clock, self.key, self.verify_url = uow, actor, clock, key, verify_url

    async def issue_form(self, dossier_id: int, content: Any) -> Stamp | None:
        return await self._issue(FORM, content, lambda _unit: str(dossier_id))

    async def issue_unit_report(self, unit_code: str, period: str, content: Any) -> Stamp | None:
        return await self._issue(UNIT_REPORT, content, lambda unit: f"{unit}.{compact_period(period)}", unit_code)

    async def issue_province_report(self, period: str, content: Any) -> Stamp | None:
        return await self._issue(PROVINCE_REPORT, content, lambda _unit: compact_period(period))

    async def issue_statistics(self, unit_code: str | None, as_of: dt.date, content: Any) -> Stamp | None:
        """The statistics of a unit's subtree (the whole province: no unit, 0 in the code) on a date."""
        return await self._issue(STATISTICS, content, lambda unit: f"{unit}.{as_of:%Y%m%d}", unit_code)

    async def _issue(self, kind: str, content: Any, subject_of: Callable[[int], str],
                     unit_code: str | None = None) -> Stamp | None:
        if self.key is None:
            return None
        digest = content_digest(content)
        async with self.uow.write() as repos:
            unit = await self._unit_of(repos, unit_code)
            subject = subject_of(unit.id if unit is not None else 0)
            own_version, state = await STATES[kind](repos, subject)
            await record(repos, self.clock, self.actor, "printout.issue", "printout", f"{kind}-{subject}",
                         kind=kind, subject=subject, version=own_version, digest=digest)
            seq = (await repos.audit.head()).seq
            version = own_version if own_version is not None else seq
            code = f"{kind}-{subject}-{version}-{keyed_hash(self.key, kind, subject, version, digest)}"
            await repos.printouts.add(code=code, kind=kind, subject=subject, version=version, digest=digest,
                                      state=state, audit_seq=seq, issued_at=self.clock.now(),
                                      issued_by=actor_label(self.actor))
        url = f"{self.verify_url}?code={code}" if self.verify_url else None
        return Stamp(code, url)

    async def _unit_of(self, repos: Repositories, unit_code: str | None) -> OrgUnit | None:
        """The unit a printout is about: the one named (as typed: any case), else the top of the reader's own
        scope, as the statistics counted it; None for the whole province."""
        if unit_code:
            return await repos.units.by_code(normalise_code(unit_code))
        prefixes = scope_of(self.actor, Action.VIEW_STATISTICS)
        if prefixes == EVERYWHERE:
            return None
        if len(prefixes) == 1:
            return next((unit for unit in await repos.units.subtree(prefixes[0]) if unit.path == prefixes[0]), None)
        return await repos.units.by_code(self.actor.unit_code) if self.actor.unit_code else None

    async def verify(self, typed: str) -> Verdict:
        """What the printout of this code showed and whether it still stands; a code HoSo did not issue, or
        whose issue was altered in the database, is refused. Audited either way (before a refusal is raised)."""
        if self.key is None:
            raise NoVerifyKey()
        kind, subject, version, mac = parse(typed)
        code = f"{kind}-{subject}-{version}-{mac}"
        async with sensitive(self.uow, self.actor, self.clock, Action.VERIFY_PRINTOUT) as repos:
            verdict, refusal = await self._check(repos, code, mac)
            await record(repos, self.clock, self.actor, "printout.verify", "printout", f"{kind}-{subject}",
                         kind=kind, subject=subject, version=version,
                         outcome="refused" if refusal else ("changed" if verdict and verdict.changed else "current"))
        if refusal is not None:
            raise refusal
        assert verdict is not None
        return verdict

    async def _check(self, repos: Repositories, code: str, mac: str) -> tuple[Verdict | None, ServiceError | None]:
        assert self.key is not None
        row = await repos.printouts.by_code(code)
        if row is None or not hmac.compare_digest(
                keyed_hash(self.key, row.kind, row.subject, row.version, row.digest), mac):
            return None, NotGenuine(N_("This code was not issued by HoSo: do not trust the printout."))
        issued = await repos.audit.at_seq(row.audit_seq)
        if (issued is None or issued.action != "printout.issue" or issued.details.get("digest") != row.digest
                or chain_hash(issued.prev_hash, hashed_fields(issued)) != issued.hash):
            return None, NotGenuine(N_("The record of this printout's issue was altered: tell the personnel office."))
        current_version, state = await STATES[row.kind](repos, row.subject)
        return Verdict(row.code, row.kind, row.subject, row.version, row.issued_at, row.issued_by,
                       state != row.state, current_version), None


def describe(verdict: Verdict, translate: Callable[[str], str], tz: dt.tzinfo) -> list[str]:
    """The verdict in a few plain lines (the caller escapes them for a chat or a page)."""
    as_of = (N_("as of version {version}") if verdict.kind == FORM else N_("as of audit event #{version}"))
    lines = [translate(N_("Genuine: {kind} {subject}, {as_of}, issued on {date} by {issuer}.")).format(
        kind=translate(KIND_TITLES[verdict.kind]), subject=verdict.subject,
        as_of=translate(as_of).format(version=verdict.version),
        date=verdict.issued_at.astimezone(tz).strftime("%d/%m/%Y %H:%M"), issuer=verdict.issued_by)]
    if not verdict.changed:
        lines.append(translate(N_("The record still stands as this printout shows it.")))
    elif verdict.current_version is not None and verdict.current_version != verdict.version:
        lines.append(translate(N_("A newer version exists (version {current}): the record changed since this "
                                  "printout.")).format(current=verdict.current_version))
    else:
        lines.append(translate(N_("A newer version exists: the record changed since this printout.")))
    return lines
