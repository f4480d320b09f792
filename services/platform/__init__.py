"""Shared services of the record: the audit trail, sessions, the outbox, attachments, units, preferences."""
