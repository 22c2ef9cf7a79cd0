"""The node application alone (no engine): check_tx and finalize_block+commit throughput.

Reference measured in the same run: bare ed25519 verification of the same signatures (PyNaCl),
the floor cost of any tx; the ratio says how much of the per-tx budget the app spends on it.
"""

from __future__ import annotations

import statistics
import tempfile
from hashlib import sha256
from pathlib import Path

from bench.timing import Stopwatch
from host.chain.app import Application
from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator
from host.chain.types import BlockInfo, VoteInfo
from host.chain.x.staking.keeper import cons_address
from host.core.cbor import dumps
from host.core.keys import Account, verify

CHAIN = "qos-bench"
T0 = 1_700_000_000.0
ACCOUNTS = 500
BLOCKS = 6
PER_BLOCK = 1_000


def _accounts() -> list[Account]:
    return [Account.from_ed25519_seed(sha256(b"bench %d" % i).digest()) for i in range(ACCOUNTS)]


def _genesis(users: list[Account], cons: Account) -> Genesis:
    return Genesis(CHAIN, T0, [GenesisAccount(u.address, 10**10) for u in users],
                   validators=[GenesisValidator(users[0].address, cons.pubkey, 10**8)])


def _signed(acc: Account, nonce: int, to: bytes) -> tuple[bytes, bytes, bytes]:
    tx = {"chain": CHAIN, "nonce": nonce, "fee": 100, "memo": "",
          "msgs": [{"type": "bank/transfer", "to": to, "amount": 1 + nonce % 9}]}
    sign_bytes = dumps(["qos/tx/1", CHAIN, tx])
    sig = acc.sign(sign_bytes)
    return dumps({"tx": tx, "pubkey": acc.pubkey, "sig": sig}), sign_bytes, sig


def _blocks(users: list[Account]) -> tuple[list[list[bytes]], list[tuple[bytes, bytes, bytes]]]:
    nonces = [0] * len(users)
    blocks, triples = [], []
    for b in range(BLOCKS):
        txs = []
        for i in range(PER_BLOCK):
            k = (b * PER_BLOCK + i) % len(users)
            nonces[k] += 1
            raw, sb, sig = _signed(users[k], nonces[k], users[(k + 7) % len(users)].address)
            txs.append(raw)
            triples.append((users[k].pubkey, sb, sig))
        blocks.append(txs)
    return blocks, triples


def _run(app: Application, blocks: list[list[bytes]], cons: Account) -> tuple[float, list[float]]:
    votes = [VoteInfo(cons_address(cons.pubkey), True, 10_000)]
    latencies = []
    total = Stopwatch()
    for h, txs in enumerate(blocks, start=1):
        block = Stopwatch()
        res = app.finalize_block(BlockInfo(h, T0 + 3 * h, votes[0].address, txs, votes, []))
        app.commit()
        latencies.append(block.elapsed())
        assert all(r.code == 0 for r in res.tx_results)
    return total.elapsed(), latencies


def main() -> None:
    users = _accounts()
    cons = Account.from_ed25519_seed(sha256(b"bench cons").digest())
    blocks, triples = _blocks(users)
    n = BLOCKS * PER_BLOCK

    watch = Stopwatch()
    for pub, sb, sig in triples:
        verify(pub, sb, sig)
    verify_rate = n / watch.elapsed()
    print(f"reference ed25519 verify (PyNaCl): {verify_rate:,.0f} /s")

    app = Application(None)
    app.init_chain(_genesis(users, cons))
    watch = Stopwatch()
    for raw in blocks[0]:
        assert app.check_tx(raw).code == 0
    check_rate = PER_BLOCK / watch.elapsed()
    print(f"check_tx: {check_rate:,.0f} tx/s  (x{check_rate / verify_rate:.2f} of bare verify)")

    for label, path in (("in-memory", None), ("SQLite file", "file")):
        with tempfile.TemporaryDirectory() as tmp:
            app = Application(None if path is None else Path(tmp) / "bench.db")
            app.init_chain(_genesis(users, cons))
            total, lat = _run(app, blocks, cons)
            rate = n / total
            print(f"finalize+commit, {label}: {rate:,.0f} tx/s over {n} transfers in {BLOCKS} "
                  f"blocks of {PER_BLOCK}; per block median {statistics.median(lat) * 1e3:.0f} ms, "
                  f"max {max(lat) * 1e3:.0f} ms  (x{rate / verify_rate:.2f} of bare verify)")
    # What an engine does: check_tx on arrival (decode + verify once), then the block.
    with tempfile.TemporaryDirectory() as tmp:
        app = Application(Path(tmp) / "bench.db")
        app.init_chain(_genesis(users, cons))
        watch = Stopwatch()
        for h, txs in enumerate(blocks, start=1):
            for raw in txs:
                app.check_tx(raw)
            _run_one(app, h, txs, cons)
        rate = n / watch.elapsed()
        print(f"check_tx + finalize+commit (engine flow), SQLite file: {rate:,.0f} tx/s  "
              f"(x{rate / verify_rate:.2f} of bare verify)")


def _run_one(app: Application, h: int, txs: list[bytes], cons: Account) -> None:
    addr = cons_address(cons.pubkey)
    app.finalize_block(BlockInfo(h, T0 + 3 * h, addr, txs, [VoteInfo(addr, True, 10_000)], []))
    app.commit()


if __name__ == "__main__":
    main()
