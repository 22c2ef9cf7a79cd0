// The explorer: a single page whose views follow the location's #/path.
import { addChain, chainUrl, chains, events, get, useChain } from "./api.js";
import { mintChart } from "./chart.js";
import { count, esc, link, percent, qos, seconds, short, time, tokens } from "./format.js";
import { LANGS, lang, setLang, t } from "./i18n.js";

const main = () => document.getElementById("main");
const PAGE = 20;

// ---- layout -------------------------------------------------------------------------------
function renderChrome() {
  document.title = t("title");
  document.getElementById("brand").textContent = t("title");
  document.getElementById("search").placeholder = t("search");
  document.getElementById("go").textContent = t("go");
  for (const a of document.querySelectorAll("nav a[data-word]")) a.textContent = t(a.dataset.word);
  const langs = document.getElementById("lang");
  langs.innerHTML = Object.entries(LANGS)
    .map(([code, name]) => `<option value="${code}" ${code === lang() ? "selected" : ""}>${name}</option>`)
    .join("");
  const picker = document.getElementById("chain");
  picker.innerHTML = chains()
    .map((u) => `<option value="${esc(u)}" ${u === chainUrl() ? "selected" : ""}>${esc(u)}</option>`)
    .join("") + `<option value="+">${esc(t("addChain"))}…</option>`;
}

