"""The title of each kind of reminder or notice, as the chat's list and mute buttons and the command line
show it: one table for both (the command line does without aiogram, so it is not in handlers/)."""

from __future__ import annotations

from services.core.i18n import N_

KIND_TITLES = {
    "report_due": N_("Half-yearly report due"),
    "report_overdue": N_("Half-yearly report overdue"),
    "report_overdue_summary": N_("Overdue half-yearly reports (summary)"),
    "report_submitted": N_("Half-yearly reports submitted"),
    "inspection_findings": N_("Findings of the personnel office's inspection"),
    "feedback_answer": N_("Answers to your feedback"),
    "new_dossier_deadline": N_("New dossier to complete"),
    "salary_raise_due": N_("Salary step raises due"),
    "retirement_notice": N_("Retirement notice due"),
    "retirement_decision": N_("Retirement decision due"),
    "declaration_pending": N_("Declarations waiting for you"),
    "transfer_pending": N_("Custody requests waiting for you"),
    "transfer_escalation": N_("Custody requests overdue (escalation)"),
    "incident": N_("Incident notices"),
    "outage": N_("Outage of HoSo"),
    "backup_failed": N_("Failed backups"),
    "audit_broken": N_("The audit trail's daily check"),
    "subaccount_pending": N_("Sub-account requests waiting"),
    "change_deadline": N_("Registered decisions to enter"),
    "annual_supplement": N_("Supplementary resume campaign"),
    "declaration_new": N_("New declarations to review"),
    "declaration_decided": N_("Decisions on your declarations"),
    "transfer_requested": N_("Custody requests to decide"),
    "transfer_decided": N_("Decisions on custody requests"),
}
