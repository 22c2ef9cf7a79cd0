"""`make demo`: the whole product in one run, from a new wallet to a committed transfer.

1. starts the emulator (the real firmware on the MicroPython unix port) and a PIN server
   (`qos pin-server`), and creates a wallet with commit-reveal entropy, a scripted user reading
   the words and answering the word check; the PIN is enforced by the PIN server (3 tries), so a
   copy of the emulator's flash cannot be searched for it; locks and unlocks through the server;
2. shows the wallet's address on the device;
3. starts a solo QOS node (`qosd init`, `qosd start`) whose genesis funds that address;
4. has the device sign a transfer (every page shown and confirmed), verifies the signature on the
   host, submits it to the node, waits for the block and prints both balances.

Each dialog the device shows is printed, so the run reads as what a person holding it would see.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from host.chain.rest import BlockingNodeClient

PIN = "246810"

FUNDING_UNITS = 1_000 * 10_000  # 1,000 QOS
TRANSFER_UNITS = 123_400  # 12.34 QOS
FEE_UNITS = 2_000
CHAIN_ID = "qos-demo"

console = Console(highlight=False, emoji=False)


def narrate(screen: dict[str, Any], button: str) -> None:
    lines = " / ".join(line.strip() for line in screen["lines"] if line.strip())
    console.print(f"  [dim]device:[/] [bold]{escape(screen['title'])}[/]  {escape(lines)}")
    console.print(f"  [dim]user presses[/] {button}")


def words_from(screens: list[dict[str, Any]]) -> list[str]:
    """The mnemonic as the word pages showed it (numbered lines "N. word")."""
    words: dict[int, str] = {}
    for screen in screens:
        if screen["title"].startswith("Words"):
            for line in screen["lines"]:
                number, _, word = line.strip().partition(". ")
                if number.isdigit():
                    words.setdefault(int(number), word)
    return [words[n] for n in sorted(words)]


@contextmanager
def solo_node(home: Path, funded: str, api_port: int) -> Any:
    """A solo node in its own process, its genesis funding ``funded``; yields its client."""
    from host.chain.rest import NodeError

    qosd = [sys.executable, "-m", "host.cli.qosd"]
    api = f"127.0.0.1:{api_port}"
    subprocess.run(
        [
            *qosd,
            "init",
            "--home",
            str(home),
            "--chain-id",
            CHAIN_ID,
            "--block-interval",
            "0.5",
            "--api",
            api,
            "--account",
            f"{funded}={FUNDING_UNITS}",
        ],
        check=True,
        capture_output=True,
    )
    log = (home / "node.log").open("wb")
    node = subprocess.Popen([*qosd, "start", "--home", str(home)], stdout=log, stderr=log)
    client = BlockingNodeClient(f"http://{api}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.status()
                break
            except NodeError:
                if node.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the node did not start; see {home / 'node.log'}") from None
                time.sleep(0.2)
        yield client
    finally:
        client.close()
        node.terminate()
        node.wait(timeout=10)
        log.close()


def balance(client: BlockingNodeClient, address: bytes) -> int:
    status, doc = client.get(f"/accounts/{address.hex()}")
    return int(doc["value"]["balance"]) if status == 200 else 0


def run() -> int:
    from host.bridge.client import Client
    from host.bridge.debuglink import DebugLink
    from host.core import keys
    from host.core import tx as txlib
    from host.devtools.emulator import Emulator
    from host.devtools.pinserver import PinServerProcess
    from host.devtools.ports import free_port_pair
    from host.devtools.scripted_user import ScriptedUser, always, quiz_answers

    with (
        PinServerProcess() as pin_server,
        Emulator(port=free_port_pair()) as emulator,
        Client.open(emulator.wire_path) as device,
        DebugLink.open(emulator.debug_path) as debug,
        tempfile.TemporaryDirectory(prefix="qos-demo-") as home,
    ):
        console.print(
            f"[bold]emulator[/] on {emulator.wire_path} (debug link {emulator.debug_path})"
        )
        user = ScriptedUser(debug)
        user.on_press = narrate

        server = pin_server.info
        if server is None:  # started by the with statement, so never
            raise RuntimeError("the PIN server did not start")
        console.print(
            f"[bold]PIN server[/] on {pin_server.url}, key fingerprint "
            f"{server.fingerprint} (the device shows it before storing the wallet)"
        )

        console.print(
            "\n[bold]1. create a wallet[/] (commit-reveal entropy, 2 check rounds, PIN server)"
        )
        created = user.run(
            lambda: device.setup(PIN, words=12, check_rounds=2, pin_server=pin_server.url),
            quiz_answers,
        )
        words = " ".join(words_from(user.last.screens))
        console.print(f"  words shown on the device: {words}")
        wallet = keys.Account.from_mnemonic(words)
        if wallet.pubkey != created.pubkey:
            console.print("[red]the device's key does not match the words it showed[/]")
            return 1
        device.lock()
        device.unlock(PIN)
        console.print(
            f"  locked and unlocked again: the PIN was checked with the PIN server "
            f"({device.get_info()['pin_retries_left']} tries)"
        )

        console.print("\n[bold]2. show the address on the device[/]")
        address = user.run(lambda: device.get_address(0, 0, show=True), always("confirm"))
        console.print(f"  {address} (the host derives {wallet.address_string} from the words)")
        if address != wallet.address_string:
            return 1

        console.print("\n[bold]3. start a solo node[/] whose genesis funds that address")
        with solo_node(Path(home), address, free_port_pair()) as node:
            recipient = keys.Account.from_mnemonic(words, "", 0, 1).address
            funds = txlib.format_amount(balance(node, wallet.address))
            console.print(f"  node API {node.url}; balance {funds}")

            console.print("\n[bold]4. sign a transfer on the device[/] (every page confirmed)")
            tx = txlib.Tx(
                CHAIN_ID, 1, FEE_UNITS, (txlib.transfer(recipient, TRANSFER_UNITS),), "demo"
            )
            signature = user.run(lambda: device.sign_tx(tx), always("confirm"))
            signed = txlib.SignedTx(tx, signature.pubkey, signature.sig)
            if not signed.verify():
                console.print("[red]the device's signature does not verify on the host[/]")
                return 1
            console.print("  signature verified on the host")

            status, doc = node.submit(signed.encode())
            if status != 200 or doc.get("code") != 0:
                console.print(f"[red]the node refused the transfer: {doc}[/]")
                return 1
            console.print(
                f"  committed in block {doc.get('height')}, tx {doc.get('hash', '')[:16]}..."
            )
            console.print(
                f"  sender    {txlib.format_amount(balance(node, wallet.address))}\n"
                f"  recipient {txlib.format_amount(balance(node, recipient))}"
            )
    console.print("\n[bold green]demo OK[/]: device-made wallet, device-signed transfer, committed")
    return 0


if __name__ == "__main__":
    sys.exit(run())
