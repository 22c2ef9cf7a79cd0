// The pages' words in English and Chinese; the browser's language picks, the switch overrides.
const WORDS = {
  en: {
    title: "QOS Explorer", wallet: "Wallet", search: "Height, tx hash, address, validator or token",
    go: "Search", home: "Home", blocks: "Blocks", txs: "Transactions", validators: "Validators",
    tokens: "QSC tokens", mint: "Mint schedule", gov: "Governance", chain: "Chain",
    addChain: "Add a chain's API URL", add: "Add", live: "live", offline: "not live",
    latestBlocks: "Latest blocks", latestTxs: "Latest transactions", height: "Height",
    hash: "Hash", time: "Time", numTxs: "Txs", proposer: "Proposer", appHash: "App hash",
    block: "Block", tx: "Transaction", status: "Status", ok: "Success", failed: "Failed",
    signer: "Signer", fee: "Fee", nonce: "Nonce", memo: "Memo", messages: "Messages",
    events: "Events", type: "Type", account: "Account", balance: "Balance", locked: "Locked",
    qscBalances: "QSC balances", frozen: "Frozen", delegations: "Delegations",
    validator: "Validator", shares: "Shares", amount: "Amount", history: "History",
    role: "Role", roleSigner: "sent", roleParty: "received / named", older: "Older",
    newest: "Newest", none: "Nothing yet", moniker: "Moniker", operator: "Operator",
    power: "Power", commission: "Commission", bonded: "Bonded", missed: "Missed (epoch)",
    state: "State", active: "active", inactive: "inactive", jailed: "barred",
    removed: "removed", name: "Name", supply: "Supply", cap: "Supply cap", paused: "Paused",
    owner: "Owner", banker: "Banker", miningFees: "Mining fees", fund: "Fund",
    credits: "Credits", yes: "yes", no: "no", period: "Period", start: "Start",
    planned: "Planned", minted: "Minted", skipped: "Skipped", totalMinted: "Minted in all", due: "Due by now",
    proposals: "Proposals", kind: "Kind", result: "Result", deposit: "Deposit",
    notFound: "Not found", error: "Error", loading: "Loading…", code: "Code", log: "Log",
    index: "Index", txCount: "transactions", votes: "Votes", nothingFound: "Nothing found for",
    badSignature: "signature invalid: not signed by this account",
    roleBlock: "block event", blockEvents: "Block events",
    proposal: "Proposal", depositEnd: "Deposits until", votingEnd: "Voting until", vote: "Vote",
    tally: "Tally",
    qcp: "Cross-chain (QCP)", seqOut: "Packets sent", seqIn: "Packets received",
    qcpEvents: "QCP events", lastSeen: "Last seen at",
    qcpNote: "Every chain this chain's QCP events have named (a chain registered at genesis and never used is not listed). Sequence numbers: last packet sent, received, and sent packets resolved by an ack or a timeout.",
    client: "Client", acked: "Resolved", inFlight: "In flight", timeouts: "Timeouts",
    transfers: "Token transfers",
    volume: "Fee volume (epoch)", uptime: "Uptime (epoch)", epochNote: "Blocks into the epoch",
    renewNote: "Delegations lapse unless renewed within", days: "days",
    expires: "Valid until (时效)", lapsed: "lapsed: renew to earn again",
    chainId: "Chain ID", latestHeight: "Latest height", engine: "Engine",
    walletTitle: "QOS Wallet", device: "Device", bridgeUrl: "Bridge (qos device bridge)",
    connect: "Connect", address: "Address", showOnDevice: "Show the address on the device",
    newTx: "New transaction", kindTransfer: "Send QOS", kindQsc: "Send QSC",
    kindDelegate: "Delegate", kindQcp: "Send QOS to another chain", token: "Token",
    toChain: "Destination chain", recipient: "Recipient", feeLimit: "Fee (QOS, empty: the node's estimate)",
    signOnDevice: "Sign on the device", deviceShows: "The device shows",
    confirmOnDevice: "Check each page on the device and confirm there…",
    wouldRefuse: "The node would refuse this transaction (nothing was signed)",
    broadcasting: "Signed; broadcasting…", waitingCommit: "Accepted; waiting for its block:",
    committed: "Committed", deviceLocked: "The device is locked: unlock it first (qos device unlock).",
    deviceEmpty: "The device has no wallet yet (qos device setup).",
    bridgeDown: "The bridge did not answer (is `qos device bridge` running?)",
    vouchers: "Other chains' tokens (vouchers)", denom: "Denom",
    badAmount: "an amount has at most 4 decimals and is below 922337203685477.5808", badChain: "a chain id is 1..32 of a-z 0-9 -",
  },
  zh: {
    title: "QOS 区块浏览器", wallet: "钱包", search: "高度、交易哈希、地址、验证人或代币",
    go: "搜索", home: "首页", blocks: "区块", txs: "交易", validators: "验证人",
    tokens: "QSC 代币", mint: "增发计划", gov: "治理", chain: "链",
    addChain: "添加一条链的 API 地址", add: "添加", live: "实时", offline: "未连接",
    latestBlocks: "最新区块", latestTxs: "最新交易", height: "高度",
    hash: "哈希", time: "时间", numTxs: "交易数", proposer: "出块者", appHash: "状态哈希",
    block: "区块", tx: "交易", status: "状态", ok: "成功", failed: "失败",
    signer: "签名者", fee: "手续费", nonce: "序号", memo: "备注", messages: "消息",
    events: "事件", type: "类型", account: "账户", balance: "余额", locked: "锁定",
    qscBalances: "QSC 余额", frozen: "冻结", delegations: "委托",
    validator: "验证人", shares: "份额", amount: "数量", history: "历史",
    role: "角色", roleSigner: "发出", roleParty: "收到 / 相关", older: "更早",
    newest: "最新", none: "暂无", moniker: "名称", operator: "运营地址",
    power: "投票权", commission: "佣金", bonded: "绑定", missed: "漏签（本周期）",
    state: "状态", active: "活跃", inactive: "未活跃", jailed: "禁止",
    removed: "已移除", name: "名称", supply: "供应量", cap: "供应上限", paused: "暂停",
    owner: "所有者", banker: "发行方", miningFees: "挖矿手续费", fund: "基金",
    credits: "积分", yes: "是", no: "否", period: "周期", start: "开始",
    planned: "计划", minted: "已增发", skipped: "跳过", totalMinted: "累计增发", due: "截至目前应增发",
    proposals: "提案", kind: "种类", result: "结果", deposit: "押金",
    notFound: "未找到", error: "错误", loading: "加载中…", code: "代码", log: "日志",
    index: "序号", txCount: "笔交易", votes: "投票", nothingFound: "未找到",
    badSignature: "签名无效：并非此账户签名",
    roleBlock: "区块事件", blockEvents: "区块事件",
    proposal: "提案", depositEnd: "押金截止", votingEnd: "投票截止", vote: "投票",
    tally: "计票",
    qcp: "跨链（QCP）", seqOut: "已发送包", seqIn: "已接收包",
    qcpEvents: "QCP 事件", lastSeen: "最近出现于",
    qcpNote: "本链 QCP 事件中出现过的每条链（创世时注册且从未使用的链不列出）。序号：最新发送、接收的包，以及已由确认或超时了结的发送包。",
    client: "轻客户端", acked: "已了结", inFlight: "在途", timeouts: "超时",
    transfers: "代币转账",
    volume: "交易量（本周期）", uptime: "在线率（本周期）", epochNote: "本周期已出块",
    renewNote: "委托须在此期限内续期，否则失效", days: "天",
    expires: "时效至", lapsed: "已失效：续期后才有收益",
    chainId: "链 ID", latestHeight: "最新高度", engine: "引擎",
    walletTitle: "QOS 钱包", device: "设备", bridgeUrl: "桥接服务（qos device bridge）",
    connect: "连接", address: "地址", showOnDevice: "在设备上显示地址",
    newTx: "新交易", kindTransfer: "发送 QOS", kindQsc: "发送 QSC",
    kindDelegate: "委托", kindQcp: "跨链发送 QOS", token: "代币",
    toChain: "目标链", recipient: "收款人", feeLimit: "手续费（QOS，留空：节点的参考值）",
    signOnDevice: "在设备上签名", deviceShows: "设备显示",
    confirmOnDevice: "请在设备上逐页核对并确认…",
    wouldRefuse: "节点将拒绝此交易（未签名）",
    broadcasting: "已签名，正在广播…", waitingCommit: "已接收，等待出块：",
    committed: "已上链", deviceLocked: "设备已锁定：请先解锁（qos device unlock）。",
    deviceEmpty: "设备中还没有钱包（qos device setup）。",
    bridgeDown: "桥接服务没有响应（qos device bridge 是否在运行？）",
    vouchers: "其他链的代币（凭证）", denom: "面额",
    badAmount: "数量最多 4 位小数，且小于 922337203685477.5808", badChain: "链 ID 为 1 到 32 个 a-z 0-9 - 字符",
  },
};

export const LANGS = { en: "English", zh: "中文" };

export function chosenLang() {
  const saved = localStorage.getItem("qos.lang");
  if (saved && WORDS[saved]) return saved;
  const first = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return first.toLowerCase().startsWith("zh") ? "zh" : "en";
}

let current = chosenLang();

export function lang() { return current; }

export function setLang(code) {
  current = WORDS[code] ? code : "en";
  localStorage.setItem("qos.lang", current);
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
}

export function t(key) { return WORDS[current][key] ?? WORDS.en[key] ?? key; }
