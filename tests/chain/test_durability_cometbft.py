"""Under load and perturbation on real CometBFT (kill -9 of CometBFT, of the app (the ABCI
server), of both, SIGSTOP of both, a stop and restart of everything), every tx the node
acknowledged (202 from POST /txs, "accepted" from POST /txs/batch) ends committed or reported
dropped with a reason by GET /txs/{hash}: none disappears silently (issue 14 counted 53 of 7,748
that did)."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from hashlib import sha256

import pytest

from host.devtools import testnet
from tests.chain.helpers import QOS, account, signed_tx, transfer

CHAIN = "qos-durability-test"
SENDERS = 6
BATCH = 5  # txs per POST /txs/batch from the batch senders (the odd ones)

pytestmark = [pytest.mark.cometbft, pytest.mark.slow]


def http(method: str, url: str, body: bytes | None = None,
         content_type: str = "application/cbor") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class Load:
    """SENDERS clients, each sending transfers with consecutive nonces; a refusal makes the
    client read its nonce from the chain again (after a loss its next tx reuses a nonce, with a
    different amount: the old acknowledged tx can then only be dropped, and must be reported)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acked: dict[str, int] = {}  # tx hash -> sender
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._send, args=(k,)) for k in range(SENDERS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _send(self, k: int) -> None:
        """Even senders POST /txs one tx at a time, odd ones POST /txs/batch BATCH at a time."""
        sender, nonce, attempt = account(k), None, 0
        count = BATCH if k % 2 else 1
        while not self.stop.is_set():
            try:
                if nonce is None:
                    code, doc = http("GET", f"{self.url}/accounts/{sender.address_string}")
                    nonce = doc["value"]["nonce"] + 1 if code == 200 else 1
                raws = []
                for n in range(count):
                    attempt += 1
                    raws.append(signed_tx(sender, nonce + n, [transfer(account(100 + k), attempt)],
                                          chain=CHAIN))
                accepted = self._post(raws)
            except (OSError, KeyError, ValueError):
                time.sleep(0.2)  # the node is down or restarting
                continue
            with self.lock:
                for raw in accepted:
                    self.acked[sha256(raw).hexdigest()] = k
            nonce += len(accepted)
            if len(accepted) == len(raws):
                time.sleep(0.05)
            else:
                nonce = None
                time.sleep(0.2)

    def _post(self, raws: list[bytes]) -> list[bytes]:
        """The txs of `raws` the node acknowledged (a prefix: each sender's nonces are in order)."""
        if len(raws) == 1:
            code, _ = http("POST", f"{self.url}/txs?wait=check", raws[0])
            return raws if code == 202 else []
        body = json.dumps({"txs": [raw.hex() for raw in raws]}).encode()
        code, doc = http("POST", f"{self.url}/txs/batch", body, "application/json")
        if code != 200:
            return []
        accepted = []
        for raw, result in zip(raws, doc["results"], strict=True):
            if result["status"] != "accepted":
                break
            accepted.append(raw)
        return accepted


def test_no_acknowledged_tx_disappears_under_perturbation(tmp_path):
    if testnet.cometbft_binary() is None:
        pytest.skip("cometbft binary not installed (make setup builds it with go install)")
    net = testnet.Testnet.create(tmp_path / "net", 1, chain_id=CHAIN,
                                 base_port=testnet.free_base_port(1),
                                 accounts=[(account(k).address, 10**6 * QOS)
                                           for k in range(SENDERS)])
    val = net.validators[0]
    load = Load(val.api_url)

    def height() -> int:
        try:
            return http("GET", val.api_url + "/status")[1]["height"]
        except (OSError, KeyError, ValueError):
            return -1

    def progress(blocks: int) -> None:
        start, deadline = max(height(), 0), time.monotonic() + 90
        while height() < start + blocks:
            assert time.monotonic() < deadline, "the chain stalled"
            time.sleep(0.2)

    try:
        net.start()
        load.start()
        progress(3)
        assert val.comet is not None and val.app is not None
        val.comet.send_signal(signal.SIGKILL)  # 1. CometBFT dies with its mempool
        val.comet.wait()
        time.sleep(0.5)
        net.start_validator(0)
        progress(3)
        val.app.send_signal(signal.SIGKILL)  # 2. the app dies; CometBFT exits without it
        val.app.wait()
        deadline = time.monotonic() + 30
        while val.comet.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        net.kill(0)
        net.start_validator(0)
        progress(3)
        net.kill(0)  # 3. both at once
        net.start_validator(0)
        progress(3)
        net.pause(0)  # 4. both stopped (SIGSTOP) while clients keep sending, then resumed
        time.sleep(2)
        net.resume(0)
        progress(3)
        net.stop()  # 5. everything stopped and started again
        net.start()
        progress(3)
        load.finish()

        statuses: dict[str, str] = {}
        reasons: Counter[str] = Counter()
        deadline = time.monotonic() + 120
        for tx_hash in list(load.acked):
            while True:
                doc = http("GET", f"{val.api_url}/txs/{tx_hash}")[1]
                if doc.get("status") != "pending" or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            statuses[tx_hash] = doc.get("status", "?")
            if doc.get("status") == "dropped":
                assert doc.get("reason"), doc  # a drop is reported with its reason
                reasons[doc["reason"].split(":")[0]] += 1
    finally:
        load.finish()
        net.stop()
    counts = Counter(statuses.values())
    silent = [h for h, status in statuses.items() if status not in ("committed", "dropped")]
    batched = sum(1 for k in load.acked.values() if k % 2)
    print(f"acknowledged {len(statuses)} ({batched} through POST /txs/batch): {dict(counts)}; "
          f"drops: {dict(reasons)}; silently dropped: {len(silent)}")
    assert len(statuses) >= 20 and batched >= 10, f"too little load got through: {dict(counts)}"
    assert silent == [], f"{len(silent)} acknowledged txs neither committed nor reported dropped"
