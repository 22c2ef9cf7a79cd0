"""x/qsc: QSC tokens (ERC20 semantics) and transaction-as-mining (white paper 4.3)."""
