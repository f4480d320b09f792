"""Dossiers in and out of spreadsheets."""
