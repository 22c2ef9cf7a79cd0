// How values read on the page: amounts with their units, times in the reader's language.
import { lang } from "./i18n.js";

const UNITS = 10000n;  // 1 QOS = 10^4 units (host/core/tx.py)

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function group(digits) { return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

// QOS and QSC amounts alike: units of 10^-4, four decimals, then the denomination
export function qos(units, denom = "QOS") {
  if (units === null || units === undefined) return "–";
  const value = BigInt(units);
  const sign = value < 0n ? "-" : "";
  const abs = value < 0n ? -value : value;
  const frac = String(abs % UNITS).padStart(4, "0");
  return `${sign}${group(String(abs / UNITS))}.${frac} ${denom}`;
}

export function tokens(amount, name) { return qos(amount ?? 0, esc(name)); }

export function count(value) { return group(String(value ?? 0)); }

export function time(ns) {
  if (!ns) return "–";
  const date = new Date(Number(BigInt(ns) / 1000000n));
  return date.toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB", { hour12: false });
}

export function seconds(unix) {
  return unix ? new Date(unix * 1000).toLocaleDateString(lang() === "zh" ? "zh-CN" : "en-GB") : "–";
}

export function short(text, keep = 10) {
  const s = String(text ?? "");
  return s.length > keep + 2 ? `${s.slice(0, keep)}…` : s;
}

export function percent(basisPoints) { return `${(Number(basisPoints) / 100).toFixed(2)} %`; }

export const link = {
  block: (h) => `<a href="#/block/${esc(h)}">${esc(h)}</a>`,
  tx: (hash, text) => `<a class="mono" href="#/tx/${esc(hash)}" title="${esc(hash)}">${esc(text ?? short(hash))}</a>`,
  account: (addr, text) => addr
    ? `<a class="mono" href="#/account/${esc(addr)}" title="${esc(addr)}">${esc(text ?? short(addr, 14))}</a>`
    : "–",
  token: (name) => `<a href="#/token/${esc(name)}">${esc(name)}</a>`,
};