function table(headers, rows, empty = t("none")) {
  if (!rows.length) return `<p class="empty">${esc(empty)}</p>`;
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("");
  return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function fields(pairs) {
  return `<dl class="fields">${pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("")}</dl>`;
}

function pager(base, next, cursor) {
  const links = [];
  if (cursor) links.push(`<a class="newest" href="${base}">${esc(t("newest"))}</a>`);
  if (next) links.push(`<a class="older" href="${base}?cursor=${esc(next)}">${esc(t("older"))} →</a>`);
  return `<p class="pager">${links.join(" ")}</p>`;
}

function status(code) {
  return code === 0 ? `<span class="ok">${esc(t("ok"))}</span>`
    : `<span class="bad">${esc(t("failed"))} (${esc(code)})</span>`;
}

function msgSummary(msgs) {
  return msgs.map((m) => esc(m.type)
    + (m.amount !== undefined && typeof m.amount !== "object" ? ` <small>${qos(m.amount, esc(m.name || "QOS"))}</small>` : ""))
    .join(", ");
}

function blockRows(items) {
  return items.map((b) => [link.block(b.height), time(b.time_ns), count(b.num_txs),
    `<span class="mono" title="${esc(b.hash)}">${esc(short(b.hash))}</span>`]);
}

function txRows(items) {
  return items.map((x) => [link.tx(x.hash), link.block(x.height), msgSummary(x.msgs),
    link.account(x.signer), status(x.code), time(x.time_ns)]);
}

const TX_HEAD = () => [t("hash"), t("height"), t("type"), t("signer"), t("status"), t("time")];

// ---- views --------------------------------------------------------------------------------
const views = {
  async home() {
    const [st, blocks, txs] = await Promise.all([get("/status"), get("/blocks?limit=10"), get("/txs?limit=10")]);
    return fields([[t("chainId"), esc(st.chain_id)], [t("latestHeight"), link.block(st.height)],
      [t("engine"), esc(st.engine)]])
      + `<div class="two"><section id="latest-blocks"><h2>${esc(t("latestBlocks"))}</h2>`
      + table([t("height"), t("time"), t("numTxs"), t("hash")], blockRows(blocks.items))
      + `</section><section id="latest-txs"><h2>${esc(t("latestTxs"))}</h2>`
      + table(TX_HEAD(), txRows(txs.items)) + "</section></div>";
  },

  async blocks(_, query) {
    const cursor = query.get("cursor") || "";
    const page = await get(`/blocks?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    return `<h2>${esc(t("blocks"))}</h2>`
      + table([t("height"), t("time"), t("numTxs"), t("hash")], blockRows(page.items))
      + pager("#/blocks", page.next, cursor);
  },

  async txs(_, query) {
    const cursor = query.get("cursor") || "";
    const page = await get(`/txs?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    return `<h2>${esc(t("txs"))}</h2>` + table(TX_HEAD(), txRows(page.items))
      + pager("#/txs", page.next, cursor);
  },

  async block([height]) {
    const b = await get(`/blocks/${encodeURIComponent(height)}`);
    const h = Number(b.height);
    const nav = `<p class="pager">${h > 1 ? `<a href="#/block/${h - 1}">← ${h - 1}</a>` : ""} <a href="#/block/${h + 1}">${h + 1} →</a></p>`;
    return `<h2>${esc(t("block"))} ${esc(b.height)}</h2>` + nav
      + fields([[t("hash"), `<span class="mono">${esc(b.hash)}</span>`], [t("time"), time(b.time_ns)],
        [t("proposer"), `<span class="mono">${esc(b.proposer)}</span>`],
        [t("appHash"), `<span class="mono">${esc(b.app_hash)}</span>`], [t("numTxs"), count(b.num_txs)]])
      + `<h3>${esc(t("txs"))}</h3>` + table([t("index"), t("hash")], b.txs.map((x, i) => [i, link.tx(x, x)]))
      + `<h3>${esc(t("events"))}</h3>` + eventsTable(b.events);
  },

  async tx([hash]) {
    const x = await get(`/txs/${encodeURIComponent(hash)}/decoded`);
    const d = x.decoded || { msgs: [] };
    return `<h2>${esc(t("tx"))}</h2>`
      + fields([[t("hash"), `<span class="mono">${esc(x.hash)}</span>`], [t("status"), status(x.code)],
        [t("height"), link.block(x.height)], [t("time"), time(x.time_ns)],
        [t("signer"), d.signature_valid === false
          ? `<span class="bad">${esc(d.signer)} (${esc(t("badSignature"))})</span>`
          : link.account(d.signer, d.signer)], [t("fee"), qos(d.fee)],
        [t("nonce"), esc(d.nonce)], [t("memo"), esc(d.memo)],
        ...(x.code ? [[t("log"), esc(x.log)]] : [])])
      + `<h3>${esc(t("messages"))}</h3>` + d.msgs.map(messageBox).join("")
      + `<h3>${esc(t("events"))}</h3>` + eventsTable(x.events);
  },

  async account([address], query) {
    const cursor = query.get("cursor") || "";
    const [held, page] = await Promise.all([
      get(`/accounts/${encodeURIComponent(address)}/holdings`),
      get(`/accounts/${encodeURIComponent(address)}/txs?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`),
    ]);
    const acc = held.account;
    const roleWords = { signer: "roleSigner", party: "roleParty", block: "roleBlock" };
    const rows = page.items.map((x) => (x.kind === "block_events"
      ? [`<a href="#/block/${esc(x.height)}">${esc(t("blockEvents"))}</a>`, link.block(x.height),
        x.events.map((e) => esc(e.type)).join(", "), esc(t("roleBlock")), "–", time(x.time_ns)]
      : [link.tx(x.hash), link.block(x.height), msgSummary(x.msgs),
        x.role.map((r) => esc(t(roleWords[r]))).join(", "), status(x.code), time(x.time_ns)]));
    return `<h2>${esc(t("account"))}</h2><p class="mono wrap" id="address">${esc(held.address)}</p>`
      + fields([[t("balance"), `<span id="balance">${qos(acc.balance)}</span>`],
        [t("locked"), qos(acc.locked)], [t("nonce"), esc(acc.nonce)]])
      + `<h3>${esc(t("qscBalances"))}</h3>`
      + table([t("name"), t("balance"), t("frozen")],
        held.qsc.map((q) => [link.token(q.name), tokens(q.balance, q.name), tokens(q.frozen || 0, q.name)]))
      + `<h3>${esc(t("delegations"))}</h3>`
      + table([t("validator"), t("amount"), t("shares"), t("expires")],
        held.delegations.map((d) => [link.account(d.validator, d.moniker || d.validator), qos(d.tokens), count(d.shares),
          d.expires && d.expires * 1000 < Date.now() ? `<span class="bad">${esc(t("lapsed"))}</span>` : seconds(d.expires)]))
      + (Object.keys(held.vouchers || {}).length ? `<h3>${esc(t("vouchers"))}</h3>`
        + table([t("denom"), t("balance")], Object.entries(held.vouchers).map(([d, v]) => [esc(d), qos(v, "")])) : "")
      + `<section id="history"><h3>${esc(t("history"))}</h3>`
      + table([t("hash"), t("height"), t("type"), t("role"), t("status"), t("time")], rows)
      + pager(`#/account/${esc(held.address)}`, page.next, cursor) + "</section>";
  },

  async validators() {
    const [details, engine] = await Promise.all([get("/validators/details"), get("/validators").catch(() => ({ validators: [] }))]);
    const rows = details.validators.map((v) => [esc(v.moniker), link.account(v.operator), count(v.power), qos(v.tokens),
      percent(v.commission), qos(v.volume), v.uptime_bps === null ? "–" : percent(v.uptime_bps),
      count(v.missed), esc(stateOf(v))]);
    return `<h2>${esc(t("validators"))}</h2>`
      + table([t("moniker"), t("operator"), t("power"), t("bonded"), t("commission"), t("volume"), t("uptime"), t("missed"), t("state")], rows)
      + `<p class="note">${esc(t("epochNote"))}: ${count(details.blocks_into_epoch)} / ${count(details.epoch_blocks)} · `
      + `${esc(t("renewNote"))}: ${count(Math.round((details.renew_seconds || 0) / 86400))} ${esc(t("days"))} · `
      + `${esc(t("engine"))}: ${count(engine.validators.length)}</p>`;
  },

  async tokens() {
    const list = (await get("/qsc")).tokens;
    const rows = list.map((q) => [link.token(q.name), tokens(q.supply, q.name), tokens(q.supply_cap, q.name),
      esc(q.paused ? t("yes") : t("no")), qos(q.mining?.fees), qos(q.mining?.fund)]);
    return `<h2>${esc(t("tokens"))}</h2>`
      + table([t("name"), t("supply"), t("cap"), t("paused"), t("miningFees"), t("fund")], rows);
  },

  async token([name]) {
    const q = (await get(`/qsc/${encodeURIComponent(name)}`)).value;
    const mining = (await get("/qsc")).tokens.find((x) => x.name === q.name)?.mining || {};
    return `<h2>${esc(t("tokens"))}: ${esc(q.name)}</h2>`
      + fields([[t("supply"), tokens(q.supply, q.name)], [t("cap"), tokens(q.supply_cap, q.name)],
        [t("paused"), esc(q.paused ? t("yes") : t("no"))], [t("owner"), link.account(q.owner, q.owner)],
        [t("banker"), link.account(q.banker, q.banker)], [t("miningFees"), qos(mining.fees)],
        [t("credits"), count(mining.credits)], [t("fund"), qos(mining.fund)]]);
  },

  async mint() {
    const s = (await get("/mint/schedule")).value;
    const total = s.periods.reduce((a, p) => a + BigInt(p.minted), 0n);
    const now = Date.now() / 1000;
    // what the schedule releases by now: each period pays out evenly over its length
    const due = (p) => BigInt(Math.floor(Number(p.total)
      * Math.min(1, Math.max(0, (now - p.start) / s.period_seconds))));
    const dueAll = s.periods.reduce((a, p) => a + due(p), 0n);
    const rows = s.periods.map((p) => [p.index + 1, seconds(p.start), qos(p.total), qos(due(p)),
      qos(p.minted), qos(p.skipped)]);
    const locale = lang() === "zh" ? "zh-CN" : "en";
    return `<h2>${esc(t("mint"))}</h2>`
      + mintChart(s.periods, { planned: t("planned"), minted: t("minted"), title: t("mint") }, locale)
      + fields([[t("totalMinted"), `<span id="minted">${qos(total)}</span>`], [t("due"), qos(dueAll)]])
      + table([t("period"), t("start"), t("planned"), t("due"), t("minted"), t("skipped")], rows);
  },

  async qcp() {
    const list = (await get("/index/qcp")).counterparties;
    const n = (c, kind) => count(c.events[kind] || 0);
    const rows = list.map((c) => {
      const seq = c.seq || { out: 0, in: 0, acked: 0 };
      const client = c.client ? `#${esc(c.client.number)} · ${esc(t("height"))} ${count(c.client.height)}`
        + (c.client.frozen ? ` · <span class="bad">${esc(t("frozen"))}</span>` : "") : "–";
      return [esc(c.chain), client, count(seq.out), count(seq.in), count(seq.acked),
        count(Math.max(0, seq.out - seq.acked)), n(c, "qcp_resolved_timeout"), n(c, "qcp_transfer"),
        link.block(c.last_height)];
    });
    return `<h2>${esc(t("qcp"))}</h2>`
      + table([t("chain"), t("client"), t("seqOut"), t("seqIn"), t("acked"), t("inFlight"),
        t("timeouts"), t("transfers"), t("lastSeen")], rows)
      + `<p class="note">${esc(t("qcpNote"))}</p>`;
  },

  async gov() {
    const list = (await get("/gov/proposals")).value || [];
    const rows = list.map((p) => [`<a href="#/proposal/${esc(p.id)}">${esc(p.id)}</a>`, esc(p.kind),
      esc(p.status), esc(p.result ?? ""), qos(p.deposit), link.account(p.proposer)]);
    return `<h2>${esc(t("proposals"))}</h2>`
      + table(["#", t("kind"), t("status"), t("result"), t("deposit"), t("proposer")], rows);
  },

  async proposal([id]) {
    const p = (await get(`/gov/proposals/${encodeURIComponent(id)}`)).value;
    const content = Object.entries(p.content).map(([k, v]) => [k, fieldValue(k, v)]);
    return `<h2>${esc(t("proposal"))} ${esc(p.id)}</h2>`
      + fields([[t("kind"), esc(p.kind)], [t("status"), esc(p.status)], [t("result"), esc(p.result || "–")],
        [t("proposer"), link.account(p.proposer, p.proposer)], [t("deposit"), qos(p.deposit)],
        [t("depositEnd"), seconds(p.deposit_end)], [t("votingEnd"), seconds(p.voting_end)], ...content])
      + `<h3>${esc(t("votes"))}</h3>`
      + table([t("account"), t("vote")], Object.entries(p.votes || {}).map(([a, o]) => [link.account(a, a), esc(o)]))
      + `<h3>${esc(t("tally"))}</h3>` + fields(Object.entries(p.tally || {}).map(([k, v]) => [k, esc(typeof v === "object" ? JSON.stringify(v) : v)]));
  },

  async search([text]) {
    const found = await get(`/search?q=${encodeURIComponent(text)}`);
    const target = { block: "block", tx: "tx", account: "account", validator: "account", token: "token" }[found.kind];
    location.replace(`#/${target}/${encodeURIComponent(found.id)}`);
    return "";
  },
};

function stateOf(v) {
  if (v.removed) return t("removed");
  if (v.barred_epoch >= 0) return t("jailed");
  return v.power > 0 ? t("active") : t("inactive");
}

function messageBox(msg) {
  const rows = Object.entries(msg).filter(([k]) => k !== "type").map(([k, v]) => [k, fieldValue(k, v)]);
  return `<div class="msg"><h4>${esc(msg.type)}</h4>${fields(rows)}</div>`;
}

function fieldValue(key, value) {
  if (typeof value === "string" && /^qos(acc|val)1/.test(value)) return link.account(value, value);
  if (key === "amount" || key === "fee") return typeof value === "object" ? esc(JSON.stringify(value)) : `${esc(value)} <small>(${qos(value)})</small>`;
  return typeof value === "object" ? `<code>${esc(JSON.stringify(value))}</code>` : esc(value);
}

function eventsTable(list) {
  return table([t("type"), ""], (list || []).map((e) => [esc(e.type),
    Object.entries(e.attributes).map(([k, v]) => `<span class="attr">${esc(k)}=${/^qos(acc|val)1/.test(v) ? link.account(v, v) : esc(v)}</span>`).join(" ")]));
}

// ---- routing ------------------------------------------------------------------------------
let drawing = 0;  // the latest show(): an older one that finishes late draws nothing
async function show() {
  const hash = location.hash;
  const mine = ++drawing;
  const [path, search] = hash.replace(/^#\/?/, "").split("?");
  const [name, ...args] = path.split("/").map(decodeURIComponent);
  const view = views[name || "home"];
  const target = main();
  target.setAttribute("aria-busy", "true");
  let html;
  try {
    html = view ? await view(args, new URLSearchParams(search || ""))
      : `<p class="error">${esc(t("notFound"))}</p>`;
  } catch (err) {
    const word = err.status === 404 ? t("notFound") : t("error");
    html = `<p class="error" role="alert">${esc(word)}: ${esc(err.message)}</p>`;
  }
  if (mine !== drawing) return;
  target.innerHTML = html;
  target.setAttribute("aria-busy", "false");
  target.dataset.shown = hash;  // what the page shows now (tests wait on it)
  document.body.dataset.view = name || "home";
  for (const a of document.querySelectorAll("nav a")) {
    const here = a.getAttribute("href") === `#/${name || ""}`;
    if (here) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
}

let refresh = null;
function live() {
  const badge = document.getElementById("live");
  return events((event) => {
    if (event.type !== "new_block" || document.body.dataset.view !== "home" || refresh) return;
    refresh = setTimeout(() => { refresh = null; show(); }, 500);  // at most two redraws a second
  }, (up) => {
    badge.textContent = up ? `● ${t("live")}` : `○ ${t("offline")}`;
    badge.className = up ? "live" : "offline";
  });
}

function start() {
  setLang(lang());
  renderChrome();
  document.getElementById("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = document.getElementById("search").value.trim();
    if (text) location.hash = `#/search/${encodeURIComponent(text)}`;
  });
  document.getElementById("lang").addEventListener("change", (e) => {
    setLang(e.target.value);
    renderChrome();
    show();
  });
  let stopLive = live();
  document.getElementById("chain").addEventListener("change", (e) => {
    let url = e.target.value;
    if (url === "+") {
      const typed = prompt(t("addChain"), "http://127.0.0.1:1317");
      try { url = typed ? addChain(typed) : chainUrl(); } catch { url = chainUrl(); }
    }
    useChain(url);
    renderChrome();
    stopLive();
    stopLive = live();
    show();
  });
  window.addEventListener("hashchange", show);
  show();
}

start();
