"""The explorer's REST routes on a live solo node: account history for sender and recipient,
stable cursors, decoded txs, holdings, search, CORS, and a clear 400 for every bad input."""

from __future__ import annotations

import json

from tests.explorer.conftest import QOS, TOKEN, account


def pages(live, path: str, limit: int) -> list[list[dict]]:
    """Every page of a paged route, following `next`."""
    out, cursor = [], ""
    sep = "&" if "?" in path else "?"
    while True:
        after = f"&cursor={cursor}" if cursor else ""
        status, doc = live.get(f"{path}{sep}limit={limit}{after}")
        assert status == 200, doc
        out.append(doc["items"])
        if doc["next"] is None:
            return out
        cursor = doc["next"]


def test_history_names_sender_and_recipient(live):
    alice, bob = account(0), account(1)
    bob_txs = [i for page in pages(live, f"/accounts/{bob.address_string}/txs", 2) for i in page]
    # bob received three transfers and a QSC transfer, and sent one transfer
    assert len(bob_txs) == 5
    assert [t["role"] for t in bob_txs].count(["signer"]) == 1
    assert all(t["code"] == 0 and t["time_ns"] > 0 for t in bob_txs)
    positions = [(t["height"], t["index"]) for t in bob_txs]
    assert positions == sorted(positions, reverse=True)  # newest first
    sent = live.get(f"/accounts/{bob.address_string}/txs?role=signer")[1]["items"]
    assert [t["msgs"][0]["type"] for t in sent] == ["bank/transfer"]
    received = live.get(f"/accounts/{bob.address_string}/txs?role=party")[1]["items"]
    assert len(received) == 4 and all("party" in t["role"] for t in received)
    # a hex address names the same account
    hex_page = live.get(f"/accounts/{bob.address.hex()}/txs")[1]["items"]
    assert [t["hash"] for t in hex_page] == [t["hash"] for t in bob_txs]
    alice_all = live.get(f"/accounts/{alice.address_string}/txs?limit=100")[1]["items"]
    assert {t["hash"] for t in alice_all} >= {r["hash"] for r in live.receipts[:4]}


def test_cursor_is_stable_while_blocks_are_added(live):
    alice, bob = account(0), account(1)
    path = f"/accounts/{bob.address_string}/txs?limit=2"
    first = live.get(path)[1]
    live.send(alice, [{"type": "bank/transfer", "to": bob.address, "amount": 7}])
    second = live.get(f"{path}&cursor={first['next']}")[1]
    # the page after the cursor continues where the first stopped; the new tx is above it
    assert second["items"][0]["height"] <= first["items"][-1]["height"]
    seen = {t["hash"] for t in first["items"]} & {t["hash"] for t in second["items"]}
    assert not seen
    newest = live.get(path)[1]["items"][0]
    assert newest["hash"] == live.receipts[-1]["hash"]


def test_latest_blocks_and_txs_pages(live):
    status, blocks = live.get("/blocks?limit=3")
    assert status == 200 and len(blocks["items"]) == 3
    heights = [b["height"] for b in blocks["items"]]
    assert heights == sorted(heights, reverse=True) and blocks["next"] == str(heights[-1])
    older = live.get(f"/blocks?limit=3&cursor={blocks['next']}")[1]["items"]
    assert older[0]["height"] == heights[-1] - 1
    txs = [t for page in pages(live, "/txs", 3) for t in page]
    assert {r["hash"] for r in live.receipts} <= {t["hash"] for t in txs}


def test_decoded_tx_and_holdings(live):
    receipt = live.receipts[0]
    status, tx = live.get(f"/txs/{receipt['hash']}/decoded")
    assert status == 200
    msg = tx["decoded"]["msgs"][0]
    assert msg == {"type": "bank/transfer", "to": account(1).address_string, "amount": QOS}
    assert tx["decoded"]["signer"] == account(0).address_string
    assert tx["events"] and tx["time_ns"] > 0
    status, held = live.get(f"/accounts/{account(1).address_string}/holdings")
    assert status == 200 and held["account"]["balance"] > 10**6 * QOS
    assert held["qsc"] == [{**held["qsc"][0], "name": TOKEN, "balance": 1200}]
    alice = live.get(f"/accounts/{account(0).address_string}/holdings")[1]
    delegation = alice["delegations"][0]
    assert delegation["tokens"] == 100 * QOS
    assert delegation["expires"] == delegation["renewed"] + 30 * 86400  # the default 时效
    status, details = live.get("/validators/details")
    assert status == 200 and details["renew_seconds"] == 30 * 86400
    val = details["validators"][0]
    assert val["volume"] > 0  # the solo validator proposed every block with a fee
    assert 0 <= val["uptime_bps"] <= 10_000 and 1 <= details["blocks_into_epoch"] <= 100
    tokens = live.get("/qsc")[1]["tokens"]
    assert tokens[0]["name"] == TOKEN and tokens[0]["supply"] == 5000 and "mining" in tokens[0]


