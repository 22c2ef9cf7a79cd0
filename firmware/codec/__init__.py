# Deterministic CBOR and the QOS transaction schema (docs/protocol.md sections 1-4).
