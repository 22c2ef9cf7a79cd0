"""x/gov: proposals with deposits, voting by bonded stake (or by a QSC token's holdings), and the
way out of every pool: community pool, genesis reserve and each QSC token's community fund."""