def test_search_finds_each_kind(live):
    receipt = live.receipts[0]
    block = live.get(f"/blocks/{receipt['height']}")[1]
    operator = live.get("/staking/validators")[1]["value"][0]
    cases = {
        str(receipt["height"]): ("block", str(receipt["height"])),
        receipt["hash"]: ("tx", receipt["hash"]),
        receipt["hash"].upper(): ("tx", receipt["hash"]),
        block["hash"]: ("block", str(receipt["height"])),
        account(1).address_string: ("account", account(1).address_string),
        account(1).address.hex(): ("account", account(1).address_string),
        "star": ("token", TOKEN),
        operator["moniker"]: ("validator", operator["operator"]),
    }
    for text, (kind, ident) in cases.items():
        status, doc = live.get(f"/search?q={text}")
        assert status == 200 and (doc["kind"], doc["id"]) == (kind, ident), (text, doc)
    for absent in ("99999999", "ab" * 32, "NOPE"):
        status, doc = live.get(f"/search?q={absent}")
        assert status == 404 and "nothing" in doc["error"], absent


def test_bad_inputs_get_clear_400s(live):
    bob = account(1).address_string
    cases = {
        f"/accounts/{bob}/txs?cursor=abc": "cursor",
        f"/accounts/{bob}/txs?cursor=1.": "cursor",
        f"/accounts/{bob}/txs?cursor=-1.0": "cursor",
        f"/accounts/{bob}/txs?cursor=" + "9" * 30 + ".0": "cursor",
        f"/accounts/{bob}/txs?limit=0": "limit",
        f"/accounts/{bob}/txs?limit=101": "limit",
        f"/accounts/{bob}/txs?limit=ten": "limit",
        f"/accounts/{bob}/txs?role=boss": "role",
        "/accounts/qosacc1nothing/txs": "address",
        "/accounts/zz/holdings": "address",
        "/blocks?cursor=x": "cursor",
        "/blocks?cursor=0": "cursor",
        "/txs?cursor=1.2.3": "cursor",
        "/txs/abcd/decoded": "hash",
        "/search?q=": "q",
        "/search?q=" + "x" * 200: "q",
        "/search?q=what%20is%20this": None,  # not a height, hash, address, token or moniker
    }
    for path, word in cases.items():
        status, doc = live.get(path)
        if word is None:
            assert status == 404 and doc["error"], path
        else:
            assert status == 400 and word in doc["error"], (path, doc)
    assert live.get("/txs/" + "00" * 32 + "/decoded")[0] == 404


def test_cors_off_by_default_own_origin_allowed(live):
    foreign = {"Origin": "https://elsewhere.example"}
    status, headers, _ = live.call("/status", headers=foreign)
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    preflight = {**foreign, "Access-Control-Request-Method": "POST"}
    status, _, body = live.call("/txs", "OPTIONS", headers=preflight)
    assert status == 403 and "cors_origins" in json.loads(body)["error"]
    own = {"Origin": live.url}
    status, headers, _ = live.call("/status", headers=own)
    assert headers.get("Access-Control-Allow-Origin") == live.url


def test_index_catches_up_and_openapi_lists_routes(live):
    status, doc = live.get("/index/status")
    assert status == 200 and doc["indexed_height"] == doc["height"] > 0
    status, doc = live.get("/index/qcp")
    assert status == 200 and doc["counterparties"] == []  # no QCP traffic on this chain
    paths = live.get("/openapi.json")[1]["paths"]
    for path in ("/accounts/{address}/txs", "/search", "/blocks", "/txs", "/qsc"):
        assert path in paths, path
    assert paths["/accounts/{address}/txs"]["get"]["responses"]["400"]


def test_pages_are_served_and_nothing_else_of_the_tree(live):
    status, headers, body = live.call("/explorer")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'src="/assets/app.js"' in body
    status, headers, _ = live.call("/assets/app.js")
    assert status == 200 and "javascript" in headers["Content-Type"]
    status, _, body = live.call("/wallet")
    assert status == 200 and b"wallet.js" in body
    request_root = live.call("/")
    assert request_root[0] == 200 and b"app.js" in request_root[2]  # followed the redirect
    # the asset route serves the explorer's own files by plain name, nothing around them
    for path in ("/assets/..%2Fpages.py", "/assets/%2E%2E%2Fserver.py", "/assets/pages.py",
                 "/assets/index.html", "/assets/.hidden.js", "/assets/nope.js"):
        status, _, body = live.call(path)
        assert status == 404 and b"no asset" in body, path
