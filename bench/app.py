"""The node application alone (no engine): check_tx and finalize_block+commit throughput.

Reference measured in the same run: bare ed25519 verification of the same signatures (PyNaCl),
the floor cost of any tx; the ratio says how much of the per-tx budget the app spends on it.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from hashlib import sha256
from pathlib import Path
from typing import Any

from bench.timing import Stopwatch
from host.chain import native
from host.chain.app import Application
from host.chain.engine.abci_proto import encode_uvarint
from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator
from host.chain.types import BlockInfo, VoteInfo
from host.chain.x.staking.keeper import cons_address
from host.core.cbor import dumps
from host.core.keys import Account, verify
from host.devtools.socket_validator import read_answers, socket_validator

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
    phases = validator_flow(users, cons, blocks)
    total = sum(phases.values())
    shares = ", ".join(f"{phase} {us:.0f}" for phase, us in phases.items())
    print(f"one validator under CometBFT (ABCI socket, block store, recorder, index): "
          f"{total:.0f} us per tx ({shares}); bare verify {1e6 / verify_rate:.0f} us")
    loaded = native.compiled_now()
    print(f"qosd's compiled modules (host/chain/native.py) in these figures: {len(loaded)} of "
          f"{len(native.MODULES)} (`python -m bench app` loads them, QOSD_PURE_PYTHON=1 does not)")


def validator_flow(users: list[Account], cons: Account, blocks: list[list[bytes]]) -> dict:
    """One validator's share of each tx under CometBFT, as CometBFT would ask for it over the ABCI
    socket (unix, in this process): CheckTx, FinalizeBlock and Commit, then the recheck of what
    stays in the mempool (block h+1's txs wait while h commits), through qosd's AbciServer with
    the CometBFT engine's block store and recorder and the explorer's index behind it, as
    `qosd start` wires them. us per tx by phase; every tx must be admitted, kept on recheck
    and committed."""
    return asyncio.run(_validator_flow(users, cons, blocks))


async def _validator_flow(users: list[Account], cons: Account, blocks: list[list[bytes]]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        app = Application(Path(tmp) / "app.db")
        app.init_chain(_genesis(users, cons))
        async with socket_validator(app, Path(tmp)) as (engine, indexer, reader, writer):
            requests = _AbciRequests(engine.abci.pb, cons)
            spent = {"CheckTx": 0.0, "FinalizeBlock + Commit": 0.0, "recheck": 0.0}

            async def send(phase: str, data: bytes, answers: int) -> None:
                watch = Stopwatch()
                writer.write(data)
                await _read_answers(reader, answers)
                spent[phase] += watch.elapsed()

            await send("CheckTx", *requests.check(blocks[0]))
            for h, txs in enumerate(blocks, start=1):
                following = blocks[h] if h < len(blocks) else []
                await send("CheckTx", *requests.check(following))
                await send("FinalizeBlock + Commit", *requests.finalize(h, txs))
                await send("recheck", *requests.check(following, recheck=True))
            indexed = indexer.indexed_height()
        app.close()
    n = sum(len(txs) for txs in blocks)
    counters = engine.recorder.counters
    assert (counters["txs_committed"], counters["txs_failed"], counters["txs_dropped"]) == (n, 0, 0)
    assert indexed == len(blocks), "the index kept up with every block"
    return {phase: seconds / n * 1e6 for phase, seconds in spent.items()}


class _AbciRequests:
    """CometBFT's requests, framed as on its socket (length varint, then the Request)."""

    def __init__(self, pb: Any, cons: Account) -> None:
        self.pb = pb
        self.proposer = cons_address(cons.pubkey)
        self.recheck_type = pb.enum_value("tendermint.abci.CheckTxType", "RECHECK")
        self.signed = pb.enum_value("tendermint.types.BlockIDFlag", "BLOCK_ID_FLAG_COMMIT")

    def _frame(self, **request: Any) -> bytes:
        body = self.pb.abci.Request(**request).SerializeToString()
        return encode_uvarint(len(body)) + body

    def check(self, txs: list[bytes], recheck: bool = False) -> tuple[bytes, int]:
        kind = self.recheck_type if recheck else 0
        data = b"".join(self._frame(check_tx=self.pb.abci.RequestCheckTx(tx=tx, type=kind))
                        for tx in txs)
        return data + self._frame(flush=self.pb.abci.RequestFlush()), len(txs) + 1

    def finalize(self, height: int, txs: list[bytes]) -> tuple[bytes, int]:
        block = self.pb.abci.RequestFinalizeBlock(
            txs=txs, height=height, hash=sha256(b"block %d" % height).digest(),
            proposer_address=self.proposer)
        block.time.seconds = int(T0) + 3 * height
        vote = block.decided_last_commit.votes.add(block_id_flag=self.signed)
        vote.validator.address, vote.validator.power = self.proposer, 10_000
        data = (self._frame(finalize_block=block) + self._frame(commit=self.pb.abci.RequestCommit())
                + self._frame(flush=self.pb.abci.RequestFlush()))
        return data, 3


async def _read_answers(reader: asyncio.StreamReader, count: int) -> None:
    """Read `count` framed Responses; an exception response (its first field is field 1,
    `exception`: key byte 0x0a) means the app failed, and so does the benchmark."""
    for answer in await read_answers(reader, count):
        if answer[:1] == b"\x0a":
            raise RuntimeError(f"the ABCI server answered an exception: {answer!r}")


def _run_one(app: Application, h: int, txs: list[bytes], cons: Account) -> None:
    addr = cons_address(cons.pubkey)
    app.finalize_block(BlockInfo(h, T0 + 3 * h, addr, txs, [VoteInfo(addr, True, 10_000)], []))
    app.commit()


if __name__ == "__main__":
    main()
