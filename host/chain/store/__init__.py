"""Authenticated key-value store: sparse Merkle tree + SQLite, with inclusion/exclusion proofs."""

from host.chain.store.cache import CacheKV
from host.chain.store.db import MerkleStore
from host.chain.store.smt import EMPTY, Tree, verify_proof

__all__ = ["EMPTY", "CacheKV", "MerkleStore", "Tree", "verify_proof"]
