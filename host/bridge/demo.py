"""The signer demo: a new wallet on the emulator, an address, a signed transfer checked on the host.

    python -m host.bridge.demo

It starts the emulator (debug build, temporary flash), creates a wallet with commit-reveal
entropy (check rounds verified here), lets a scripted user read the words and answer the word
check through the debug link, shows an address on the device, signs a transfer after every page
was confirmed, and verifies the signature with host/core. Each dialog the device shows is printed.
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

PIN = "246810"
CHAIN = "qos-demo"

console = Console(highlight=False, emoji=False)


def narrate(screen: dict[str, Any], button: str) -> None:
    lines = " / ".join(line.strip() for line in screen["lines"] if line.strip())
    console.print(f"  [dim]device:[/] [bold]{escape(screen['title'])}[/]  {escape(lines)}")
    console.print(f"  [dim]user presses[/] {button}")


def words_from(screens: list[dict[str, Any]]) -> list[str]:
    words: dict[int, str] = {}
    for screen in screens:
        if screen["title"].startswith("Words"):
            for line in screen["lines"]:
                number, _, word = line.strip().partition(". ")
                if number.isdigit():
                    words.setdefault(int(number), word)
    return [words[n] for n in sorted(words)]


def run(port: int | None = None) -> int:
    from host.bridge.client import Client, DebugLink
    from host.bridge.emulator import Emulator
    from host.bridge.scripted_user import ScriptedUser, always, quiz_answers
    from host.bridge.transport.udp import free_port_pair
    from host.core import keys
    from host.core import tx as txlib

    with Emulator(port=port or free_port_pair()) as emulator:
        console.print(
            f"[bold]emulator[/] on {emulator.wire_path} (debug link {emulator.debug_path})"
        )
        with (
            Client.open(emulator.wire_path) as device,
            DebugLink.open(emulator.debug_path) as debug,
        ):
            user = ScriptedUser(debug)
            user.on_press = narrate

            console.print("\n[bold]1. create a wallet[/] (commit-reveal entropy, 2 check rounds)")
            created = user.run(lambda: device.setup(PIN, words=12, check_rounds=2), quiz_answers)
            words = words_from(user.last.screens)
            console.print(f"  check rounds verified on the host: {created.check_rounds}")
            console.print(f"  words shown on the device: {' '.join(words)}")
            host_account = keys.Account.from_mnemonic(" ".join(words))
            if host_account.pubkey != created.pubkey:
                console.print("[red]the device's key does not match its words[/]")
                return 1

            console.print("\n[bold]2. show the address on the device[/]")
            address = user.run(lambda: device.get_address(0, 0, show=True), always("confirm"))
            console.print(f"  address: {address}")
            console.print(f"  derived on the host from the words: {host_account.address_string}")
            if address != host_account.address_string:
                return 1

            console.print("\n[bold]3. sign a transfer[/] (every page confirmed on the device)")
            recipient = keys.Account.from_mnemonic(" ".join(words), "", 0, 1).address
            tx = txlib.Tx(CHAIN, 1, 2_000, [txlib.transfer(recipient, 123_400)], "demo")
            signature = user.run(lambda: device.sign_tx(tx), always("confirm"))
            signed = txlib.SignedTx(tx, signature.pubkey, signature.sig)
            verified = signed.verify()
            console.print(f"  signature {signature.sig.hex()[:32]}...")
            console.print(f"  verified on the host with host/core: {'yes' if verified else 'NO'}")
            return 0 if verified else 1


def main() -> int:
    return run()


if __name__ == "__main__":
    sys.exit(main())
