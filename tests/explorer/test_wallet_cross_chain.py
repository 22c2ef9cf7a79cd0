"""The web wallet's cross-chain transfer, end to end: a base chain and a business chain that
joined it (`qosd join`), a relayer between them, the wallet page in headless chromium building
a qcp/transfer, the emulator signing it (the debug link pressing the buttons), the base chain
escrowing the QOS, the relayer carrying the packet, and the voucher on the business chain."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from host.chain.node import BackgroundNode
from host.core.keys import parse_address
from host.core.tx import transfer
from host.devtools.keyfile import save_key
from tests.explorer.browser import screenshot
from tests.explorer.conftest import CHAIN, QOS, LiveNode, account
from tests.explorer.test_wallet_page import (  # noqa: F401 - fixtures
    WAIT,
    Presser,
    bridge,
    emulator,
    open_wallet,
)

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright not installed (pip install -e '.[dev]')"
)
expect = sync_api.expect
BIZ = "qos-biz-wallet"
PAYER, RELAYER, RECEIVER, FUNDER = account(10), account(11), account(12), account(13)


class RelayerThread:
    """`qos relay` between the two chains, on its own event loop, until stopped."""

    def __init__(self, a_url: str, b_url: str) -> None:
        from host.chain.relayer.service import Relayer

        self.relayer = Relayer([a_url], [b_url], RELAYER, poll_interval=0.2,
                               backoff_base=0.05, backoff_cap=0.5)
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),),
                                       daemon=True)

    async def _run(self) -> None:
        self.stop_event = asyncio.Event()
        await self.relayer.run(self.stop_event)

    def __enter__(self) -> RelayerThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)


@pytest.fixture(scope="module")
def chains(tmp_path_factory) -> Iterator[tuple[LiveNode, LiveNode]]:
    """The base chain (the wallet's) and a business chain registered on it by `qosd join`."""
    from host.cli.qosd import main as qosd

    root = tmp_path_factory.mktemp("cross")
    save_key(root / "payer.json", PAYER)
    funded = [f"--account={a.address_string}={10**5 * QOS}" for a in (PAYER, RELAYER, FUNDER)]
    assert qosd(["init", "--home", str(root / "base"), "--chain-id", CHAIN,
                 "--block-interval", "0.2", "--api", "127.0.0.1:0", *funded]) == 0
    with BackgroundNode(root / "base") as base:
        assert qosd(["join", "--home", str(root / "biz"), "--chain-id", BIZ, "--base", base.url,
                     "--key", str(root / "payer.json"), "--block-interval", "0.2",
                     "--api", "127.0.0.1:0", f"--account={RELAYER.address_string}={10**5 * QOS}",
                     "--no-start"]) == 0
        with BackgroundNode(root / "biz") as biz:
            yield LiveNode(base), LiveNode(biz)


def voucher(node: LiveNode, who: str) -> int:
    status, doc = node.get(f"/accounts/{who}/assets")
    return doc["value"]["assets"].get(f"qcp/{CHAIN}/QOS", 0) if status == 200 else 0


def test_a_cross_chain_transfer_signed_on_the_device_arrives_as_a_voucher(
        chains, emulator, bridge, browser):  # noqa: F811 (fixtures)
    # (the chains first: `qosd join` runs an event loop, which Playwright's would block)
    from host.bridge.client import Client

    base, biz = chains
    with Client.open(emulator.wire_path) as client:
        address = client.get_address(0, 0)
    base.send(FUNDER, [transfer(parse_address(address), 100 * QOS)])

    context, page, errors = open_wallet(browser, base.url, bridge, address)

    with RelayerThread(base.url, biz.url), Presser(emulator.debug_path) as user:
        page.select_option("#kind", "qcp")
        page.fill("#to-chain", BIZ)
        page.fill("#to", RECEIVER.address_string)
        page.fill("#amount", "2.5")
        page.click("#sign")
        expect(page.locator("#committed")).to_have_text("Committed", timeout=WAIT)
        screenshot(page, "wallet-cross-chain", full_page=True)
        assert any(t.startswith("QCP transfer") for t in user.titles), user.titles
        assert "QCP transfer" in page.locator("#pages .page h4").all_inner_texts()
        expect(page.locator("#pages")).to_contain_text(BIZ)
        deadline = time.monotonic() + 60
        while voucher(biz, RECEIVER.address_string) == 0:
            assert time.monotonic() < deadline, "the voucher never arrived"
            time.sleep(0.2)
        # the relayer also brings the ack home: the packet is resolved on the base chain
        while base.get(f"/qcp/{BIZ}/seq")[1]["value"]["acked"] < 1:
            assert time.monotonic() < deadline, "the ack never came back"
            time.sleep(0.2)
    assert voucher(biz, RECEIVER.address_string) == 25_000
    left = base.get(f"/accounts/{address}")[1]["value"]["balance"]
    assert left < 100 * QOS - 25_000  # the 2.5 QOS left the sender (and the fee)
    context.close()
    assert not errors, errors
