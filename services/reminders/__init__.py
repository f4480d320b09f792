"""Reminders and notices, planned from the data and sent through the outbox."""
