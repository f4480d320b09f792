"""Logging changes against their papers: checks, planners per kind, declarations, new dossiers."""
