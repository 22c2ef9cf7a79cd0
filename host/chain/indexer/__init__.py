"""The explorer's index: account history, block hashes, cursors (docs/explorer.md)."""

from host.chain.indexer.index import Indexer, Position

__all__ = ["Indexer", "Position"]
