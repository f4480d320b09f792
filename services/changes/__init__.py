"""Logging changes against their papers, one module per job:

- checks: each answer checked as typed, and all again at the write; the buttons of data-driven questions.
- planners: what each kind of change does to a dossier, a table keyed by kind (how to add a kind: there).
- recording: what every way of recording shares: the event and its deadline, the plan applied with a
  version, the scanned papers, who may write.
- log: a clerk's change (/update), applied at once, or registered to be entered later.
- declarations: the person's own declarations and the clerk's decision (/declare, /pending).
- new_dossiers: a new dossier from its recruitment decision (/new).

Reading the past back (history, as of a date, the scanned papers) is services.dossiers.history; the admin's
days off are services.platform.calendar.
"""
