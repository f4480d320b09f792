"""The regulation as data and rules: profiles, reference lists, the dossier's fields, the kinds of change, deadlines, salary, retirement."""
