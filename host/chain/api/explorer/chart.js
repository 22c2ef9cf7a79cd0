// The mint schedule as an SVG bar chart: each period's planned amount against what was minted.
import { esc } from "./format.js";

const W = 640;
const H = 240;
const PAD = { left: 56, right: 8, top: 12, bottom: 36 };

export function mintChart(periods, labels, locale) {
  const compact = new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 });
  const max = Math.max(1, ...periods.map((p) => Number(p.total)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, periods.length);
  const bar = Math.max(2, slot * 0.36);
  const y = (v) => PAD.top + plotH - (Number(v) / max) * plotH;
  const bars = periods.map((p, i) => {
    const x = PAD.left + i * slot + slot * 0.12;
    const planned = `<rect class="planned" x="${x}" y="${y(p.total)}" width="${bar}" height="${PAD.top + plotH - y(p.total)}"><title>${esc(labels.planned)} ${esc(p.total)}</title></rect>`;
    const minted = `<rect class="minted" x="${x + bar}" y="${y(p.minted)}" width="${bar}" height="${PAD.top + plotH - y(p.minted)}"><title>${esc(labels.minted)} ${esc(p.minted)}</title></rect>`;
    const label = `<text x="${x + bar}" y="${H - PAD.bottom + 16}" text-anchor="middle">${i + 1}</text>`;
    return planned + minted + label;
  }).join("");
  const axis = [0, 0.5, 1].map((f) => {
    const value = compact.format(Math.round((max * f) / 10000));
    return `<text x="${PAD.left - 6}" y="${y(max * f) + 4}" text-anchor="end">${value}</text>`
      + `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(max * f)}" y2="${y(max * f)}" class="grid"/>`;
  }).join("");
  const legend = `<g class="legend"><rect class="planned" x="${PAD.left}" y="${H - 14}" width="10" height="10"/>`
    + `<text x="${PAD.left + 14}" y="${H - 5}">${esc(labels.planned)} (QOS)</text>`
    + `<rect class="minted" x="${PAD.left + 140}" y="${H - 14}" width="10" height="10"/>`
    + `<text x="${PAD.left + 154}" y="${H - 5}">${esc(labels.minted)}</text></g>`;
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(labels.title)}">${axis}${bars}${legend}</svg>`;
}
