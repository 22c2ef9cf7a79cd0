"""The explorer in a real browser (headless chromium) against a live solo node: navigate, search
by height, hash and address, page through an account's history, follow new blocks live, switch
language, read it at a phone's width, and load nothing from outside the node's origin."""

from __future__ import annotations

import re
import time

import pytest

from tests.explorer.browser import screenshot
from tests.explorer.conftest import CHAIN as CHAIN_ID
from tests.explorer.conftest import TOKEN, account

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright not installed (pip install -e '.[dev]')"
)
expect = sync_api.expect
WAIT = 20_000  # ms: the most any element may take to appear


class Visit:
    """A page with every request it made and every script error it raised."""

    def __init__(self, browser, live, **options) -> None:
        self.context = browser.new_context(**options)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.expected: list[str] = []  # errors a test provokes on purpose (text they contain)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(
            f"{r.status} {r.url}"))
        self.live = live

    def open(self, route: str = "") -> sync_api.Page:
        self.page.goto(f"{self.live.url}/explorer{route}")
        self.settled()
        return self.page

    def settled(self) -> None:
        """Wait until the view of the location's #route is drawn."""
        self.page.wait_for_function(
            "() => { const m = document.getElementById('main');"
            " return m.getAttribute('aria-busy') === 'false' && m.dataset.shown === location.hash;"
            " }",
            timeout=WAIT,
        )

    def search(self, text: str) -> None:
        self.page.fill("#search", text)
        self.page.click("#go")
        self.settled()  # the search view has sent the page on to what it found

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, live):
    visits: list[Visit] = []

    def make(**options) -> Visit:
        options.setdefault("locale", "en-US")
        visits.append(Visit(browser, live, **options))
        return visits[-1]

    yield make
    for v in visits:
        unexpected = [e for e in v.errors if not any(x in e for x in v.expected)]
        assert not unexpected, unexpected
        v.close()


def test_home_shows_latest_blocks_and_txs_live(visit, live):
    v = visit(viewport={"width": 1200, "height": 800})
    page = v.open()
    expect(page.locator("#latest-blocks tbody tr").first).to_be_visible()
    expect(page.locator("#live")).to_have_class("live", timeout=WAIT)
    receipt = live.send(account(2), [{"type": "bank/transfer", "to": account(0).address,
                                      "amount": 3}])
    # the new tx appears without a reload: the websocket's new_block redraws the lists
    expect(page.locator(f"#latest-txs a[href='#/tx/{receipt['hash']}']")).to_be_visible(
        timeout=WAIT)
    screenshot(page, "home")


def test_search_by_height_hash_address_and_token(visit, live):
    v = visit()
    page = v.open()
    receipt = live.receipts[0]
    v.search(str(receipt["height"]))
    expect(page.locator("h2")).to_have_text(f"Block {receipt['height']}", timeout=WAIT)
    v.search(receipt["hash"])
    expect(page.locator("h2")).to_have_text("Transaction", timeout=WAIT)
    v.settled()
    expect(page.locator(".msg h4").first).to_have_text("bank/transfer")
    expect(page.locator("main")).to_contain_text(account(1).address_string)
    screenshot(page, "tx")
    v.search(account(1).address_string)
    expect(page.locator("#address")).to_have_text(account(1).address_string, timeout=WAIT)
    expect(page.locator("#balance")).to_contain_text("QOS")
    v.search(TOKEN.lower())
    expect(page.locator("h2")).to_contain_text(TOKEN, timeout=WAIT)
    v.expected.append("404 " + live.url + "/search?q=no%20such%20thing")
    v.search("no such thing")
    expect(page.locator(".error")).to_contain_text("Not found", timeout=WAIT)


def test_page_through_account_history(visit, live):
    bob = account(1)
    while True:  # enough history for three pages of 20
        status, doc = live.get(f"/accounts/{bob.address_string}/txs?limit=100")
        if len(doc["items"]) > 45:
            break
        for _ in range(10):
            live.send(account(0), [{"type": "bank/transfer", "to": bob.address, "amount": 1}])
    expected = [t["hash"] for t in doc["items"]]
    v = visit(viewport={"width": 1000, "height": 900})
    page = v.open(f"#/account/{bob.address_string}")
    seen: list[str] = []
    for _ in range(3):
        links = page.locator("#history tbody tr td:first-child a")
        expect(links.first).to_be_visible(timeout=WAIT)
        seen += [re.sub(r"^#/tx/", "", h) for h in links.evaluate_all(
            "as => as.map(a => a.getAttribute('href'))")]
        if page.locator("#history a.older").count() == 0:
            break
        page.click("#history a.older")
        v.settled()
    assert seen == expected[: len(seen)] and len(seen) >= 45
    screenshot(page, "account")
    page.click("#history a.newest")
    v.settled()
    first = page.locator("#history tbody tr td:first-child a").first.get_attribute("href")
    assert first == f"#/tx/{expected[0]}"


def test_other_views_render(visit, live):
    while live.get("/status")[1]["height"] <= 21:  # a full first page of blocks (0.2 s each)
        time.sleep(0.2)
    v = visit()
    page = v.open("#/validators")
    expect(page.locator("main tbody tr").first).to_contain_text("active")
    expect(page.locator("main tbody tr").first).to_contain_text("%")  # commission, uptime
    screenshot(page, "validators")
    v.open("#/tokens")
    expect(page.locator("main tbody tr").first).to_contain_text(TOKEN)
    v.open("#/mint")
    expect(page.locator("svg.chart rect.planned").first).to_be_attached()
    screenshot(page, "mint")
    v.open("#/gov")
    expect(page.locator("main h2")).to_have_text("Proposals")
    page.click("main tbody a[href='#/proposal/1']")
    v.settled()
    expect(page.locator("main h2")).to_have_text("Proposal 1")
    expect(page.locator("main")).to_contain_text("community_spend")
    v.open("#/qcp")
    expect(page.locator("main h2")).to_have_text("Cross-chain (QCP)")
    v.open("#/blocks")
    expect(page.locator("main tbody tr")).to_have_count(20)


