"""What a QSC payment and a market trade cost the node, against a QOS transfer in the same run.

Each kind of tx runs in blocks of PER_BLOCK through finalize_block + commit on an in-memory
application (signatures made beforehand); the figure is the best of REPEAT runs per kind, and
the ratio is against bank/transfer (reference). Kinds are interleaved after a warm-up
block. A settlement day with PER_BLOCK
payers is timed the same way, as one block.
"""

from __future__ import annotations

from hashlib import sha256

from bench.timing import best_s, load_note, ratio
from host.chain.app import Application
from host.chain.genesis import Genesis, GenesisAccount, GenesisValidator
from host.chain.types import BlockInfo, VoteInfo
from host.chain.x.staking.keeper import cons_address
from host.core.cbor import dumps
from host.core.keys import Account

CHAIN = "qos-bench"
T0 = 1_700_000_000.0
USERS = 200
PER_BLOCK = 400
REPEAT = 3


def _signed(acc: Account, nonce: int, msg: dict) -> bytes:
    tx = {"chain": CHAIN, "nonce": nonce, "fee": 20_000, "memo": "", "msgs": [msg]}
    sig = acc.sign(dumps(["qos/tx/1", CHAIN, tx]))
    return dumps({"tx": tx, "pubkey": acc.pubkey, "sig": sig})


class _Bench:
    """A chain where every user holds QOS and STAR, and STAR has a market."""

    def __init__(self, users: list[Account], cons: Account) -> None:
        self.users, self.cons = users, cons
        self.app = Application(None)
        self.app.init_chain(Genesis(CHAIN, T0, [GenesisAccount(u.address, 10**10) for u in users],
                                    validators=[GenesisValidator(users[0].address, cons.pubkey,
                                                                 10**8)]))
        self.height, self.nonces = 0, [0] * len(users)
        owner = users[0]
        self.block([self.tx(0, {"type": "qsc/create", "name": "STAR", "banker": owner.address,
                                "supply_cap": 10**15})])
        self.block([self.tx(0, {"type": "qsc/issue", "name": "STAR", "to": u.address,
                                "amount": 10**9}) for u in users])
        self.block([self.tx(0, {"type": "exchange/add_liquidity", "name": "STAR", "qos": 10**8,
                                "max_qsc": 10**8, "min_shares": 0})])

    def tx(self, k: int, msg: dict) -> bytes:
        self.nonces[k] += 1
        return _signed(self.users[k], self.nonces[k], msg)

    def block(self, txs: list[bytes], advance: float = 3.0) -> None:
        self.height += 1
        addr = cons_address(self.cons.pubkey)
        result = self.app.finalize_block(BlockInfo(self.height, T0 + advance * self.height, addr,
                                                   txs, [VoteInfo(addr, True, 10_000)], []))
        self.app.commit()
        assert all(r.code == 0 for r in result.tx_results), result.tx_results[0].log

    def batch(self, make) -> list[bytes]:
        return [self.tx(i % len(self.users), make(i)) for i in range(PER_BLOCK)]


KINDS = {
    "bank/transfer (reference)": lambda b, i: {"type": "bank/transfer",
                                               "to": b.users[(i + 7) % USERS].address,
                                               "amount": 1},
    "qsc/transfer (records mining credit)": lambda b, i: {
        "type": "qsc/transfer", "name": "STAR", "to": b.users[(i + 7) % USERS].address,
        "amount": 1},
    "exchange/swap (accrues the price)": lambda b, i: {
        "type": "exchange/swap", "name": "STAR", "sell": "QOS" if i % 2 else "STAR",
        "amount": 1000, "min_out": 0},
}


def main() -> None:
    users = [Account.from_ed25519_seed(sha256(b"market %d" % i).digest()) for i in range(USERS)]
    cons = Account.from_ed25519_seed(sha256(b"market cons").digest())
    bench = _Bench(users, cons)
    print(load_note())
    bench.block(bench.batch(lambda i: KINDS["bank/transfer (reference)"](bench, i)))  # warm-up
    best = dict.fromkeys(KINDS, float("inf"))
    for _ in range(REPEAT):  # interleaved, so load changes hit every kind alike
        for label, make in KINDS.items():
            txs = bench.batch(lambda i, make=make: make(bench, i))
            best[label] = min(best[label], best_s(lambda txs=txs: bench.block(txs), 1))
    reference = best["bank/transfer (reference)"] / PER_BLOCK
    for label, seconds in best.items():
        per_tx = seconds / PER_BLOCK
        print(f"{label}: {per_tx * 1e6:,.0f} us/tx  ({ratio(per_tx / reference)} of bank/transfer)")
    bench.block([])  # the payments above are pending; settle them at the next day's first block
    settle = best_s(lambda: bench.block([], advance=86400.0), 1)
    print(f"settlement of a day with {USERS} paying accounts: {settle * 1e3:,.1f} ms in one block "
          f"({ratio(settle / reference / PER_BLOCK)} of a {PER_BLOCK}-transfer block)")


if __name__ == "__main__":
    main()
