"""x/mint: the 51% mined supply, 7 halving periods of T, per-block reward from block time."""
