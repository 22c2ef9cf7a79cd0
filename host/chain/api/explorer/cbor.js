// Deterministic CBOR (docs/protocol.md section 1), encoding only: what the wallet sends to the
// device to sign and to the node to broadcast. Integers are Numbers or BigInts, byte strings
// Uint8Arrays, map keys text (ordered shorter first, then bytewise: the canonical order).
const utf8 = new TextEncoder();

function head(major, value, out) {
  const n = BigInt(value);
  if (n < 24n) out.push((major << 5) | Number(n));
  else if (n < 0x100n) out.push((major << 5) | 24, Number(n));
  else if (n < 0x10000n) out.push((major << 5) | 25, Number(n >> 8n), Number(n & 0xffn));
  else if (n < 0x100000000n) {
    out.push((major << 5) | 26);
    for (let s = 24n; s >= 0n; s -= 8n) out.push(Number((n >> s) & 0xffn));
  } else {
    out.push((major << 5) | 27);
    for (let s = 56n; s >= 0n; s -= 8n) out.push(Number((n >> s) & 0xffn));
  }
}

function put(value, out) {
  if (value === null) out.push(0xf6);
  else if (value === true) out.push(0xf5);
  else if (value === false) out.push(0xf4);
  else if (typeof value === "number" || typeof value === "bigint") {
    if (typeof value === "number" && !Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
    const n = BigInt(value);
    if (n >= 0n) head(0, n, out); else head(1, -1n - n, out);
  } else if (typeof value === "string") {
    const bytes = utf8.encode(value);
    head(3, bytes.length, out);
    out.push(...bytes);
  } else if (value instanceof Uint8Array) {
    head(2, value.length, out);
    out.push(...value);
  } else if (Array.isArray(value)) {
    head(4, value.length, out);
    for (const item of value) put(item, out);
  } else if (typeof value === "object") {
    const keys = Object.keys(value).map((k) => [k, utf8.encode(k)]);
    keys.sort(([, a], [, b]) => a.length - b.length || compare(a, b));
    head(5, keys.length, out);
    for (const [key, bytes] of keys) {
      head(3, bytes.length, out);
      out.push(...bytes);
      put(value[key], out);
    }
  } else {
    throw new Error(`cannot encode ${typeof value}`);
  }
}

function compare(a, b) {
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

export function encode(value) {
  const out = [];
  put(value, out);
  return Uint8Array.from(out);
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  if (!/^([0-9a-f]{2})*$/i.test(text)) throw new Error("not hex");
  return Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));
}
