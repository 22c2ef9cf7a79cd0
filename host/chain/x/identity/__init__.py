"""x/identity: one on-chain identity per address (white paper 3.3): registration, update and
revocation by its owner, and attestations about it by QSC issuers for their scene's users."""
