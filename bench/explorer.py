"""The explorer's indexer: what it costs per committed tx, and how fast account history answers.

1. The node's own work as the reference, in the same run: 3 blocks of 1,000 signed transfers
   through the engine flow (check_tx, finalize_block + commit on SQLite, and the block store's
   writes); then the indexer indexes those blocks. Its time per tx is given as a share of the
   node's time per tx (the node's tx/s would drop by that share if the index ran inline).
2. A block store of 10^5, then 10^6 transfers (2,000 accounts, blocks of 1,000; the envelopes
   decode like real ones, the signatures are not checked by the indexer so they are not made),
   indexed from scratch; then account-history pages of 20 for 200 random accounts: the newest page,
   and a page from a cursor halfway down the account's history, each with the 20 txs read back
   (what GET /accounts/{address}/txs does before JSON).

Sizes can be cut for a quick look: BENCH_EXPLORER_SIZES=10000,20000.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
from hashlib import sha256
from pathlib import Path

from bench.timing import Stopwatch
from host.chain.app import Application
from host.chain.engine.blockstore import BlockStore
from host.chain.engine.privval import cons_address
from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator
from host.chain.indexer import Indexer, Position
from host.chain.types import BlockInfo, BlockResult, Event, TxResult, VoteInfo
from host.core.cbor import dumps
from host.core.keys import Account, encode_address

CHAIN = "qos-bench"
T0 = 1_700_000_000.0
PER_BLOCK = 1_000
REFERENCE_BLOCKS = 3
ACCOUNTS = 2_000
QUERIES = 200
SIZES = tuple(int(s) for s in os.environ.get("BENCH_EXPLORER_SIZES", "100000,1000000").split(","))


def _accounts(n: int) -> list[Account]:
    return [Account.from_ed25519_seed(sha256(b"explorer bench %d" % i).digest()) for i in range(n)]


def reference() -> None:
    users = _accounts(500)
    cons = Account.from_ed25519_seed(sha256(b"explorer bench cons").digest())
    nonces = [0] * len(users)
    blocks = []
    for b in range(REFERENCE_BLOCKS):
        txs = []
        for i in range(PER_BLOCK):
            k = (b * PER_BLOCK + i) % len(users)
            nonces[k] += 1
            tx = {"chain": CHAIN, "nonce": nonces[k], "fee": 100, "memo": "",
                  "msgs": [{"type": "bank/transfer", "to": users[(k + 7) % len(users)].address,
                            "amount": 1 + i % 9}]}
            sig = users[k].sign(dumps(["qos/tx/1", CHAIN, tx]))
            txs.append(dumps({"tx": tx, "pubkey": users[k].pubkey, "sig": sig}))
        blocks.append(txs)
    n = REFERENCE_BLOCKS * PER_BLOCK
    with tempfile.TemporaryDirectory() as tmp:
        app = Application(Path(tmp) / "app.db")
        genesis = Genesis(CHAIN, T0, [GenesisAccount(u.address, 10**10) for u in users],
                          validators=[GenesisValidator(users[0].address, cons.pubkey, 10**8)])
        app.init_chain(genesis)
        store = BlockStore(Path(tmp) / "blocks.db")
        addr = cons_address(cons.pubkey)
        node = Stopwatch()
        for h, txs in enumerate(blocks, start=1):
            for raw in txs:
                assert app.check_tx(raw).code == 0
            result = app.finalize_block(BlockInfo(h, T0 + 3 * h, addr, txs,
                                                  [VoteInfo(addr, True, 10_000)], []))
            app.commit()
            store.save_block(h, sha256(b"%d" % h).digest(), int((T0 + h) * 1e9), addr, {}, txs,
                             result=result)
        node_s = node.elapsed()
        indexer = Indexer(store, Path(tmp) / "index.db")
        watch = Stopwatch()
        assert indexer.catch_up() == REFERENCE_BLOCKS
        index_s = watch.elapsed()
    print(f"node (check_tx + finalize/commit + block store), SQLite: {n / node_s:,.0f} tx/s, "
          f"{node_s / n * 1e6:.0f} us/tx")
    print(f"indexer at commit: {n / index_s:,.0f} tx/s, {index_s / n * 1e6:.0f} us/tx = "
          f"{index_s / node_s:.2f} of the node's time per tx")


def fill(store: BlockStore, users: list[Account], start_height: int, txs_wanted: int) -> int:
    """Append transfers until the store holds `txs_wanted` txs; the last height."""
    bechs = [encode_address(u.address) for u in users]
    rng = random.Random(start_height)
    height = start_height
    done = (start_height) * PER_BLOCK
    fake_sig = bytes(64)
    while done < txs_wanted:
        height += 1
        txs, results = [], []
        for i in range(PER_BLOCK):
            k, to = rng.randrange(len(users)), rng.randrange(len(users))
            tx = {"chain": CHAIN, "nonce": height * PER_BLOCK + i, "fee": 100, "memo": "",
                  "msgs": [{"type": "bank/transfer", "to": users[to].address, "amount": 5}]}
            txs.append(dumps({"tx": tx, "pubkey": users[k].pubkey, "sig": fake_sig}))
            event = Event("transfer", {"sender": bechs[k], "recipient": bechs[to], "amount": "5"})
            results.append(TxResult(events=[event]))
        store.save_block(height, sha256(b"%d" % height).digest(), int((T0 + height) * 1e9),
                         bytes(20), {}, txs,
                         result=BlockResult(results, [], [], sha256(b"app %d" % height).digest()))
        done += PER_BLOCK
    return height


def history(sizes: tuple[int, ...]) -> None:
    users = _accounts(ACCOUNTS)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        store = BlockStore(Path(tmp) / "blocks.db", durable=False)
        indexer = Indexer(store, Path(tmp) / "index.db")
        height = 0
        previous = 0
        for size in sizes:
            watch = Stopwatch()
            height = fill(store, users, height, size)
            fill_s = watch.elapsed()
            watch = Stopwatch()
            indexer.catch_up()
            index_s = watch.elapsed()
            added, previous = size - previous, size
            newest, deep = [], []
            for _ in range(QUERIES):
                address = users[rng.randrange(ACCOUNTS)].address
                watch = Stopwatch()
                page = indexer.account_history(address, None, 21)
                read = [store.tx_at(*p) for p, _ in page[:20]]
                newest.append(watch.elapsed())
                assert len(read) == min(20, len(page))
                total = indexer.db.execute(
                    "SELECT COUNT(*) FROM account_txs WHERE address = ?", (address,)
                ).fetchone()[0]
                middle = indexer.db.execute(
                    "SELECT height, idx FROM account_txs WHERE address = ? ORDER BY height, idx "
                    "LIMIT 1 OFFSET ?", (address, total // 2)).fetchone()
                watch = Stopwatch()
                page = indexer.account_history(address, Position(*middle), 21)
                read = [store.tx_at(*p) for p, _ in page[:20]]
                deep.append(watch.elapsed())
            per_account = size * 2 // ACCOUNTS
            print(f"{size:,} txs (about {per_account:,} per account): {added:,} added in "
                  f"{fill_s:.0f} s and indexed in {index_s:.1f} s ({added / index_s:,.0f} tx/s); "
                  f"history page of 20: newest median "
                  f"{statistics.median(newest) * 1e3:.2f} ms / p99 {_p99(newest) * 1e3:.2f} ms, "
                  f"halfway median {statistics.median(deep) * 1e3:.2f} ms / p99 "
                  f"{_p99(deep) * 1e3:.2f} ms")


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def main() -> None:
    reference()
    history(SIZES)


if __name__ == "__main__":
    main()
