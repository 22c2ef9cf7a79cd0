"""Relayer chaos (issue 10): two `qos relay` processes at once, one of them killed with SIGKILL 20
times at random moments while token transfers flow both ways; afterwards every packet arrived
exactly once, every ack came back once, and the tokens add up to the unit."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from host.chain.x.qcp.tokens import escrow_address
from host.devtools.keyfile import save_key
from tests.chain.test_relayer import (
    QOS,
    RECIPIENT,
    RELAYER,
    RIVAL,
    USER,
    A,
    B,
    Network,
)

pytestmark = pytest.mark.timeout(300)

KILLS = 20
ROOT = Path(__file__).resolve().parents[2]


def start_relayer(net: Network, key: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "host.cli.qos", "relay", "--a", net.a_url, "--b", net.b_url,
         "--key", str(key), "--poll", "0.1", "--batch", "4"],
        cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_twenty_kill_9s_under_traffic_both_ways_lose_and_duplicate_nothing(tmp_path_factory):
    root = tmp_path_factory.mktemp("chaos")
    net = Network(root)
    keys = {}
    for name, account in (("relayer", RELAYER), ("rival", RIVAL)):
        keys[name] = root / f"{name}.json"
        save_key(keys[name], account)
    log = root / "rival.log"
    lives = [root / f"victim-{n}.log" for n in range(KILLS + 1)]  # one log per incarnation
    rnd = random.Random(10)
    victim = start_relayer(net, keys["relayer"], lives[0])
    rival = start_relayer(net, keys["rival"], log)
    sent = {"a": 0, "b": 0}
    escrow_a0 = net.balance(net.a_url, escrow_address(B))
    try:
        for kill in range(KILLS):
            amount = 1 + kill
            net.send_tokens(net.a_url, A, B, USER, "QOS", amount)
            sent["a"] += amount
            if kill % 2 == 0:
                net.send_tokens(net.b_url, B, A, RECIPIENT, "QOS", amount)
                sent["b"] += amount
            time.sleep(rnd.uniform(0.5, 1.2))  # somewhere mid-work: reading, proving, submitting
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            victim = start_relayer(net, keys["relayer"], lives[kill + 1])
        deadline = time.monotonic() + 120
        while not net.fully_relayed():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            assert victim.poll() is None and rival.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        a_out, a_in = net.seqs(net.a_url, B)
        b_out, b_in = net.seqs(net.b_url, A)
        assert (a_out, b_out) == (KILLS, KILLS // 2)  # every send queued once
        assert (b_in, a_in) == (a_out, b_out)  # every packet received once, in order
        for seq in range(1, a_out + 1):
            assert net.result_on_a(seq) == {"ok": True, "log": "ok"}, seq
        for seq in range(1, b_out + 1):
            assert net.result_on_a(seq, net.b_url, A) == {"ok": True, "log": "ok"}, seq
        # not one unit lost or minted twice
        assert net.voucher(net.b_url, RECIPIENT.address, f"qcp/{A}/QOS") == sent["a"]
        assert net.voucher(net.a_url, USER.address, f"qcp/{B}/QOS") == sent["b"]
        assert net.balance(net.a_url, escrow_address(B)) == escrow_a0 + sent["a"]
        assert net.balance(net.b_url, escrow_address(A)) == sent["b"]
        assert sent["a"] < QOS  # the amounts above are units, far below any fee rounding
        # The kills hit a relayer at work: many of its lives submitted something before dying
        # (delivered, or found the rival faster).
        working = sum(any(mark in life.read_text() for mark in ("delivered at height",
                                                                "skipping", "did not take"))
                      for life in lives[:KILLS])
        assert working >= KILLS // 4, working
    finally:
        for proc in (victim, rival):
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        net.close()
