"""x/identity: an address registers once as an on-chain identity with a profile hash."""
