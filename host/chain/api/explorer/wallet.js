// The web wallet: the device (through `qos device bridge`) holds the key; this page builds the
// tx, asks the node whether it would take it, shows the pages the device will show, has the
// device sign, broadcasts and follows the tx to its block. Nothing is sent to the bridge before
// the user presses Connect.
import { get } from "./api.js";
import { decodeAddress } from "./bech32.js";
import { encode, fromHex, toHex } from "./cbor.js";
import { esc, qos, tokens } from "./format.js";
import { LANGS, lang, setLang, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const ACCOUNT = 0;
const INDEX = 0;
let address = null;
let pubkey = null;

// ---- the bridge ---------------------------------------------------------------------------
async function device(method, params = {}) {
  const response = await fetch(`${$("bridge").value.replace(/\/$/, "")}/call`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ method, params }),
  });
  const doc = await response.json();
  if (doc.error) throw new Error(`${doc.error.message} (${doc.error.code})`);
  return doc.result;
}

// ---- amounts ------------------------------------------------------------------------------
export function parseAmount(text) {
  const match = /^\s*(\d+)(?:\.(\d{1,4}))?\s*$/.exec(text);
  if (!match) throw new Error(t("badAmount"));
  const units = BigInt(match[1]) * 10000n + BigInt((match[2] || "").padEnd(4, "0"));
  if (units >= 2n ** 63n) throw new Error(t("badAmount"));  // every amount is below 2^63 units
  return units;
}

// ---- what the device will show (firmware/codec/tx.py describe()) ----------------------------
const TITLES = { "bank/transfer": "Send QOS", "qsc/transfer": "Send QSC", "staking/delegate": "Delegate", "qcp/transfer": "QCP transfer" };

function msgLines(msg, view) {
  const lines = [];
  if (msg.type === "qcp/transfer") {
    // firmware/codec/qcp_pages.py: the wallet sends QOS with no timeout (the chain's default)
    const home = msg.denom.startsWith(`qcp/${msg.to_chain}/`);
    return [["To chain", msg.to_chain], ["Token", JSON.stringify(msg.denom)],
      [home ? `Returns home to chain ${msg.to_chain}` : "Leaves as a voucher of this token", ""],
      ["Receiver", view.to], ["Amount", qos(msg.amount, "").trim()],
      ["Timeout height", "none"], ["Timeout UTC", "none"],
      ["WARNING: no timeout; the chain sets one day after sending", ""]];
  }
  if (msg.name) lines.push(["Token", msg.name]);
  if (view.to) lines.push(["To", view.to]);
  if (view.validator) lines.push(["Validator", view.validator]);
  lines.push(["Amount", msg.name ? tokens(msg.amount, msg.name) : qos(msg.amount)]);
  return lines;
}

function pages(tx, views) {
  const out = [["Sign transaction", [["Chain", tx.chain], ["Account", `${ACCOUNT}/${INDEX}`], ["Nonce", String(tx.nonce)], ["Messages", String(tx.msgs.length)]]]];
  tx.msgs.forEach((m, i) => out.push([TITLES[m.type], msgLines(m, views[i])]));
  out.push(["Fee and memo", [["Fee", qos(tx.fee)], ["Memo", tx.memo ? JSON.stringify(tx.memo) : "(none)"]]]);
  return out;
}

// ---- the form -----------------------------------------------------------------------------
function message(kind) {
  const amount = parseAmount($("amount").value);
  const to = $("to").value.trim();
  if (kind === "transfer") return [{ type: "bank/transfer", to: decodeAddress(to, ["qosacc"]), amount }, { to }];
  if (kind === "qsc") return [{ type: "qsc/transfer", name: $("token").value, to: decodeAddress(to, ["qosacc"]), amount }, { to }];
  if (kind === "delegate") {
    const validator = $("validator").value;
    return [{ type: "staking/delegate", validator: decodeAddress(validator), amount }, { validator }];
  }
  const chain = $("to-chain").value.trim();
  if (!/^[a-z0-9-]{1,32}$/.test(chain)) throw new Error(t("badChain"));
  // QOS escrowed here, a voucher there (docs/qcp.md); no timeouts given: the chain's default
  const msg = { type: "qcp/transfer", to_chain: chain, denom: "QOS", receiver: decodeAddress(to, ["qosacc"]),
    amount, timeout_height: 0, timeout_time: 0 };
  return [msg, { to }];
}

function showKind() {
  const kind = $("kind").value;
  $("token-row").hidden = kind !== "qsc";
  $("chain-row").hidden = kind !== "qcp";
  $("validator-row").hidden = kind !== "delegate";
  $("to-row").hidden = kind === "delegate";
}

function progress(text, cls = "") {
  $("progress").innerHTML = text;
  $("progress").className = cls;
}

async function refreshAccount() {
  const held = await get(`/accounts/${address}/holdings`);
  $("balance").textContent = qos(held.account.balance);
  $("token").innerHTML = held.qsc.map((q) => `<option value="${esc(q.name)}">${esc(q.name)} (${tokens(q.balance, q.name)})</option>`).join("");
  const vals = (await get("/staking/validators")).value || [];
  $("validator").innerHTML = vals.map((v) => `<option value="${esc(v.operator)}">${esc(v.moniker)} ${esc(v.operator)}</option>`).join("");
  return held;
}

