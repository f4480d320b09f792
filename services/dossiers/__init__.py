"""Reading dossiers: the card, lookup, the role's mask, history, import and export."""
