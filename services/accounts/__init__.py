"""Accounts issued by the personnel office, and sub-accounts asked for by the units."""