def test_chinese_by_browser_language_and_switch(visit):
    v = visit(locale="zh-CN")
    page = v.open()
    expect(page.locator("#brand")).to_have_text("QOS 区块浏览器")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    screenshot(page, "home-zh")
    page.select_option("#lang", "en")
    expect(page.locator("#brand")).to_have_text("QOS Explorer")
    page.reload()
    expect(page.locator("#brand")).to_have_text("QOS Explorer")  # the choice is kept


def test_phone_width_has_no_sideways_scroll(visit):
    v = visit(viewport={"width": 375, "height": 740}, is_mobile=True, device_scale_factor=1)
    page = v.open(f"#/account/{account(0).address_string}")
    expect(page.locator("#history tbody tr").first).to_be_visible(timeout=WAIT)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width}px wide at a 375px viewport"
    screenshot(page, "account-phone")


def test_pages_load_nothing_from_outside_the_node(visit, live):
    v = visit()
    for route in ("", "#/blocks", f"#/account/{account(1).address_string}", "#/mint",
                  "#/tokens", "#/validators", f"#/tx/{live.receipts[0]['hash']}"):
        v.open(route)
    v.page.goto(f"{live.url}/wallet")
    origin = live.url
    outside = [u for u in v.requests
               if not (u.startswith(origin + "/") or u.startswith(origin.replace("http", "ws", 1)))]
    assert v.requests and not outside, outside


# docs/protocol.md section 3's test vector: the wallet's det-CBOR and bech32 in the browser
VECTOR_TX = (
    "a56366656518b4646d656d6f60646d73677381a362746f54000102030405060708090a0b0c0d0e0f101112136474"
    "7970656d62616e6b2f7472616e7366657266616d6f756e741a0001e20865636861696e68716f732d74657374656e"
    "6f6e636501"
)
ALICE = "qosacc1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnzgwjr8"


def test_wallet_codec_matches_the_protocol_vector(visit, live):
    v = visit()
    v.page.goto(f"{live.url}/wallet")
    result = v.page.evaluate(
        """async (alice) => {
            const { encode, toHex } = await import('/assets/cbor.js');
            const { decodeAddress } = await import('/assets/bech32.js');
            const to = decodeAddress(alice);
            const tx = { chain: 'qos-test', nonce: 1, fee: 180, memo: '',
                         msgs: [{ type: 'bank/transfer', to, amount: 123400 }] };
            const bad = [];
            for (const text of [alice.slice(0, -1) + 'q', 'qosval' + alice.slice(6), 'cosmos1x']) {
                try { decodeAddress(text, ['qosacc']); } catch (e) { bad.push(e.message); }
            }
            const { parseAmount } = await import('/assets/wallet.js');
            const amounts = ['1', '0.0001', '12.34', '922337203685477.5807']
                .map((a) => String(parseAmount(a)));
            const junk = ['1.23456', '-1', '1e3', '', '0x10', '1.2.3', '922337203685477.5808'];
            for (const text of junk) {
                try { parseAmount(text); amounts.push('accepted ' + text); } catch (e) { }
            }
            return { hex: toHex(encode(tx)), to: toHex(to), bad, amounts,
                     big: toHex(encode(2n ** 63n - 1n)), neg: toHex(encode(-1)) };
        }""",
        ALICE,
    )
    assert result["hex"] == VECTOR_TX
    assert result["to"] == bytes(range(20)).hex()
    assert len(result["bad"]) == 3  # a bad checksum, a wrong prefix, not ours: all refused
    assert result["big"] == "1b7fffffffffffffff" and result["neg"] == "20"
    # amounts as the device shows them: four decimals at most, never rounded (protocol.md 2)
    assert result["amounts"] == ["10000", "1", "123400", str(2**63 - 1)]


def test_one_explorer_shows_another_chain_that_allows_its_origin(visit, live, tmp_path):
    """A business chain's node lists the explorer's origin in cors_origins: the explorer served
    by the base chain's node reads it; without the entry the browser refuses, as it should."""
    from host.chain.node import BackgroundNode, NodeConfig
    from host.cli.qosd import main as qosd
    from host.devtools.ports import free_block

    def other_chain(name: str, origins: list[str]) -> BackgroundNode:
        home = tmp_path / name
        assert qosd(["init", "--home", str(home), "--chain-id", name, "--block-interval", "0.2",
                     "--api", f"127.0.0.1:{free_block(1)}"]) == 0
        config = NodeConfig.load(home / "config" / "node.toml")
        config.cors_origins = origins
        config.save(home / "config" / "node.toml")
        return BackgroundNode(home)

    with other_chain("qos-biz-one", [live.url]) as allowed, other_chain("qos-biz-two", []) as shut:
        v = visit()
        page = v.open()
        for node in (allowed, shut):
            page.once("dialog", lambda dialog, url=node.url: dialog.accept(url))
            page.select_option("#chain", "+")
            v.settled()
            expect(page.locator("#chain")).to_have_value(node.url)
        page.select_option("#chain", allowed.url)
        expect(page.locator("main .fields dd").first).to_have_text("qos-biz-one", timeout=WAIT)
        page.select_option("#chain", shut.url)
        expect(page.locator("main .error")).to_be_visible(timeout=WAIT)
        page.select_option("#chain", live.url)
        expect(page.locator("main .fields dd").first).to_have_text(CHAIN_ID, timeout=WAIT)