async function connect(event) {
  event.preventDefault();
  try {
    const info = await device("get_info");
    if (!info.initialized || info.locked) {
      $("device-state").textContent = t(info.initialized ? "deviceLocked" : "deviceEmpty");
      return;
    }
    $("device-state").textContent = `${info.model} ${info.version}`;
    address = (await device("get_address", { account: ACCOUNT, index: INDEX })).address;
    pubkey = fromHex((await device("get_public_key", { account: ACCOUNT, index: INDEX })).pubkey.hex);
    $("address").textContent = address;
    $("account").hidden = false;
    $("show-address").hidden = false;
    $("send").hidden = false;
    await refreshAccount();
  } catch (err) {
    $("device-state").innerHTML = `<span class="error">${esc(t("bridgeDown"))}: ${esc(err.message)}</span>`;
  }
}

// The node's reference fee (GET /fees/estimate): its minimum for this tx's size plus the tip it
// suggests. The size counts the envelope (pubkey, signature, keys) at its most, 128 bytes.
async function estimatedFee(tx) {
  const types = tx.msgs.map((m) => m.type).join(",");
  const quote = await get(`/fees/estimate?types=${encodeURIComponent(types)}&bytes=${encode(tx).length + 128}`);
  return quote.fee;
}

// POST /txs/simulate: the node's verdict now, its signature aside (64 zero bytes stand in for
// it, the size the fee counts), so a tx the node would refuse or fail is never signed.
async function simulate(tx) {
  const blank = encode({ tx, pubkey, sig: new Uint8Array(64) });
  const response = await fetch("/txs/simulate", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ tx: toHex(blank) }),
  });
  const verdict = await response.json();
  if (!response.ok) throw new Error(verdict.error);
  if (verdict.code !== 0) throw new Error(`${t("wouldRefuse")}: ${verdict.codespace}: ${verdict.log}`);
}

async function sign(event) {
  event.preventDefault();
  $("confirm").hidden = false;
  $("pages").innerHTML = "";
  progress("");
  let tx;
  let views;
  try {
    const [status, acc] = await Promise.all([get("/status"), get(`/accounts/${address}`).catch(() => ({ value: { nonce: 0 } }))]);
    const [msg, view] = message($("kind").value);
    tx = { chain: status.chain_id, nonce: acc.value.nonce + 1, fee: 0, msgs: [msg], memo: $("memo").value };
    tx.fee = $("fee").value.trim() ? parseAmount($("fee").value) : await estimatedFee(tx);
    views = [view];
    await simulate(tx);
  } catch (err) {
    progress(`${esc(t("error"))}: ${esc(err.message)}`, "error");
    return;
  }
  $("pages").innerHTML = pages(tx, views).map(([title, lines]) => `<div class="msg page"><h4>${esc(title)}</h4>`
    + `<dl class="fields">${lines.map(([k, v]) => `<dt>${esc(k)}</dt><dd class="mono">${esc(v)}</dd>`).join("")}</dl></div>`).join("");
  $("sign").disabled = true;
  try {
    progress(esc(t("confirmOnDevice")));
    const encoded = encode(tx);
    const signature = await device("sign_tx", { account: ACCOUNT, index: INDEX, tx: { hex: toHex(encoded) } });
    const signed = encode({ tx, pubkey: fromHex(signature.pubkey.hex), sig: fromHex(signature.sig.hex) });
    progress(esc(t("broadcasting")));
    const response = await fetch("/txs?wait=check", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ tx: toHex(signed) }),
    });
    const receipt = await response.json();
    if (!response.ok) throw new Error(receipt.error);
    progress(`${esc(t("waitingCommit"))} <a class="mono" href="/explorer#/tx/${esc(receipt.hash)}">${esc(receipt.hash.slice(0, 16))}…</a>`);
    const done = await follow(receipt.hash);
    const outcome = done.code === 0
      ? `<span id="committed" class="ok">${esc(t("committed"))}</span>`
      : `<span id="failed" class="bad">${esc(t("failed"))}: ${esc(done.codespace)}: ${esc(done.log)}</span>`;
    progress(`${outcome} `
      + `${esc(t("height"))} <a href="/explorer#/block/${esc(done.height)}">${esc(done.height)}</a> · `
      + `<a class="mono" href="/explorer#/tx/${esc(done.hash)}">${esc(done.hash.slice(0, 16))}…</a>`, done.code === 0 ? "ok" : "bad");
    await refreshAccount();
  } catch (err) {
    progress(`${esc(t("error"))}: ${esc(err.message)}`, "error");
  } finally {
    $("sign").disabled = false;
  }
}

async function follow(hash) {
  for (;;) {
    try {
      const tx = await get(`/txs/${hash}`);
      if (tx.executed) return tx;
    } catch (err) {
      if (err.status !== 404) throw err;
    }
    await new Promise((r) => { setTimeout(r, 500); });
  }
}

function words() {
  document.title = t("walletTitle");
  $("brand").textContent = t("walletTitle");
  for (const el of document.querySelectorAll("[data-word]")) el.textContent = t(el.dataset.word);
  $("lang").innerHTML = Object.entries(LANGS)
    .map(([code, name]) => `<option value="${code}" ${code === lang() ? "selected" : ""}>${name}</option>`).join("");
}

setLang(lang());
words();
$("lang").addEventListener("change", (e) => { setLang(e.target.value); words(); });
$("connect").addEventListener("submit", connect);
$("show-address").addEventListener("click", async () => {
  try {
    await device("get_address", { account: ACCOUNT, index: INDEX, show: true });
  } catch (err) {
    $("device-state").textContent = err.message;
  }
});
$("kind").addEventListener("change", showKind);
$("tx-form").addEventListener("submit", sign);
showKind();
