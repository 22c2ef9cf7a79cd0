// The node API the pages read: one chain at a time, chosen among the chains the user added.
const CHAINS_KEY = "qos.chains";
const CHAIN_KEY = "qos.chain";

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export function chains() {
  const saved = JSON.parse(localStorage.getItem(CHAINS_KEY) || "[]");
  return [location.origin, ...saved.filter((u) => u !== location.origin)];
}

export function addChain(url) {
  const clean = new URL(url).origin;  // throws on a bad URL: the page says so
  const saved = JSON.parse(localStorage.getItem(CHAINS_KEY) || "[]");
  if (!saved.includes(clean)) saved.push(clean);
  localStorage.setItem(CHAINS_KEY, JSON.stringify(saved));
  return clean;
}

export function chainUrl() {
  const chosen = localStorage.getItem(CHAIN_KEY);
  return chosen && chains().includes(chosen) ? chosen : location.origin;
}

export function useChain(url) { localStorage.setItem(CHAIN_KEY, url); }

// Amounts may pass 2^53: such numbers are read from their source text as BigInt.
function reviver(key, value, context) {
  if (typeof value === "number" && !Number.isSafeInteger(value) && Number.isInteger(value)
      && context && context.source) {
    return BigInt(context.source);
  }
  return value;
}

export async function get(path) {
  const response = await fetch(chainUrl() + path, { headers: { Accept: "application/json" } });
  const text = await response.text();
  let doc;
  try { doc = JSON.parse(text, reviver); } catch { doc = { error: text }; }
  if (!response.ok) throw new ApiError(response.status, doc.error || response.statusText);
  return doc;
}

export function events(onEvent, onState) {
  const url = chainUrl().replace(/^http/, "ws") + "/ws";
  let socket;
  let stopped = false;
  const open = () => {
    socket = new WebSocket(url);
    socket.onopen = () => onState(true);
    socket.onmessage = (msg) => onEvent(JSON.parse(msg.data, reviver));
    socket.onclose = () => {
      onState(false);
      if (!stopped) setTimeout(open, 3000);
    };
  };
  open();
  return () => { stopped = true; socket.close(); };
}
