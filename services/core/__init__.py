"""Who acts, what they may do, errors, time, language, validation: what everything else stands on."""
