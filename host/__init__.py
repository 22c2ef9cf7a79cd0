"""Host-side software: bridge (device I/O), chain (the node), core (codecs shared by both)."""
