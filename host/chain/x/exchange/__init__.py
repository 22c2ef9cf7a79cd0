"""x/exchange: the on-chain QSC/QOS market (white paper figure 2.5), one constant-product pool per
QSC token; its time-weighted price is the rate x/qsc mines at (4.3)."""
