"""x/qcp: cross-chain queues with Merkle-proof relay (protocol.md section 4)."""
