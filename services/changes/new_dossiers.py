"""A new dossier (/new), from its recruitment decision: the required questions, and the optional groups
filled now or later ("Complete the dossier"). The profile gives the deadline to complete it, counted
from the decision's date.
"""

from __future__ import annotations

import datetime as dt

from services.changes.checks import answer_date, new_personal_id, optional_date, unit_for
from services.changes.planners import coefficient_on
from services.changes.recording import APPLIED, Logged, Preview, Recorder, Uploads
from services.core.policy import Action
from services.core.text import fold
from services.dossiers.history import snapshot
from services.platform.audit import record
from services.platform.sessions import sensitive
from services.regime.change_kinds import NEW_DOSSIER
from services.regime.salary import steps_of
from storage import Repositories
from storage.models import Dossier, DossierVersion, OrgUnit


class NewDossiers(Recorder):
    async def preview_new(self, answers: dict[str, str]) -> Preview:
        """For /new's summary: the deadline to complete the dossier, from the recruitment decision."""
        async with self.uow.read() as repos:
            deadline, timely = await self.deadline(repos, NEW_DOSSIER, answers, declared=False)
        return Preview((), deadline, timely)

    async def create(self, answers: dict[str, str], uploads: Uploads = ()) -> Logged:
        """A new dossier from /new, with its recruitment decision; the deadline to complete it comes back."""
        answers = await self.recheck(NEW_DOSSIER, answers, declared=False)
        stored = [self.check_file(upload) for upload in uploads]
        async with sensitive(self.uow, self.actor, self.clock, Action.EDIT_DOSSIER) as repos:
            custodian = await unit_for(repos, self.actor, answers["custodian_unit"], "custodian_unit", in_scope=True)
            if await repos.dossiers.id_of(answers["personal_id"]) is not None:  # someone was quicker
                await new_personal_id(self.uow, self.actor, answers["personal_id"], "personal_id")
            now = self.clock.now()
            dossier = await self._dossier(repos, answers, custodian, now)
            repos.session.add(dossier)
            await repos.flush()
            deadline, timely = await self.deadline(repos, NEW_DOSSIER, answers, declared=False)
            event = await self.add_event(repos, NEW_DOSSIER, dossier, custodian, answers, APPLIED, deadline, timely)
            recruited = dossier.recruited_on
            await repos.dossiers.add_records([{
                "dossier_id": dossier.id, "kind": "work_history", "date_from": recruited, "date_to": None,
                "data": {"text": f"{answers['post']}, {custodian.name}", "doc_number": answers["doc_number"]},
                "created_at": now}])
            await repos.changes.add_version(DossierVersion(
                dossier_id=dossier.id, change_event_id=event.id, valid_from=recruited, recorded_at=now,
                snapshot=snapshot(dossier), changes=None))
            await self.attach_files(repos, event, stored, uploads)
            await record(repos, self.clock, self.actor, "change.new", "dossier", dossier.id, event=event.id,
                         on_time=timely, attachments=len(stored))
        return Logged(event.id, dossier.id, dossier.full_name, NEW_DOSSIER.name, APPLIED, deadline, timely, ())

    @staticmethod
    async def _dossier(repos: Repositories, answers: dict[str, str], custodian: OrgUnit, now: dt.datetime) -> Dossier:
        """The dossier from the checked answers: reference codes by their names, step 1 unless told."""
        rank = next(i for i in await repos.references.listing("rank") if i.code == answers["rank_code"])
        ethnicities = {i.code: i.name for i in await repos.references.listing("ethnicity")}
        levels = {i.code: i.name for i in await repos.references.listing("education")}
        step = (int(answers["salary_step"]) if answers.get("salary_step") else 1)
        coefficient = coefficient_on(steps_of(rank.extra.get("group")), step)
        recruited = answer_date(answers["effective_on"])

        def text(key: str) -> str | None:  # an optional answer left empty is no value
            return answers.get(key) or None

        return Dossier(
            personal_id=answers["personal_id"], full_name=answers["full_name"],
            folded_name=fold(answers["full_name"]), sex=answers["sex"], birth_date=answer_date(answers["birth_date"]),
            ethnicity=ethnicities.get(answers["ethnicity"], answers["ethnicity"]), nationality="Việt Nam",
            birthplace=text("birthplace"), home_town=text("home_town"),
            permanent_address=text("permanent_address"), current_address=text("current_address"), phone=text("phone"),
            recruited_on=recruited, recruiting_agency=answers["doc_issuer"],
            recruitment_decision=f"{answers['doc_number']} ngày {answers['doc_date']}",
            post=answers["post"], post_since=recruited,
            rank_code=rank.code, rank_name=rank.name, rank_since=recruited,
            salary_step=step, salary_coefficient=coefficient,
            salary_since=optional_date(answers.get("salary_since")) or recruited,
            professional_level=levels.get(answers.get("professional_level") or "") or None,
            major=text("major"), political_theory=text("political_theory"), state_management=text("state_management"),
            foreign_language=text("foreign_language"), it_skill=text("it_skill"),
            party_joined_on=optional_date(answers.get("party_joined_on")),
            party_official_on=optional_date(answers.get("party_official_on")),
            military_enlisted_on=optional_date(answers.get("military_enlisted_on")),
            custodian_unit_id=custodian.id, working_unit_id=custodian.id,
            employment_status=answers.get("employment_status") or "probation",
            created_at=now, updated_at=now,
        )
