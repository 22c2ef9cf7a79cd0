"""kill -9 of the real `qos pin-server` process at random instants while requests stream in.

A model follows each wallet's possible failure counts (3 = erased). A request whose reply came
back happened exactly once; one cut short by the kill may or may not have happened. Whatever the
server answers later must fit the model: a right PIN that gets the key when the model says the
secret was erased is a resurrection, a random key when the model says it must exist is a loss.
"""

from __future__ import annotations

import os
import random
import threading
import time

from host.devtools.pinserver import PinServerProcess
from host.pinserver import client
from host.pinserver.protocol import Status

from .refclient import Wallet, open_reply

ROUNDS = 25
WALLETS = 6
ERASED = 3


def after(counts: set[int], right: bool) -> set[int]:
    return {ERASED if c == ERASED else (0 if right else min(c + 1, ERASED)) for c in counts}


def test_kill_9_never_loses_or_resurrects_a_secret(tmp_path):
    rng = random.Random(0x9A11)
    with PinServerProcess(tmp_path) as server:
        pubkey = client.fetch_info(server.url).pubkey
        wallets: list[Wallet] = []
        keys: list[bytes] = []
        possible: list[set[int]] = []

        def enrol() -> None:
            wallet = Wallet(pubkey)
            request, session = wallet.set()
            status, data = open_reply(session, client.relay(server.url, request))
            assert status == Status.OK
            wallets.append(wallet)
            keys.append(data[:32])
            possible.append({0})

        for _ in range(WALLETS):
            enrol()
        cut_short = 0
        judged = 0
        for _ in range(ROUNDS):
            log: list[tuple[int, bool, bytes | None, tuple[bytes, ...]]] = []
            stop = threading.Event()

            def traffic(stop: threading.Event, log: list) -> None:
                while not stop.is_set():
                    i = rng.randrange(len(wallets))
                    right = rng.random() < 0.6
                    request, session = wallets[i].get(None if right else os.urandom(32))
                    try:
                        reply: bytes | None = client.relay(server.url, request, timeout=10)
                    except client.PinServerError:
                        reply = None
                    log.append((i, right, reply, session))
                    if reply is None:
                        return

            worker = threading.Thread(target=traffic, args=(stop, log), daemon=True)
            worker.start()
            time.sleep(rng.uniform(0.05, 0.4))
            server.kill()
            stop.set()
            worker.join(30)
            assert not worker.is_alive()
            server.start()
            for i, right, reply, session in log:
                if reply is None:
                    cut_short += 1
                    possible[i] = possible[i] | after(possible[i], right)
                    continue
                status, data = open_reply(session, reply)
                assert status == Status.OK, "a fresh request was refused as stale"
                judged += 1
                if right:
                    if data[:32] == keys[i]:
                        assert possible[i] - {ERASED}, f"wallet {i}: an erased secret came back"
                        possible[i] = {0}
                    else:
                        assert ERASED in possible[i], f"wallet {i}: a secret was lost"
                        possible[i] = {ERASED}
                else:
                    possible[i] = after(possible[i], right=False)
            # keep enough wallets alive for the next rounds to mean something
            if sum(1 for p in possible if p != {ERASED}) < WALLETS // 2:
                enrol()
        assert judged > ROUNDS  # requests really flowed between the kills
        assert cut_short >= ROUNDS // 2  # and most kills caught one in flight
        # every secret the model says exists opens with the right PIN, after all those kills
        for i, wallet in enumerate(wallets):
            request, session = wallet.get()
            _, data = open_reply(session, client.relay(server.url, request))
            if possible[i] == {ERASED}:
                assert data[:32] != keys[i]
            elif ERASED not in possible[i]:
                assert data[:32] == keys[i]
