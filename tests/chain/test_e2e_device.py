"""End to end with the signer: `qos tx transfer --device` builds a transfer, the emulated device
(the real firmware under MicroPython) shows it and signs it when the user confirms, the solo node
commits it; a cancelled signature sends nothing."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from host.chain.node import BackgroundNode
from host.core.keys import Account

CHAIN = "qos-device-e2e"
QOS = 10_000
MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
PIN = "1234"


def _udp_pair() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
                    second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise RuntimeError("no free UDP port pair")


@pytest.fixture(scope="module")
def emulator():
    from host.devtools.emulator import Emulator

    failures = []
    for _ in range(2):  # a machine this busy can miss a start-up deadline once
        emu = Emulator(port=_udp_pair(), mnemonic=MNEMONIC, pin=PIN)
        try:
            emu.start(timeout=60)
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}\n{emu.log()[-1500:]}")
            emu.close()
            continue
        yield emu
        emu.close()
        return
    pytest.fail("the emulator did not start:\n" + "\n---\n".join(failures))


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    from host.cli.qosd import main as qosd

    home = tmp_path_factory.mktemp("device") / "node"
    signer = Account.from_mnemonic(MNEMONIC)
    assert qosd(["init", "--home", str(home), "--chain-id", CHAIN, "--block-interval", "0.3",
                 "--api", "127.0.0.1:0", f"--account={signer.address_string}={100 * QOS}"]) == 0
    with BackgroundNode(home) as running:
        yield running.node, running.url


def qos(*argv: str) -> int:
    from host.cli.qos import main

    return main(list(argv))


class Person:
    """Presses `button` on every dialog the device shows while a call runs; keeps the screens."""

    def __init__(self, debug_path: str, button: str) -> None:
        self.debug_path = debug_path
        self.button = button
        self.screens: list[str] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Person:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join(10)

    def _run(self) -> None:
        from host.bridge.debuglink import DebugLink

        with DebugLink.open(self.debug_path) as debug:
            while not self.done.is_set():
                if debug.state().get("busy"):
                    text = debug.screen_text()
                    if not self.screens or self.screens[-1] != text:
                        self.screens.append(text)
                    debug.answer(self.button)
                time.sleep(0.05)


def test_device_signed_transfer_is_committed(emulator, node, capsys):
    _, url = node
    receiver = Account.from_ed25519_seed(b"\x07" * 32)
    with Person(emulator.debug_path, "confirm") as person:
        code = qos("tx", "transfer", "--device", emulator.wire_path, "--node", url,
                   receiver.address_string, "2.5qos", "--memo", "from the device", "--json")
    out = capsys.readouterr().out
    assert code == 0, out
    receipt = json.loads(out)
    assert receipt["status"] == "committed" and receipt["code"] == 0
    shown = "\n".join(person.screens)
    assert "2.5000 QOS" in shown, shown  # the device showed the amount it signed
    assert qos("query", "--node", url, "account", receiver.address_string, "--json") == 0
    assert json.loads(capsys.readouterr().out)["value"]["balance"] == 25_000


def test_cancel_on_the_device_sends_nothing(emulator, node, capsys):
    engine = node[0].engine
    accepted = engine.recorder.counters["txs_accepted"]
    receiver = Account.from_ed25519_seed(b"\x08" * 32)
    with Person(emulator.debug_path, "cancel"):
        code = qos("tx", "transfer", "--device", emulator.wire_path, "--node", node[1],
                   receiver.address_string, "1qos")
    assert code == 1
    assert "did not sign" in capsys.readouterr().err
    assert engine.recorder.counters["txs_accepted"] == accepted
