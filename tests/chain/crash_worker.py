"""Commits deterministic blocks to a store forever (until killed); used by test_crash.py.

Block h holds one transfer from each of 5 accounts (nonce h), at time T0 + 3h, so any process
can recompute the exact chain up to any height.
"""

from __future__ import annotations

import sys

from host.chain.app import Application
from host.chain.types import BlockInfo
from tests.chain.helpers import T0, account, make_genesis, signed_tx, transfer

USERS = [account(i) for i in range(5)]


def block(height: int) -> BlockInfo:
    txs = [signed_tx(u, height, [transfer(USERS[(i + 1) % 5], 1 + height % 7)])
           for i, u in enumerate(USERS)]
    return BlockInfo(height, T0 + 3 * height, bytes(20), txs, [], [])


def run_to(app: Application, height: int) -> None:
    while app.info().last_height < height:
        app.finalize_block(block(app.info().last_height + 1))
        app.commit()


def main(path: str) -> None:
    app = Application(path)
    if app.store.height < 0:
        app.init_chain(make_genesis())
    while True:
        h = app.info().last_height + 1
        app.finalize_block(block(h))
        app.commit()
        print(h, app.info().last_app_hash.hex(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
