"""Engines that drive the QOS application: the embedded solo engine and CometBFT (ABCI++)."""
