"""One validator's work on honest and hostile input, printed as a digest: run as Python and with
host.chain.native's compiled modules, the two must print the same (tests/chain/test_native.py).

    python -m tests.chain.native_scenario python
    python -m tests.chain.native_scenario compiled BUILD_DIR

Everything a compiled module computes is in the digest: every byte CometBFT would read back over
the ABCI socket (CheckTx, FinalizeBlock, Commit, recheck), the app hash of each block, what the
explorer's index answers, and cbor.loads's verdict on a corpus of mutated encodings.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
from hashlib import sha256
from pathlib import Path
from typing import Any

from host.chain import native

T0 = 1_700_000_000


def main(argv: list[str]) -> int:
    if argv[0] == "compiled":
        reason = native.enable(Path(argv[1]))
        if reason:
            print(json.dumps({"error": reason}))
            return 3
    digest = sha256()
    report: dict[str, Any] = {}
    report["abci"] = asyncio.run(_validator(digest))
    report["cbor"] = _cbor_corpus(digest)
    report["digest"] = digest.hexdigest()
    report["compiled"] = native.compiled_now()
    print(json.dumps(report))
    return 0


def _accounts() -> list:
    from host.core.keys import Account

    return [Account.from_ed25519_seed(sha256(b"native %d" % i).digest()) for i in range(6)]


def _blocks(users: list) -> list[list[bytes]]:
    """Three blocks: transfers (one signer twice a block), then in each block a forged
    signature, a replayed nonce, garbage, a truncated and an over-long copy, and a tx with one
    byte changed."""
    from host.core.cbor import dumps

    rng = random.Random(7)
    nonces = [0] * len(users)
    blocks = []
    for height in range(1, 4):
        txs = []
        for k in [0, 1, 2, 3, 4, 0]:
            nonces[k] += 1
            tx = {"chain": "qos-native", "nonce": nonces[k], "fee": 2000, "memo": f"n{height}",
                  "msgs": [{"type": "bank/transfer", "to": users[5].address,
                            "amount": 10 + rng.randrange(1000)}]}
            sig = users[k].sign(dumps(["qos/tx/1", "qos-native", tx]))
            txs.append(dumps({"tx": tx, "pubkey": users[k].pubkey, "sig": sig}))
        honest = txs[1]
        forged = bytearray(honest)
        forged[-40] ^= 1  # inside the signature
        flipped = bytearray(honest)
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        txs += [bytes(forged), honest, rng.randbytes(90), honest[:-3], honest + b"\x00",
                bytes(flipped)]
        blocks.append(txs)
    return blocks


async def _validator(digest: Any) -> dict:
    from host.chain.app import Application
    from host.chain.engine.abci_proto import encode_uvarint
    from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator
    from host.chain.x.staking.keeper import cons_address
    from host.core.keys import Account
    from host.devtools.socket_validator import read_answers, socket_validator

    users = _accounts()
    cons = Account.from_ed25519_seed(sha256(b"native cons").digest())
    genesis = Genesis(
        chain_id="qos-native", genesis_time=float(T0),
        accounts=[GenesisAccount(u.address, 10**9) for u in users],
        validators=[GenesisValidator(users[0].address, cons.pubkey, 10**8, "v", 1000)])
    blocks = _blocks(users)
    hashes = []
    with tempfile.TemporaryDirectory() as tmp:
        app = Application(Path(tmp) / "app.db")
        app.init_chain(genesis)
        async with socket_validator(app, Path(tmp)) as (engine, indexer, reader, writer):
            pb = engine.abci.pb
            recheck = pb.enum_value("tendermint.abci.CheckTxType", "RECHECK")
            signed = pb.enum_value("tendermint.types.BlockIDFlag", "BLOCK_ID_FLAG_COMMIT")

            def frame(**request: Any) -> bytes:
                body = pb.abci.Request(**request).SerializeToString()
                return encode_uvarint(len(body)) + body

            async def ask(requests: list[bytes]) -> None:
                """Sends the framed requests and a Flush; every answer goes into the digest."""
                writer.write(b"".join(requests) + frame(flush=pb.abci.RequestFlush()))
                for answer in await read_answers(reader, len(requests) + 1):
                    digest.update(len(answer).to_bytes(4, "big") + answer)

            for height, txs in enumerate(blocks, start=1):
                await ask([frame(check_tx=pb.abci.RequestCheckTx(tx=tx)) for tx in txs])
                block = pb.abci.RequestFinalizeBlock(
                    txs=txs, height=height, hash=sha256(b"block %d" % height).digest(),
                    proposer_address=cons_address(cons.pubkey))
                block.time.seconds, block.time.nanos = T0 + 3 * height, 123_456_789 * height
                vote = block.decided_last_commit.votes.add(block_id_flag=signed)
                vote.validator.address, vote.validator.power = cons_address(cons.pubkey), 10**8
                await ask([frame(finalize_block=block), frame(commit=pb.abci.RequestCommit())])
                await ask([frame(check_tx=pb.abci.RequestCheckTx(tx=tx, type=recheck))
                           for tx in txs])
                hashes.append(app.info().last_app_hash.hex())
            for user in users:
                page = indexer.account_history(user.address, None, 50)
                digest.update(repr(page).encode())
            digest.update(repr(indexer.counterparties()).encode())
            counters = dict(engine.recorder.counters)
        app.close()
    return {"app_hashes": hashes, "counters": counters}


def _cbor_corpus(digest: Any) -> dict:
    """cbor.loads on 4,000 encodings: valid documents and copies with a byte changed, cut or
    added. Each verdict (the value, or the error's message) goes into the digest."""
    from host.core import cbor

    rng = random.Random(11)
    seeds = [cbor.dumps(v) for v in (
        {"a": 1, "bb": [b"\x00" * 30, -5, "t\u00e9xt", None, True], "c": {"d": 2**63}},
        [[[[1]]], {"": False}, 2**64 - 1, -(2**63)],
        {"tx": {"chain": "x", "nonce": 1, "fee": 0, "msgs": [], "memo": ""}, "sig": b"s" * 64},
    )]
    refused = 0
    for _ in range(4000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(len(data) + 1)
            action = rng.randrange(3)
            if action == 0 and at < len(data):
                data[at] = rng.randrange(256)
            elif action == 1 and at:
                del data[at:]
                data += rng.randbytes(rng.randrange(3))
            else:
                data.insert(at, rng.randrange(256))
        try:
            verdict = repr(cbor.loads(bytes(data)))
        except cbor.CBORError as exc:
            verdict = f"refused: {exc}"
            refused += 1
        digest.update(verdict.encode() + b"\n")
    return {"refused": refused}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
