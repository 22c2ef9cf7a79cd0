// Bech32 (BIP-173) addresses: qosacc1... / qosval1... to their 20 bytes, checksum verified.
const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values) {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i += 1) if ((top >>> i) & 1) chk ^= GEN[i];
  }
  return chk;
}

function expand(hrp) {
  return [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
}

export function decodeAddress(text, hrps = ["qosacc", "qosval"]) {
  const s = text.trim();
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) throw new Error("mixed case");
  const lower = s.toLowerCase();
  const sep = lower.lastIndexOf("1");
  const hrp = lower.slice(0, sep);
  if (sep < 1 || !hrps.includes(hrp)) throw new Error(`an address starts with ${hrps.join("1 or ")}1`);
  const data = [...lower.slice(sep + 1)].map((c) => CHARSET.indexOf(c));
  if (data.length < 6 || data.includes(-1)) throw new Error("not a bech32 address");
  if (polymod([...expand(hrp), ...data]) !== 1) throw new Error("bad checksum");
  let acc = 0;
  let bits = 0;
  const out = [];
  for (const v of data.slice(0, -6)) {
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) { bits -= 8; out.push((acc >> bits) & 0xff); }
  }
  if (out.length !== 20) throw new Error("an address is 20 bytes");
  return Uint8Array.from(out);
}
