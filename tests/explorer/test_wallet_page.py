"""The web wallet in headless chromium with the emulator behind `qos device bridge`: connect,
show the address on the device, sign a transfer with the debug link pressing the buttons (the page
shows the pages the device shows), broadcast, and follow it to its block."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from host.core.keys import parse_address
from host.core.tx import qsc_issue, transfer
from host.devtools.micropython import find_tool
from host.devtools.ports import free_block
from tests.explorer.browser import screenshot
from tests.explorer.conftest import QOS, TOKEN, account

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright not installed (pip install -e '.[dev]')"
)
expect = sync_api.expect
MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
PIN = "1234"
WAIT = 60_000


class Presser:
    """The person holding the device: confirms every dialog it shows, through the debug link,
    and keeps the titles of the dialogs it answered."""

    def __init__(self, debug_path: str) -> None:
        from host.bridge.debuglink import DebugLink

        self.link = DebugLink.open(debug_path)
        self.titles: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Presser:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.link.close()

    def _run(self) -> None:
        from host.bridge.exceptions import WrongState

        answered = -1
        while not self._stop.wait(0.03):
            screen = self.link.screen(fb=False)
            if not str(screen.get("footer", "")).startswith("cancel") or screen["seq"] == answered:
                continue
            if not self.link.state().get("busy"):
                continue
            self.titles.append(screen["title"])
            try:
                self.link.press("confirm", screen["seq"])
            except WrongState:
                continue  # the screen changed before the press arrived: look again
            answered = screen["seq"]


def qsc_balance(live, who) -> int:
    held = live.get(f"/accounts/{who.address_string}/holdings")[1]["qsc"]
    return next((q["balance"] for q in held if q["name"] == TOKEN), 0)


@pytest.fixture(scope="module")
def emulator() -> Iterator:
    if find_tool("micropython") is None:
        pytest.skip("micropython (the unix port) not installed: make setup builds it")
    from host.devtools.emulator import Emulator

    with Emulator(port=free_block(2, kinds=(socket.SOCK_DGRAM,)), kdf_ms=1,
                  mnemonic=MNEMONIC, pin=PIN) as emu:
        yield emu


@pytest.fixture(scope="module")
def bridge(emulator) -> Iterator[str]:
    port = free_block(1)
    env = {**os.environ, "QOS_DEVICE": emulator.wire_path}
    proc = subprocess.Popen([sys.executable, "-m", "host.cli.qos", "device", "bridge",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(urllib.request.Request(url + "/", method="POST"), timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"the bridge exited: {proc.stdout.read().decode()}") from None
            time.sleep(0.05)
    yield url
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:  # still draining a browser's keep-alive connection
        proc.kill()
        proc.wait(10)


def open_wallet(browser, node_url: str, bridge: str, address: str):  # noqa: ANN001, ANN201
    """The node's wallet page on a phone-sized screen, connected through the bridge to the
    device whose first address is ``address``: (context, page, page errors seen)."""
    context = browser.new_context(locale="en-US", viewport={"width": 420, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{node_url}/wallet")
    page.fill("#bridge", bridge)
    page.click("#connect-button")
    expect(page.locator("#address")).to_have_text(address, timeout=WAIT)
    return context, page, errors


def test_sign_a_transfer_on_the_device_and_follow_it_to_commit(browser, live, emulator, bridge):
    from host.bridge.client import Client

    with Client.open(emulator.wire_path) as client:
        address = client.get_address(0, 0)
    live.send(account(0), [transfer(parse_address(address), 1000 * QOS)])
    live.send(account(2), [qsc_issue(TOKEN, parse_address(address), 5000)])  # account 2 banks it
    before = live.get(f"/accounts/{account(2).address_string}")[1]["value"]["balance"]

    context, page, errors = open_wallet(browser, live.url, bridge, address)
    expect(page.locator("#balance")).to_have_text("1,000.0000 QOS")
    for other in ("#validator-row", "#token-row", "#chain-row"):  # a transfer's form only
        expect(page.locator(other)).to_be_hidden()

    with Presser(emulator.debug_path) as user:
        page.click("#show-address")
        deadline = time.monotonic() + 30
        while not user.titles and time.monotonic() < deadline:
            time.sleep(0.05)
        assert user.titles, "the device never showed the address"

        page.fill("#to", account(2).address_string)
        page.fill("#amount", "1.5")
        page.fill("#memo", "from the web wallet")
        shown = len(user.titles)
        page.click("#sign")
        expect(page.locator("#committed")).to_have_text("Committed", timeout=WAIT)
        device_titles = user.titles[shown:]
        page_titles = page.locator("#pages .page h4").all_inner_texts()
        screenshot(page, "wallet", full_page=True)

        page.select_option("#kind", "delegate")
        expect(page.locator("#to-row")).to_be_hidden()
        page.fill("#amount", "10")
        page.click("#sign")
        expect(page.locator("#committed")).to_have_text("Committed", timeout=WAIT)
        assert "Delegate" in page.locator("#pages .page h4").all_inner_texts()

        star_before = qsc_balance(live, account(1))
        page.select_option("#kind", "qsc")
        page.select_option("#token", TOKEN)
        page.fill("#to", account(1).address_string)
        page.fill("#amount", "0.1")
        page.click("#sign")
        expect(page.locator("#committed")).to_have_text("Committed", timeout=WAIT)
        assert qsc_balance(live, account(1)) - star_before == 1000
        expect(page.locator("#pages")).to_contain_text("0.1000 STAR")

        # a cross-chain transfer to a chain this one has not registered: the node's simulation
        # refuses it and the page says why before the device is asked to sign anything
        shown = len(user.titles)
        page.select_option("#kind", "qcp")
        page.fill("#to-chain", "qos-biz-9")
        page.fill("#amount", "2")
        page.click("#sign")
        expect(page.locator("#progress")).to_contain_text("would refuse", timeout=WAIT)
        expect(page.locator("#progress")).to_contain_text("qos-biz-9")
        expect(page.locator("#committed")).to_have_count(0)
        expect(page.locator("#pages .page")).to_have_count(0)
        assert user.titles[shown:] == [], user.titles[shown:]  # the page asks nothing after
    assert page_titles[0] == "Sign transaction" and "Send QOS" in page_titles
    # every page the wallet said the device would show, the device showed
    assert all(any(d.startswith(p) for d in device_titles) for p in page_titles), (
        page_titles, device_titles)
    after = live.get(f"/accounts/{account(2).address_string}")[1]["value"]["balance"]
    assert after - before == 15_000
    held = live.get(f"/accounts/{address}/holdings")[1]
    assert held["delegations"][0]["tokens"] == 10 * QOS
    context.close()
    assert not errors, errors
