"""Who keeps a dossier: transfer requests, and the merge of units that moves custody."""
