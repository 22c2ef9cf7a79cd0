"""Host-side software for the QOS signer: bridge (device I/O), chain (the node), core (shared codecs)."""
